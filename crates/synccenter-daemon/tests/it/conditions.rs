//! Run conditions that need no system bus, through the real daemon: targets by mount point and by file system
//! UUID (an injected mount table and `by-uuid` directory, and a real loop-mounted ext4 image where the test runs
//! as root), quiet hours and `max_age` with an injected clock (never slept), and `stop_when_unmet`. Every item is
//! scheduled `every = "24h"`, so it is due as soon as it appears and runs once; the `ran` file gets a line per
//! run. Waits are on the daemon's feed; power and network are tested on dbusmock by the CLI's suite.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};
use synccenter_core::{Clock, ManualClock, Timestamp};
use synccenter_daemon::TargetSources;
use synccenter_test_support::{RawConn, TestDaemon, program, require};

/// A daemon reading `config` with `clock` and targets from `sources`, and a subscribed watcher.
async fn start(
    dir: tempfile::TempDir,
    config: &str,
    clock: &Arc<ManualClock>,
    sources: TargetSources,
) -> (TestDaemon, RawConn) {
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config).expect("write config.toml");
    let clock = clock.clone() as Arc<dyn Clock>;
    let daemon = TestDaemon::start_with(dir, |cfg| {
        cfg.config_file = Some(path);
        cfg.clock = Some(clock);
        cfg.targets = sources;
    })
    .await;
    let mut watch = daemon.raw().await;
    watch.ok("subscribe", json!({})).await;
    (daemon, watch)
}

/// An item that appends its ID to `ran`, then runs `then` (a shell command), with `extra` keys.
fn item(id: &str, ran: &Path, then: &str, extra: &str) -> String {
    let script = format!("echo {id} >> '{}'; {then}", ran.display());
    format!(
        "[[handler.item]]\nid = \"{id}\"\nname = \"{id}\"\nkind = \"script\"\ncommand = [\"sh\", \"-c\", {}]\n\
         schedule = {{ every = \"24h\" }}\n{extra}\n",
        Value::from(script)
    )
}

fn config(items: &[String]) -> String {
    format!("[[handler]]\nid = \"h\"\nname = \"Conditions\"\n\n{}", items.concat())
}

/// The item's `waiting` reason (null when it does not wait).
async fn waiting(c: &mut RawConn, id: &str) -> Value {
    let r = c.ok("item.list", json!({"handler": "h"})).await;
    let items = r["items"].as_array().cloned().unwrap_or_default();
    items.into_iter().find(|i| i["item"] == id).map(|i| i["waiting"].clone()).expect("listed")
}

/// Waits for the end of a session that ran `id`, reading the feed.
async fn until_ran(watch: &mut RawConn, id: &str) {
    let mut session = None;
    loop {
        let u = watch.next_push_of("update").await["params"].clone();
        if u["type"] == "session_started"
            && u["session"]["items"].as_array().is_some_and(|a| a.iter().any(|i| i["item"] == id))
        {
            session = Some(u["session"]["session"].clone());
        }
        if u["type"] == "session_ended" && session.as_ref() == Some(&u["session"]) {
            return;
        }
    }
}

fn lines(ran: &Path) -> Vec<String> {
    std::fs::read_to_string(ran).unwrap_or_default().lines().map(str::to_owned).collect()
}

/// A mount table with the root and `mounts` (mount point, source).
fn mount_table(file: &Path, mounts: &[(&str, &Path)]) {
    let mut text = "22 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw\n".to_owned();
    for (n, (point, source)) in mounts.iter().enumerate() {
        text.push_str(&format!("{} 22 8:{n} / {point} rw - vfat {} rw\n", 30 + n, source.display()));
    }
    std::fs::write(file, text).expect("write the mount table");
}

#[tokio::test]
async fn a_target_by_mount_point_or_uuid_holds_the_run_until_the_mount_table_has_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ran = dir.path().join("ran");
    let by_uuid = dir.path().join("by-uuid");
    std::fs::create_dir(&by_uuid).expect("mkdir");
    let (disk, other) = (dir.path().join("sdz1"), dir.path().join("sdy1"));
    std::fs::write(&disk, "").expect("a stand-in device");
    std::fs::write(&other, "").expect("a stand-in device");
    std::os::unix::fs::symlink(&disk, by_uuid.join("1234-ABCD")).expect("its by-uuid link");
    let mountinfo = dir.path().join("mountinfo");
    mount_table(&mountinfo, &[]);
    let sources = TargetSources { mountinfo: mountinfo.clone(), by_uuid };
    let items = [
        item("by-mount", &ran, "", "requires_mount = [\"/media/usb\"]"),
        item("by-uuid", &ran, "", "requires_uuid = [\"1234-abcd\"]"),
    ];
    let clock = Arc::new(ManualClock::new(Timestamp::from_micros(1_893_456_000_000_000)));
    let (daemon, mut watch) = start(dir, &config(&items), &clock, sources).await;
    let mut c = daemon.raw().await;
    assert_eq!(waiting(&mut c, "by-mount").await, "nothing is mounted at /media/usb");
    assert_eq!(waiting(&mut c, "by-uuid").await, "file system 1234-abcd is not mounted");
    let h = c.ok("handler.list", json!({})).await;
    assert_eq!(h["handlers"][0]["waiting"], "nothing is mounted at /media/usb", "{h}");

    // Another file system at /media/usb: the mount point holds, the UUID does not.
    mount_table(&mountinfo, &[("/media/usb", &other)]);
    until_ran(&mut watch, "by-mount").await;
    assert_eq!(waiting(&mut c, "by-mount").await, Value::Null, "ran, not due again");
    assert_eq!(waiting(&mut c, "by-uuid").await, "file system 1234-abcd is not mounted");
    // The disk itself, mounted elsewhere (a mount point with an escaped space).
    mount_table(&mountinfo, &[("/media/usb", &other), ("/run/media/me/my\\040disk", &disk)]);
    until_ran(&mut watch, "by-uuid").await;
    assert_eq!(lines(&ran), ["by-mount", "by-uuid"], "each missed run ran once");
    assert_eq!(waiting(&mut c, "by-uuid").await, Value::Null);
    daemon.stop().await;
}

/// The UTC time at which the machine's local clock reads `hour`:00 on 2030-01-`day`.
fn local(day: u32, hour: u32) -> Timestamp {
    use chrono::TimeZone;
    let t = chrono::Local.with_ymd_and_hms(2030, 1, day, hour, 0, 0).earliest().expect("a local time");
    Timestamp::from_micros(t.timestamp_micros())
}

#[tokio::test]
async fn quiet_hours_hold_runs_by_the_injected_clock_and_max_age_overrides_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ran = dir.path().join("ran");
    let quiet = "quiet_hours = \"22:00-07:00\"";
    let items = [item("nightly", &ran, "", quiet), item("weekly", &ran, "", &format!("{quiet}\nmax_age = \"7d\""))];
    let clock = Arc::new(ManualClock::new(local(1, 23)));
    let (daemon, mut watch) = start(dir, &config(&items), &clock, TargetSources::default()).await;
    let mut c = daemon.raw().await;
    assert_eq!(waiting(&mut c, "nightly").await, "quiet hours (22:00-07:00)");
    assert_eq!(waiting(&mut c, "weekly").await, "quiet hours (22:00-07:00)", "it appeared just now");

    // Eight days later, at 23:00 again: the weekly item never succeeded in more than 7 days, so it runs.
    clock.set(local(9, 23));
    until_ran(&mut watch, "weekly").await;
    assert_eq!(waiting(&mut c, "nightly").await, "quiet hours (22:00-07:00)");
    assert_eq!(lines(&ran), ["weekly"]);
    // At 07:00 the quiet hours end and the missed nightly run happens, once.
    clock.set(local(10, 7));
    until_ran(&mut watch, "nightly").await;
    assert_eq!(lines(&ran), ["weekly", "nightly"]);
    // The next night the weekly item is due again but succeeded a day ago: the quiet hours hold it, and the
    // feed says the handler changed, so that listings show it.
    clock.set(local(10, 23));
    loop {
        let u = watch.next_push_of("update").await["params"].clone();
        if u["type"] == "registry_changed" && u["handler"] == "h" {
            break;
        }
        assert_ne!(u["type"], "session_started", "{u}");
    }
    assert_eq!(waiting(&mut c, "weekly").await, "quiet hours (22:00-07:00)");
    daemon.stop().await;
}

#[tokio::test]
async fn stop_when_unmet_stops_a_run_when_its_target_goes_and_runs_it_again_once_it_is_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ran = dir.path().join("ran");
    let quick = dir.path().join("quick");
    let disk = dir.path().join("sdz1");
    std::fs::write(&disk, "").expect("a stand-in device");
    let mountinfo = dir.path().join("mountinfo");
    mount_table(&mountinfo, &[("/media/usb", &disk)]);
    let sources = TargetSources { mountinfo: mountinfo.clone(), by_uuid: dir.path().join("none") };
    let then = format!("[ -e '{}' ] || exec sleep 600", quick.display());
    let mount = "requires_mount = [\"/media/usb\"]";
    let config = format!(
        "{}[[handler]]\nid = \"g\"\nname = \"Steady\"\n\n{}",
        config(&[item("careful", &ran, &then, &format!("{mount}\nstop_when_unmet = true"))]),
        item("steady", &ran, &then, mount)
    );
    let clock = Arc::new(ManualClock::new(Timestamp::from_micros(1_893_456_000_000_000)));
    let (daemon, mut watch) = start(dir, &config, &clock, sources).await;
    // Both run, each in its handler's session; once the disk goes `careful` is stopped, `steady` continues.
    let mut sessions = serde_json::Map::new();
    while sessions.len() < 2 {
        let u = watch.next_push_of("update").await["params"].clone();
        if u["type"] == "progress" && (u["item"] == "careful" || u["item"] == "steady") {
            sessions.insert(u["item"].as_str().expect("item").to_owned(), u["session"].clone());
        }
    }
    mount_table(&mountinfo, &[]);
    let mut stopped = None;
    loop {
        let u = watch.next_push_of("update").await["params"].clone();
        if u["type"] == "event_added" && u["event"]["name"] == "Stopped: run conditions" {
            stopped = Some(u["event"].clone());
        }
        if u["type"] == "session_ended" {
            assert_eq!(u["session"], sessions["careful"], "only the careful run ends: {u}");
            assert_eq!(u["status"], "canceled", "{u}");
            break;
        }
    }
    let stopped = stopped.expect("an event says why, before the session ends");
    assert_eq!(stopped["item"], "careful", "{stopped}");
    let why = stopped["description"].as_str().unwrap_or_default();
    assert!(why.contains("nothing is mounted at /media/usb") && why.contains("runs again"), "{stopped}");
    let mut c = daemon.raw().await;
    assert_eq!(waiting(&mut c, "careful").await, "nothing is mounted at /media/usb", "due again, waiting");
    let g = c.ok("handler.list", json!({})).await;
    let steady = g["handlers"].as_array().and_then(|a| a.iter().find(|h| h["handler"] == "g").cloned());
    assert_eq!(steady.expect("listed")["syncing"], true, "the steady run continues: {g}");
    c.ok("control.stop", json!({"handler": "g"})).await;
    until_session_end(&mut watch, &sessions["steady"]).await;

    std::fs::write(&quick, "").expect("later runs are quick");
    mount_table(&mountinfo, &[("/media/usb", &disk)]);
    until_ran(&mut watch, "careful").await;
    let mut ran = lines(&ran);
    ran.sort();
    assert_eq!(ran, ["careful", "careful", "steady"], "careful ran again once");
    daemon.stop().await;
}

async fn until_session_end(watch: &mut RawConn, session: &Value) {
    loop {
        let u = watch.next_push_of("update").await["params"].clone();
        if u["type"] == "session_ended" && u["session"] == *session {
            return;
        }
    }
}

/// Loop-mounts a fresh ext4 image with `uuid` at `point`; `None` where that is not possible (not root,
/// no loop devices, no mkfs.ext4) outside CI.
fn loop_mount(image: &Path, point: &Path, uuid: &str) -> Option<()> {
    let run = |program: PathBuf, args: &[&std::ffi::OsStr]| -> Result<(), String> {
        let o = std::process::Command::new(&program).args(args).output().map_err(|e| e.to_string())?;
        o.status
            .success()
            .then_some(())
            .ok_or_else(|| format!("{}: {}", program.display(), String::from_utf8_lossy(&o.stderr)))
    };
    let root = rustix::process::geteuid().is_root().then_some(()).ok_or("the test does not run as root");
    require("root, for a loop mount", root)?;
    let mkfs = require("mkfs.ext4", program("mkfs.ext4"))?;
    let mount = require("mount", program("mount"))?;
    std::fs::write(image, vec![0u8; 4 << 20]).expect("an image");
    std::fs::create_dir_all(point).expect("a mount point");
    let q = |s: &str| std::ffi::OsString::from(s);
    let made = run(mkfs, &[&q("-q"), &q("-F"), &q("-U"), &q(uuid), image.as_os_str()]);
    require("mkfs.ext4 of an image", made)?;
    require("a loop mount", run(mount, &[&q("-o"), &q("loop"), image.as_os_str(), point.as_os_str()]))
}

#[tokio::test]
async fn a_real_loop_mounted_file_system_is_found_by_its_uuid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let uuid = "5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3";
    let (image, point) = (dir.path().join("disk.img"), dir.path().join("mnt"));
    let ran = dir.path().join("ran");
    let items = [item("to-disk", &ran, "", &format!("requires_uuid = [\"{}\"]", uuid.to_uppercase()))];
    let clock = Arc::new(ManualClock::new(Timestamp::from_micros(1_893_456_000_000_000)));
    let (daemon, mut watch) = start(dir, &config(&items), &clock, TargetSources::default()).await;
    let mut c = daemon.raw().await;
    let reason = format!("file system {} is not mounted", uuid.to_uppercase());
    assert_eq!(waiting(&mut c, "to-disk").await, reason.as_str());
    if loop_mount(&image, &point, uuid).is_none() {
        daemon.stop().await;
        return;
    }
    until_ran(&mut watch, "to-disk").await;
    let unmount = std::process::Command::new("umount").arg(&point).status();
    assert_eq!(lines(&ran), ["to-disk"]);
    daemon.stop().await;
    assert!(unmount.is_ok_and(|s| s.success()), "unmounted");
}
