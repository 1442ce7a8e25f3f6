//! `synccenter desktop`'s surfaces of what is live, on private buses only: a private session bus, and a second
//! private `dbus-daemon` standing in for the system bus (`DBUS_SYSTEM_BUS_ADDRESS`), where `python3-dbusmock`'s
//! `logind` template (Debian's `/usr/bin/python3 -m dbusmock`) hands out sleep inhibitors; its
//! `ListInhibitors` lists one until the desktop closes the file descriptor. The dock is read from the
//! `com.canonical.Unity.LauncherEntry.Update` signals on the session bus. Sessions are driven through the real
//! daemon; waits are on the desktop's log, the daemon's feed and the bus's signals (the mock's list, which has
//! no signal, is polled within the hang guard). Without logind, a stand-in for the desktop portal's `Inhibit`
//! (dbusmock's generic mock on the session bus) shows the fallback. And the desktop part's own life: it follows a
//! daemon that restarts, and starts as its systemd user unit says.

use std::collections::HashMap;
use std::path::Path;

use futures_util::StreamExt;
use serde_json::json;
use synccenter_client::methods::{ControlTargetParams, UpdateKind};
use synccenter_client::{Client, Subscription};
use synccenter_test_support::component::require;
use synccenter_test_support::{HANG_GUARD, TestDaemon};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr};
use zbus::{Connection, MessageStream, OwnedVariant};

use super::private_bus::PrivateBus;

const LOGIND: &str = "org.freedesktop.login1";
const LOGIND_PATH: &str = "/org/freedesktop/login1";
const LAUNCHER: &str = "com.canonical.Unity.LauncherEntry";
const LOGIND_TEMPLATE: &str = "/usr/lib/python3/dist-packages/dbusmock/templates/logind.py";

/// `drowsy` opts out of sleep inhibition; its item runs until stopped.
const CONFIG: &str = r#"
[[handler]]
id = "drowsy"
name = "Lets it sleep"
inhibit_sleep = false

[[handler.item]]
id = "wait"
name = "Wait"
kind = "script"
command = ["sleep", "600"]
"#;

/// One inhibitor as logind lists it: what, who, why, mode, uid, pid.
type Inhibitor = (String, String, String, String, u32, u32);

async fn connect(bus: &PrivateBus) -> Connection {
    zbus::connection::Builder::address(bus.address.as_str()).build().await.expect("connect")
}

async fn signals(conn: &Connection, interface: &'static str, member: &'static str) -> MessageStream {
    let rule =
        zbus::MatchRule::builder().msg_type(zbus::message::Type::Signal).interface(interface).member(member).build();
    MessageStream::for_match_rule(rule.expect("rule"), conn, None).await.expect("match rule")
}

/// dbusmock with `args` once it owns `name`; `None` where python3-dbusmock's templates are missing outside CI.
async fn dbusmock(conn: &Connection, name: &str, args: &[&str], bus: (&str, &str)) -> Option<Child> {
    require(
        "python3-dbusmock's logind template",
        Path::new(LOGIND_TEMPLATE).is_file().then_some(()).ok_or(LOGIND_TEMPLATE),
    )?;
    Some(super::private_bus::dbusmock(conn, name, args, bus).await)
}

/// dbusmock's logind on the stand-in system bus.
async fn logind(system: &PrivateBus, conn: &Connection) -> Option<Child> {
    dbusmock(conn, LOGIND, &["--template", "logind"], ("DBUS_SYSTEM_BUS_ADDRESS", &system.address)).await
}

/// `synccenter desktop` for `d` on the session bus `session` with `system` as its system bus, logging at info
/// level, once it says what it does: the process, that line, and the rest of its log.
async fn desktop(d: &TestDaemon, session: &str, system: &str) -> (Child, String, Lines<BufReader<ChildStderr>>) {
    let mut c = super::command(d, &["desktop"]);
    c.env("DBUS_SESSION_BUS_ADDRESS", session).env("DBUS_SYSTEM_BUS_ADDRESS", system).env("SYNCCENTER_LOG", "info");
    let mut child = c.spawn().expect("spawn synccenter desktop");
    let mut log = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let ready = until_log(&mut log, "role=").await;
    (child, ready, log)
}

/// The desktop's next log line containing `needle`.
async fn until_log(log: &mut Lines<BufReader<ChildStderr>>, needle: &str) -> String {
    loop {
        let line = tokio::time::timeout(HANG_GUARD, log.next_line()).await.expect("the desktop's log").expect("read");
        let line = line.unwrap_or_else(|| panic!("synccenter desktop exited before logging {needle:?}"));
        if line.contains(needle) {
            return line;
        }
    }
}

async fn inhibitors(system: &Connection) -> Vec<Inhibitor> {
    let reply =
        system.call_method(Some(LOGIND), LOGIND_PATH, Some("org.freedesktop.login1.Manager"), "ListInhibitors", &());
    reply.await.expect("ListInhibitors").body().deserialize().expect("a(ssssuu)")
}

/// Waits until logind lists exactly the inhibitors `why` (logind drops one when it sees its descriptor close).
async fn until_inhibitors(system: &Connection, why: &[&str]) {
    let expected: Vec<Inhibitor> =
        why.iter().map(|w| ("sleep".into(), "synccenter".into(), (*w).into(), "block".into(), 1000, 123_456)).collect();
    let wait = async {
        loop {
            if inhibitors(system).await == expected {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    };
    if tokio::time::timeout(HANG_GUARD, wait).await.is_err() {
        panic!("logind lists {:?}, not {expected:?}", inhibitors(system).await);
    }
}

/// Reads the daemon's feed until a session of `handler` starts or ends.
async fn until_session(feed: &mut Subscription, handler: &str, started: bool) {
    loop {
        let u = tokio::time::timeout(HANG_GUARD, feed.next()).await.expect("the feed stalled").expect("feed");
        match u.change {
            UpdateKind::SessionStarted { session } if started && session.handler == handler => return,
            UpdateKind::SessionEnded { handler: h, .. } if !started && h == handler => return,
            _ => {}
        }
    }
}

/// The desktop's report in `status`, once it has sent one.
pub(super) async fn desktop_status(d: &TestDaemon) -> String {
    let client = Client::connect(&d.socket).await.expect("connect");
    let wait = async {
        loop {
            if let Some(s) = client.status().await.expect("status").desktop {
                return s;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(HANG_GUARD, wait).await.expect("the desktop reported its state")
}

fn target(handler: &str) -> ControlTargetParams {
    ControlTargetParams { handler: Some(handler.to_owned()), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_holds_loginds_sleep_inhibitor_until_it_ends_or_is_paused_unless_its_handler_opts_out() {
    let Some(session_bus) = PrivateBus::start().await else { return };
    let Some(system_bus) = PrivateBus::start().await else { return };
    let system = connect(&system_bus).await;
    let Some(_logind) = logind(&system_bus, &system).await else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, CONFIG).expect("write config.toml");
    let d = TestDaemon::start_with(dir, |cfg| cfg.config_file = Some(path)).await;
    let mut owner = d.raw().await;
    owner.setup("nas", &["docs"], json!({})).await;
    let client = Client::connect(&d.socket).await.expect("connect");
    let mut feed = client.subscribe().await.expect("subscribe");
    let (_desktop, ready, mut log) = desktop(&d, &session_bus.address, &system_bus.address).await;
    assert!(ready.contains("sleep inhibition: logind"), "{ready}");
    assert!(desktop_status(&d).await.contains("sleep inhibition: logind"));

    // The opted-out handler syncs first and takes nothing: the inhibitor that follows names only `nas`.
    client.start(target("drowsy")).await.expect("control.start");
    until_session(&mut feed, "drowsy", true).await;
    let s = owner.session("nas", &["docs"]).await;
    assert!(until_log(&mut log, "sleep inhibited").await.contains("syncing Handler nas"));
    until_inhibitors(&system, &["syncing Handler nas"]).await;

    // Its end lifts it, while the opted-out sync still runs.
    owner.ok("session.end", json!({"session": s})).await;
    until_log(&mut log, "sleep inhibition lifted").await;
    until_inhibitors(&system, &[]).await;

    // A pause lifts it mid-sync; a resume takes it again.
    let s = owner.session("nas", &["docs"]).await;
    until_log(&mut log, "sleep inhibited").await;
    until_inhibitors(&system, &["syncing Handler nas"]).await;
    owner.ok("control.pause", json!({"handler": "nas"})).await;
    until_log(&mut log, "sleep inhibition lifted").await;
    until_inhibitors(&system, &[]).await;
    owner.ok("control.resume", json!({"handler": "nas"})).await;
    until_log(&mut log, "sleep inhibited").await;
    until_inhibitors(&system, &["syncing Handler nas"]).await;
    owner.ok("session.end", json!({"session": s})).await;
    until_log(&mut log, "sleep inhibition lifted").await;
    until_inhibitors(&system, &[]).await;

    client.stop(target("drowsy")).await.expect("control.stop");
    until_session(&mut feed, "drowsy", false).await;
}

/// The next `LauncherEntry.Update` whose properties satisfy `want`; every one names synccenter's application.
async fn until_dock(
    updates: &mut MessageStream,
    want: impl Fn(&HashMap<String, OwnedVariant>) -> bool,
) -> HashMap<String, OwnedVariant> {
    loop {
        let msg = tokio::time::timeout(HANG_GUARD, updates.next()).await.expect("no dock update came");
        let msg = msg.expect("bus").expect("signal");
        assert_eq!(msg.header().path().map(|p| p.as_str().to_owned()).as_deref(), Some("/org/synccenter/launcher"));
        let (app, props): (String, HashMap<String, OwnedVariant>) = msg.body().deserialize().expect("(sa{sv})");
        assert_eq!(app, "application://synccenter.desktop");
        if want(&props) {
            return props;
        }
    }
}

fn prop<T: TryFrom<OwnedVariant>>(props: &HashMap<String, OwnedVariant>, key: &str) -> Option<T> {
    props.get(key).and_then(|v| T::try_from(v.try_clone().ok()?).ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dock_shows_progress_errors_plus_conflicts_and_urgency_on_a_new_conflict() {
    let Some(session_bus) = PrivateBus::start().await else { return };
    let session = connect(&session_bus).await;
    let mut updates = signals(&session, LAUNCHER, "Update").await;
    let d = TestDaemon::start().await;
    let mut owner = d.raw().await;
    owner.setup("nas", &["docs", "photos"], json!({})).await;
    let nowhere = format!("unix:path={}", d.dir().join("no-system-bus").display());
    let (_desktop, _, _log) = desktop(&d, &session_bus.address, &nowhere).await;

    // Half of one of two items: a quarter, shown as a progress bar.
    let s = owner.session("nas", &["docs", "photos"]).await;
    let p = json!({"session": s, "item": "docs", "status": "updating", "step": 50, "max_step": 100});
    owner.ok("session.report_progress", p).await;
    let props = until_dock(&mut updates, |p| prop::<f64>(p, "progress") == Some(0.25)).await;
    assert_eq!(prop::<bool>(&props, "progress-visible"), Some(true), "{props:?}");
    assert_eq!(prop::<i64>(&props, "count"), Some(0), "{props:?}");

    // A failure: its error needs attention; the bar goes.
    let e = json!({"session": s, "item": "docs", "level": "error", "name": "io", "description": "disk full"});
    owner.ok("session.report_event", e).await;
    owner.ok("session.report_progress", json!({"session": s, "item": "docs", "status": "failed"})).await;
    owner.ok("session.end", json!({"session": s})).await;
    let props = until_dock(&mut updates, |p| prop::<bool>(p, "progress-visible") == Some(false)).await;
    assert_eq!((prop::<i64>(&props, "count"), prop(&props, "count-visible")), (Some(1), Some(true)), "{props:?}");
    assert_eq!(prop::<bool>(&props, "urgent"), Some(false), "an error is counted, not urgent: {props:?}");

    // A new conflict: counted with the error, and urgent.
    let s = owner.session("nas", &["docs"]).await;
    let versions = json!([
        {"location_short": "laptop", "location_full": "/home/u/a.txt", "types": ["updated"]},
        {"location_short": "nas", "location_full": "nas:/a.txt", "types": ["updated"]}
    ]);
    let c = json!({"session": s, "item": "docs", "name": "a.txt", "versions": versions});
    owner.ok("session.report_conflict", c).await;
    let props = until_dock(&mut updates, |p| prop::<bool>(p, "urgent") == Some(true)).await;
    assert_eq!(prop::<i64>(&props, "count"), Some(2), "one error and one conflict: {props:?}");
    owner.ok("session.end", json!({"session": s})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_logind_or_a_system_bus_the_desktop_says_so_and_the_dock_still_works() {
    let Some(session_bus) = PrivateBus::start().await else { return };
    let Some(system_bus) = PrivateBus::start().await else { return };
    let session = connect(&session_bus).await;
    let mut updates = signals(&session, LAUNCHER, "Update").await;

    // A system bus without logind.
    let d = TestDaemon::start().await;
    let mut owner = d.raw().await;
    owner.setup("nas", &["docs"], json!({})).await;
    let (desktop_process, ready, _log) = desktop(&d, &session_bus.address, &system_bus.address).await;
    assert!(ready.contains("sleep inhibition: unavailable, nobody owns org.freedesktop.login1"), "{ready}");
    let status = desktop_status(&d).await;
    assert!(status.contains("sleep inhibition: unavailable, nobody owns org.freedesktop.login1"), "{status}");
    assert!(status.contains("notifications: unavailable"), "the other surfaces report too: {status}");
    let s = owner.session("nas", &["docs"]).await;
    until_dock(&mut updates, |p| prop::<bool>(p, "progress-visible") == Some(true)).await;
    owner.ok("session.end", json!({"session": s})).await;
    until_dock(&mut updates, |p| prop::<bool>(p, "progress-visible") == Some(false)).await;
    drop(desktop_process);

    // No system bus at all.
    let d = TestDaemon::start().await;
    let nowhere = format!("unix:path={}", d.dir().join("no-system-bus").display());
    let (_desktop, ready, _log) = desktop(&d, &session_bus.address, &nowhere).await;
    assert!(ready.contains("sleep inhibition: unavailable, no system bus"), "{ready}");
    assert!(desktop_status(&d).await.contains("sleep inhibition: unavailable, no system bus"));
}

const PORTAL: &str = "org.freedesktop.portal.Desktop";
const PORTAL_PATH: &str = "/org/freedesktop/portal/desktop";
const REQUEST: &str = "/org/freedesktop/portal/desktop/request/1_0/synccenter";
const MOCK: &str = "org.freedesktop.DBus.Mock";

/// A stand-in for the desktop portal's `Inhibit` on the session bus (dbusmock's generic mock: the portal is a
/// session service with no template): `Inhibit` answers with a request object whose `Close` is logged.
async fn portal(bus: &PrivateBus, conn: &Connection) -> Option<Child> {
    let args = ["--session", PORTAL, PORTAL_PATH, "org.freedesktop.portal.Inhibit"];
    let child = dbusmock(conn, PORTAL, &args, ("DBUS_SESSION_BUS_ADDRESS", &bus.address)).await?;
    let code = format!("ret = dbus.ObjectPath('{REQUEST}')");
    let add = ("", "Inhibit", "sua{sv}", "o", code.as_str());
    conn.call_method(Some(PORTAL), PORTAL_PATH, Some(MOCK), "AddMethod", &add).await.expect("AddMethod");
    let props: HashMap<&str, zbus::Variant<'_>> = HashMap::new();
    let object = (REQUEST, "org.freedesktop.portal.Request", props, vec![("Close", "", "", "")]);
    conn.call_method(Some(PORTAL), PORTAL_PATH, Some(MOCK), "AddObject", &object).await.expect("AddObject");
    Some(child)
}

/// The next method call the mock logs: the object, the method and its arguments.
async fn next_mock_call(calls: &mut MessageStream) -> (String, String, Vec<OwnedVariant>) {
    let msg = tokio::time::timeout(HANG_GUARD, calls.next()).await.expect("no call reached the mock");
    let msg = msg.expect("bus").expect("signal");
    let path = msg.header().path().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let (name, args): (String, Vec<OwnedVariant>) = msg.body().deserialize().expect("(sav)");
    (path, name, args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_logind_the_desktop_portal_holds_the_inhibitor() {
    let Some(session_bus) = PrivateBus::start().await else { return };
    let session = connect(&session_bus).await;
    let Some(_portal) = portal(&session_bus, &session).await else { return };
    let mut calls = signals(&session, MOCK, "MethodCalled").await;
    let d = TestDaemon::start().await;
    let mut owner = d.raw().await;
    owner.setup("nas", &["docs"], json!({})).await;
    let nowhere = format!("unix:path={}", d.dir().join("no-system-bus").display());
    let (_desktop, ready, mut log) = desktop(&d, &session_bus.address, &nowhere).await;
    assert!(ready.contains("sleep inhibition: the desktop portal"), "{ready}");

    let s = owner.session("nas", &["docs"]).await;
    let (path, name, args) = next_mock_call(&mut calls).await;
    assert_eq!((path.as_str(), name.as_str()), (PORTAL_PATH, "Inhibit"), "{args:?}");
    assert_eq!(u32::try_from(args[1].try_clone().expect("clone")), Ok(4), "the suspend flag: {args:?}");
    let options: HashMap<String, OwnedVariant> = args[2].try_clone().expect("clone").try_into().expect("a{sv}");
    assert_eq!(prop::<String>(&options, "reason").as_deref(), Some("syncing Handler nas"), "{options:?}");
    until_log(&mut log, "sleep inhibited").await;

    owner.ok("session.end", json!({"session": s})).await;
    let (path, name, _) = next_mock_call(&mut calls).await;
    assert_eq!((path.as_str(), name.as_str()), (REQUEST, "Close"), "the request is closed at the end");
    until_log(&mut log, "sleep inhibition lifted").await;
}

/// A daemon that restarts (its connection closes, its socket refuses for a while) does not end the desktop part:
/// it connects to the new daemon and reports there again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desktop_follows_a_daemon_that_restarts() {
    let Some(session) = PrivateBus::start().await else { return };
    let d = TestDaemon::start().await;
    let (_desktop, _ready, mut log) = super::private_bus::start_desktop(&d, &session.address, Some("info")).await;
    assert!(desktop_status(&d).await.contains("tray:"));
    let dir = d.stop().await;
    until_log(&mut log, "starting again").await;
    let d = TestDaemon::start_in(dir).await;
    let status = desktop_status(&d).await;
    assert!(status.contains("notifications:") && status.contains("tray:"), "reported to the new daemon: {status}");
}

/// `contrib/systemd/synccenter-desktop.service` belongs to the graphical session and starts the desktop part,
/// which, started as the unit says, reports to the daemon and ends with success on SIGTERM (a stop is not a
/// failure, so systemd does not restart it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_systemd_unit_starts_the_desktop_part_with_the_session() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contrib/systemd/synccenter-desktop.service");
    let unit = std::fs::read_to_string(&path).expect("read the unit");
    let key = |name: &str| -> Vec<&str> {
        unit.lines().filter_map(|l| l.trim().strip_prefix(name).and_then(|v| v.strip_prefix('='))).collect()
    };
    assert_eq!(key("PartOf"), ["graphical-session.target"]);
    assert_eq!(key("WantedBy"), ["graphical-session.target"]);
    assert_eq!(key("Restart"), ["on-failure"]);
    let exec = key("ExecStart");
    assert_eq!(exec.len(), 1, "one ExecStart: {exec:?}");
    let words: Vec<&str> = exec[0].split_whitespace().collect();
    assert!(words[0].ends_with("/synccenter") && words[1..] == ["desktop"], "{words:?}");

    let Some(session) = PrivateBus::start().await else { return };
    let d = TestDaemon::start().await;
    let home = tempfile::tempdir().expect("tempdir");
    // What a user manager gives a unit: HOME and PATH, and the session's environment.
    let mut desktop = super::bin()
        .args(&words[1..])
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", "/usr/bin:/bin")
        .envs(key("Environment").into_iter().map(|kv| kv.split_once('=').expect("NAME=value")))
        .env("SYNCCENTER_SOCKET", &d.socket)
        .env("DBUS_SESSION_BUS_ADDRESS", &session.address)
        .env("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start synccenter desktop");
    assert!(desktop_status(&d).await.contains("tray:"), "it reports to the daemon");
    let pid = desktop.id().expect("pid") as i32;
    rustix::process::kill_process(rustix::process::Pid::from_raw(pid).expect("pid"), rustix::process::Signal::TERM)
        .expect("SIGTERM");
    let exit = tokio::time::timeout(HANG_GUARD, desktop.wait()).await.expect("it stops").expect("wait");
    assert!(exit.success(), "{exit}");
}

/// The session bus going away (its daemon killed) ends the run, and the desktop part keeps trying rather than
/// exiting: a bus that comes back at the same address would be used again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desktop_outlives_its_session_bus() {
    let Some(session) = PrivateBus::start().await else { return };
    let d = TestDaemon::start().await;
    let (mut desktop, _ready, mut log) = super::private_bus::start_desktop(&d, &session.address, Some("info")).await;
    drop(session);
    until_log(&mut log, "starting again").await;
    assert!(desktop.try_wait().expect("try_wait").is_none(), "still running");
}
