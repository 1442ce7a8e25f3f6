//! `synccenter desktop` as KDE's job server on a private session bus (`dbus-daemon --session`, never the
//! machine's own), driven by the real `kioclient5 --interactive copy` (Debian `kde-cli-tools`): a copy becomes a
//! session that succeeds; a stop cancels the copy; a pause suspends it and a resume lets it finish; a killed
//! client's job fails with an event; bad D-Bus calls get D-Bus errors and change nothing. Waits are on the
//! daemon's live feed and on process exits; the copies that are stopped or killed hold on a named pipe, so
//! they cannot finish first on a fast or a loaded machine.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use synccenter_client::methods::UpdateKind;
use synccenter_client::{Client, StatusWire, Subscription};
use synccenter_test_support::component::{program, require};
use synccenter_test_support::{HANG_GUARD, TestDaemon};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::{cli, cli_json, code, stderr};

const HANDLER: &str = "kde-org.kde.kioclient";

type Bus = super::private_bus::PrivateBus;

async fn bus() -> Option<Bus> {
    require("kioclient5", program("kioclient5"))?;
    Bus::start().await
}

#[allow(clippy::print_stderr, reason = "the desktops' logs belong in a failed test's output")]
async fn desktop(d: &TestDaemon, bus: &Bus) -> Child {
    let (child, first, mut log) = super::private_bus::start_desktop(d, &bus.address, None).await;
    let pid = child.id().unwrap_or_default();
    // Its stderr is read to the end (a closed pipe must not be what a test measures) into the test's own, which
    // the harness shows when the test fails.
    eprintln!("desktop {pid}: {first}");
    tokio::spawn(async move {
        while let Ok(Some(line)) = log.next_line().await {
            eprintln!("desktop {pid}: {line}");
        }
    });
    child
}

/// A tree of `dirs` × 500 small files: a copy that takes long enough to be stopped or paused once it reports.
fn tree(root: &Path, dirs: usize) -> PathBuf {
    let src = root.join("src");
    for d in 0..dirs {
        let dir = src.join(format!("d{d}"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        for f in 0..500 {
            std::fs::write(dir.join(format!("f{f}")), [b'x'; 2048]).expect("write");
        }
    }
    src
}

/// A directory holding one named pipe (held open for writing): KIO's copy of it stays live, at its first
/// progress, until it is stopped or killed (KIO waits on the special file), however loaded the machine is.
async fn blocked_source(root: &Path, name: &str) -> (PathBuf, std::fs::File) {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let pipe = dir.join("pipe");
    let made = Command::new("mkfifo").arg(&pipe).status().await.expect("mkfifo");
    assert!(made.success(), "mkfifo");
    // Read and write: opening does not wait for a reader, and the copy sees no end until this is dropped.
    let writer = std::fs::OpenOptions::new().read(true).write(true).open(&pipe).expect("open the pipe");
    (dir, writer)
}

/// The size of one chunk of a held download, in bytes.
const CHUNK: usize = 64 * 1024;

/// A file of `chunks` chunks served over loopback HTTP, chunk `k` (from 0) sent only once `allowed` reaches
/// `k + 1`: KIO's copy of `http://…/file` stays live, mid-transfer, for as long as a test holds it, however fast
/// or loaded the machine, and completes once every chunk is allowed. Every request (KIO may ask for the
/// headers first) is answered the same way. The file is `chunks` × `CHUNK` bytes, chunk `k` filled with
/// `b'a' + k`.
async fn held_download(allowed: tokio::sync::watch::Receiver<usize>, chunks: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/file", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut allowed = allowed.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let length = chunks * CHUNK;
                let headers = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {length}\r\n\r\n"
                );
                if conn.write_all(headers.as_bytes()).await.is_err() || head.starts_with(b"HEAD ") {
                    return;
                }
                for k in 0..chunks {
                    if allowed.wait_for(|n| *n > k).await.is_err() {
                        return;
                    }
                    let fill = b'a' + u8::try_from(k).expect("a few chunks");
                    if conn.write_all(&vec![fill; CHUNK]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

fn kioclient(bus: &Bus, runtime: &Path, src: &Path, dst: &Path) -> Child {
    kioclient_url(bus, runtime, &format!("file://{}", src.display()), dst)
}

fn kioclient_url(bus: &Bus, runtime: &Path, src: &str, dst: &Path) -> Child {
    Command::new("kioclient5")
        .args(["--interactive", "copy", src])
        .arg(format!("file://{}", dst.display()))
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .env("QT_QPA_PLATFORM", "offscreen")
        .env("XDG_RUNTIME_DIR", runtime)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn kioclient5")
}

/// What the feed said about one KDE session.
#[derive(Debug, Default)]
struct Seen {
    session: Option<String>,
    steps: Vec<u32>,
    texts: Vec<String>,
    /// The units of the amounts the progress carried (issue 20).
    units: Vec<String>,
    ended: Option<StatusWire>,
}

/// Reads the feed until `done` holds for the (first) KDE session seen from now on, within the hang guard
/// (however many updates keep coming meanwhile).
async fn follow(feed: &mut Subscription, seen: &mut Seen, done: impl Fn(&Seen) -> bool) {
    let deadline = tokio::time::Instant::now() + HANG_GUARD;
    while !done(seen) {
        let u = tokio::time::timeout_at(deadline, feed.next()).await;
        let u = u.unwrap_or_else(|_| panic!("not done within the hang guard: {seen:?}")).expect("feed");
        match u.change {
            UpdateKind::SessionStarted { session } if session.handler == HANDLER && seen.session.is_none() => {
                seen.session = Some(session.session);
            }
            UpdateKind::Progress { session, step, text, amount, .. } if seen.session.as_ref() == Some(&session) => {
                if !seen.steps.contains(&step) {
                    seen.steps.push(step);
                }
                if let Some(unit) = amount.map(|a| a.unit.name().to_owned()).filter(|u| !seen.units.contains(u)) {
                    seen.units.push(unit);
                }
                seen.texts.push(text);
            }
            UpdateKind::SessionEnded { session, status, .. } if seen.session.as_ref() == Some(&session) => {
                seen.ended = Some(status);
            }
            _ => {}
        }
    }
}

async fn exit_code(mut child: Child) -> i32 {
    tokio::time::timeout(HANG_GUARD, child.wait()).await.expect("kioclient5 hung").expect("wait").code().unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kde_copies_become_sessions_that_succeed_stop_pause_and_fail() {
    let Some(bus) = bus().await else { return };
    let d = TestDaemon::start().await;
    let _desktop = desktop(&d, &bus).await;
    let status = cli_json(&d, &["status"]).await;
    assert!(status["desktop"].as_str().is_some_and(|s| s.contains("owns org.kde.JobViewServer")), "{status}");
    let plain = String::from_utf8(cli(&d, &["status"]).await.stdout).expect("UTF-8");
    assert!(plain.lines().any(|l| l.starts_with("desktop:") && l.contains("owns org.kde.JobViewServer")), "{plain}");
    let work = tempfile::tempdir().expect("tempdir");
    let client = Client::connect(&d.socket).await.expect("connect");
    let mut feed = client.subscribe().await.expect("subscribe");

    // A copy that finishes: progress, then succeeded. 10,000 files take seconds (KDE shows a job only after
    // 500 ms, and reports its progress about every 200 ms).
    let src = tree(work.path(), 20);
    let copy = kioclient(&bus, work.path(), &src, &work.path().join("a"));
    let mut seen = Seen::default();
    follow(&mut feed, &mut seen, |s| s.ended.is_some()).await;
    assert_eq!(exit_code(copy).await, 0);
    assert_eq!(seen.ended, Some(StatusWire::Succeeded), "{seen:?}");
    assert!(seen.steps.len() >= 3, "at least 3 distinct progress values: {seen:?}");
    // KDE's byte (or file) counts reach the feed in their unit.
    assert!(seen.units.iter().any(|u| u == "bytes" || u == "files"), "{seen:?}");

    // A copy stopped with `synccenter stop`: the client exits non-zero, the session ends canceled.
    let (blocked, _writer) = blocked_source(work.path(), "stop").await;
    let copy = kioclient(&bus, work.path(), &blocked, &work.path().join("b"));
    let mut seen = Seen::default();
    follow(&mut feed, &mut seen, |s| !s.steps.is_empty()).await;
    let o = cli(&d, &["stop", HANDLER]).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    follow(&mut feed, &mut seen, |s| s.ended.is_some()).await;
    assert_ne!(exit_code(copy).await, 0, "the stopped copy fails");
    assert_eq!(seen.ended, Some(StatusWire::Canceled), "{seen:?}");

    // A copy paused (suspended: its progress says so, the session stays live), resumed, then succeeded. It is
    // held half-way until resumed.
    let (allow, allowed) = tokio::sync::watch::channel(1);
    let src = held_download(allowed, 2).await;
    let copy = kioclient_url(&bus, work.path(), &src, &work.path().join("c"));
    let mut seen = Seen::default();
    follow(&mut feed, &mut seen, |s| s.session.is_some()).await;
    assert_eq!(code(&cli(&d, &["pause", HANDLER]).await), 0);
    follow(&mut feed, &mut seen, |s| s.ended.is_some() || s.texts.iter().any(|t| t.starts_with("suspended"))).await;
    assert_eq!(seen.ended, None, "a pause does not end the job: {seen:?}");
    assert_eq!(code(&cli(&d, &["resume", HANDLER]).await), 0);
    allow.send_replace(2);
    follow(&mut feed, &mut seen, |s| s.ended.is_some()).await;
    assert_eq!(exit_code(copy).await, 0);
    assert_eq!(seen.ended, Some(StatusWire::Succeeded), "{seen:?}");

    // A client killed mid-job: its session fails with an event saying so.
    let (blocked, _writer) = blocked_source(work.path(), "kill").await;
    let mut copy = kioclient(&bus, work.path(), &blocked, &work.path().join("e"));
    let mut seen = Seen::default();
    follow(&mut feed, &mut seen, |s| !s.steps.is_empty()).await;
    copy.start_kill().expect("kill kioclient5");
    follow(&mut feed, &mut seen, |s| s.ended.is_some()).await;
    assert_eq!(seen.ended, Some(StatusWire::Failed), "{seen:?}");
    let events = cli_json(&d, &["results", "--handler", HANDLER]).await.to_string();
    assert!(events.contains("left the session bus before it finished the job"), "{events}");
}

/// `dbus-send --print-reply` with `args`; returns its exit status and output.
async fn dbus_send(bus: &Bus, args: &[&str]) -> (bool, String) {
    let o = Command::new("dbus-send")
        .args(["--session", "--print-reply", "--dest=org.kde.JobViewServer"])
        .args(args)
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .output();
    let o = tokio::time::timeout(HANG_GUARD, o).await.expect("dbus-send hung").expect("dbus-send");
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_d_bus_calls_get_d_bus_errors_and_change_nothing() {
    let Some(bus) = bus().await else { return };
    require("dbus-send", program("dbus-send"));
    let d = TestDaemon::start().await;
    let _desktop = desktop(&d, &bus).await;
    let before = cli_json(&d, &["handlers", "--all"]).await;
    let cases: [(&[&str], &str); 3] = [
        (&["/JobViewServer", "org.kde.JobViewServerV2.requestView", "string:org.kde.x"], "InvalidArgs"),
        (
            &["/org/synccenter/jobs/JobView_999", "org.kde.JobViewV3.update", "dict:string:string:title,x"],
            "UnknownObject",
        ),
        (&["/org/synccenter/jobs/JobView_999", "org.kde.JobViewV3.terminate", "uint32:0", "string:"], "UnknownObject"),
    ];
    for (args, error) in cases {
        let (ok, out) = dbus_send(&bus, args).await;
        assert!(!ok && out.contains(error), "{args:?}: {out}");
    }
    assert_eq!(cli_json(&d, &["handlers", "--all"]).await, before, "nothing registered");
    let events = cli_json(&d, &["results"]).await;
    assert_eq!(events["total"], 0, "{events}");
}

/// Where the names are taken, a second desktop monitors the bus and records the same job. KDE shows a job only
/// once it has run for 500 ms (`KUiServerV2JobTracker`'s delay), so the copy (a download) is held half-way
/// until both sessions exist, whatever the machine's speed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn where_the_names_are_owned_a_second_desktop_monitors_and_still_records_the_jobs() {
    let Some(bus) = bus().await else { return };
    let d = TestDaemon::start().await;
    let _owner = desktop(&d, &bus).await;
    let _monitor = desktop(&d, &bus).await;
    let status = cli_json(&d, &["status"]).await;
    assert!(status["desktop"].as_str().is_some_and(|s| s.contains("monitoring")), "the latest report: {status}");
    let work = tempfile::tempdir().expect("tempdir");
    let (allow, allowed) = tokio::sync::watch::channel(1);
    let src = held_download(allowed, 2).await;
    let client = Client::connect(&d.socket).await.expect("connect");
    let mut feed = client.subscribe().await.expect("subscribe");
    let mut copy = kioclient_url(&bus, work.path(), &src, &work.path().join("a"));
    // The owner's session and the monitor's, both for the same job.
    let (mut started, mut ended) = (Vec::new(), Vec::new());
    while ended.len() < 2 {
        let Ok(u) = tokio::time::timeout(HANG_GUARD, feed.next()).await else {
            let copy = copy.try_wait();
            panic!("the feed stalled; started {started:?}, ended {ended:?}; kioclient5: {copy:?}");
        };
        match u.expect("feed").change {
            UpdateKind::SessionStarted { session } if session.handler == HANDLER => started.push(session.session),
            UpdateKind::SessionEnded { handler, status, .. } if handler == HANDLER => ended.push(status),
            _ => {}
        }
        if started.len() == 2 {
            // Both desktops have the job: the rest of the file lets the copy finish.
            allow.send_replace(2);
        }
    }
    assert_eq!(exit_code(copy).await, 0);
    assert_eq!(ended, [StatusWire::Succeeded, StatusWire::Succeeded]);
    let copied = std::fs::read(work.path().join("a")).expect("the downloaded file");
    assert!(copied.len() == 2 * CHUNK && copied.ends_with(b"b"), "{} bytes", copied.len());
}

/// `synccenter daemon` with a session bus starts `synccenter desktop` on it (its status then says what the
/// desktop does); with `[desktop] enable = false`, or without a session bus, it says why it does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_starts_the_desktop_part_on_its_session_bus_unless_told_not_to() {
    let Some(bus) = bus().await else { return };
    for (config, bus_address, expected) in [
        ("", Some(bus.address.as_str()), None),
        ("[desktop]\nenable = false\n", Some(bus.address.as_str()), Some("enable = false")),
        ("", None, Some("no session bus")),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("config.toml"), config).expect("write config.toml");
        let mut c = super::binary(dir.path(), &["daemon"]);
        if let Some(address) = bus_address {
            c.env("DBUS_SESSION_BUS_ADDRESS", address);
        }
        let mut daemon = c.env("SYNCCENTER_LOG", "info").stderr(Stdio::piped()).spawn().expect("start the daemon");
        let mut log = BufReader::new(daemon.stderr.take().expect("stderr")).lines();
        // The daemon's log, and its desktop child's (which shares its stderr), until the line that decides.
        loop {
            let line = tokio::time::timeout(HANG_GUARD, log.next_line()).await.expect("no hang").expect("read");
            let line = line.expect("the daemon exited early");
            if let Some(why) = expected
                && line.contains("synccenter desktop is not started")
            {
                assert!(line.contains(why), "{line}");
                break;
            }
            if expected.is_none() && line.contains("synccenter desktop") && line.contains("role=") {
                break;
            }
        }
        let socket = dir.path().join("run/s.sock");
        // The desktop logs its role, then reports it: status may lag that line by one call, so it is re-read.
        let deadline = std::time::Instant::now() + HANG_GUARD;
        loop {
            let out = super::bin().arg("--socket").arg(&socket).args(["--json", "status"]).output();
            let out = tokio::time::timeout(HANG_GUARD, out).await.expect("status hung").expect("status");
            let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
            let desktop = status.get("desktop").and_then(serde_json::Value::as_str).map(str::to_owned);
            match (expected, desktop) {
                (None, Some(d)) => {
                    assert!(d.contains("owns org.kde.JobViewServer"), "{status}");
                    break;
                }
                (Some(_), d) => {
                    assert_eq!(d, None, "{status}");
                    break;
                }
                (None, None) => {
                    assert!(std::time::Instant::now() < deadline, "the desktop never reported: {status}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
        // SIGTERM, so that the daemon stops its desktop child as it would at a logout (SIGKILL would orphan it).
        let pid = daemon.id().expect("the daemon runs").to_string();
        let term = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
        assert!(term.success());
        tokio::time::timeout(HANG_GUARD, daemon.wait()).await.expect("the daemon stops").expect("wait");
    }
}
