//! `synccenter desktop`'s notifications on a private session bus (`dbus-daemon --session`, never the machine's
//! own): against `python3-dbusmock`'s notification daemon (Debian's `/usr/bin/python3 -m dbusmock`), whose
//! `MethodCalled` signals say what the desktop asked for; and against a real `dunst` on its own Xvfb display.
//! Command handlers of `config.toml` fail on demand (`sh -c 'exit 3'`); waits are on the daemon's live feed and
//! on the bus's signals, in order: a notification that must not come is shown not to by one that comes after
//! it in the notifier's queue.

use std::collections::HashMap;
use std::process::Stdio;

use futures_util::StreamExt;
use synccenter_client::methods::{ControlTargetParams, UpdateKind};
use synccenter_client::{Client, StatusWire, Subscription};
use synccenter_test_support::component::{program, require};
use synccenter_test_support::{HANG_GUARD, TestDaemon};
use tokio::io::{BufReader, Lines};
use tokio::process::{Child, ChildStderr, Command};
use zbus::{Connection, MessageStream, OwnedVariant, Variant};

const NOTIFICATIONS: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";
const MOCK: &str = "org.freedesktop.DBus.Mock";

const CONFIG: &str = r#"
[[handler]]
id = "backup"
name = "Backups"

[[handler.item]]
id = "home"
name = "Home folder"
kind = "script"
command = ["sh", "-c", "echo 'disk full' >&2; exit 3"]

[[handler]]
id = "quiet"
name = "Quiet"
notify = "never"

[[handler.item]]
id = "tmp"
name = "Temp"
kind = "script"
command = ["sh", "-c", "exit 1"]

[[handler]]
id = "mirror"
name = "Mirror"
notify = "always"

[[handler.item]]
id = "usb"
name = "USB"
kind = "script"
command = ["true"]
"#;

/// A private session bus and a connection of the test's own to it; the bus stops when dropped.
struct Bus {
    _private: super::private_bus::PrivateBus,
    address: String,
    conn: Connection,
}

async fn bus() -> Option<Bus> {
    let private = super::private_bus::PrivateBus::start().await?;
    let address = private.address.clone();
    let conn = zbus::connection::Builder::address(address.as_str()).build().await.expect("connect");
    Some(Bus { _private: private, address, conn })
}

async fn signals(bus: &Bus, interface: &'static str, member: &'static str) -> MessageStream {
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface(interface)
        .member(member)
        .build()
        .expect("rule");
    MessageStream::for_match_rule(rule, &bus.conn, None).await.expect("match rule")
}

/// Starts `program` on the bus and waits until it owns the notification server's name.
async fn server(bus: &Bus, mut program: Command) -> Child {
    program.env("DBUS_SESSION_BUS_ADDRESS", &bus.address);
    super::private_bus::owning(&bus.conn, NOTIFICATIONS, program).await
}

async fn desktop(d: &TestDaemon, bus: &Bus) -> (Child, String, Lines<BufReader<ChildStderr>>) {
    super::private_bus::start_desktop(d, &bus.address, Some("info")).await
}

async fn daemon() -> TestDaemon {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, CONFIG).expect("write config.toml");
    TestDaemon::start_with(dir, |cfg| cfg.config_file = Some(path)).await
}

async fn start(client: &Client, handler: &str) {
    let params = ControlTargetParams { handler: Some(handler.to_owned()), ..Default::default() };
    client.start(params).await.expect("control.start");
}

/// Reads the feed until a session of `handler` starts (`started`) or ends; returns its status at the end.
async fn until(feed: &mut Subscription, handler: &str, started: bool) -> Option<StatusWire> {
    loop {
        let u = tokio::time::timeout(HANG_GUARD, feed.next()).await.expect("the feed stalled").expect("feed");
        match u.change {
            UpdateKind::SessionStarted { session } if started && session.handler == handler => return None,
            UpdateKind::SessionEnded { handler: h, status, .. } if !started && h == handler => return Some(status),
            _ => {}
        }
    }
}

/// One `Notify` call as the mock logged it.
#[derive(Debug)]
struct Notify {
    app: String,
    replaces: u32,
    summary: String,
    body: String,
    actions: Vec<String>,
    hints: HashMap<String, OwnedVariant>,
}

fn arg<T: TryFrom<OwnedVariant>>(args: &[OwnedVariant], i: usize) -> T {
    let v = args.get(i).unwrap_or_else(|| panic!("argument {i} of {args:?}"));
    T::try_from(v.try_clone().expect("clone")).unwrap_or_else(|_| panic!("argument {i}: {v:?}"))
}

/// The next mock method call; for `Notify`, its arguments.
async fn next_call(calls: &mut MessageStream) -> (String, Option<Notify>) {
    let msg = tokio::time::timeout(HANG_GUARD, calls.next()).await.expect("no call reached the mock");
    let (name, args): (String, Vec<OwnedVariant>) =
        msg.expect("bus").expect("signal").body().deserialize().expect("body");
    if name != "Notify" {
        return (name, None);
    }
    let notify = Notify {
        app: arg(&args, 0),
        replaces: arg(&args, 1),
        summary: arg(&args, 3),
        body: arg(&args, 4),
        actions: arg(&args, 5),
        hints: arg(&args, 6),
    };
    (name, Some(notify))
}

/// The next `Notify`, skipping the capability queries.
async fn next_notify(calls: &mut MessageStream) -> Notify {
    loop {
        match next_call(calls).await {
            (_, Some(n)) => return n,
            (name, None) => assert!(["GetCapabilities", "GetServerInformation"].contains(&name.as_str()), "{name}"),
        }
    }
}

/// Makes the mock emit `ActionInvoked(id, key)` as the server would when the person clicks.
async fn invoke(bus: &Bus, id: u32, key: &str) {
    let args: Vec<Variant<'_>> = vec![Variant::from(id), Variant::from(key)];
    let body = (NOTIFICATIONS, "ActionInvoked", "us", args);
    bus.conn.call_method(Some(NOTIFICATIONS), PATH, Some(MOCK), "EmitSignal", &body).await.expect("EmitSignal");
}

fn python_dbusmock() -> Result<(), String> {
    let ok = std::process::Command::new("/usr/bin/python3")
        .args(["-c", "import dbusmock"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok { Ok(()) } else { Err("Debian's /usr/bin/python3 cannot import dbusmock (package python3-dbusmock)".into()) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_notify_once_per_handler_with_actions_that_retry_and_snooze() {
    let Some(bus) = bus().await else { return };
    if require("python3-dbusmock", python_dbusmock()).is_none() {
        return;
    }
    let mut calls = signals(&bus, MOCK, "MethodCalled").await;
    let mut mock = Command::new("/usr/bin/python3");
    mock.args(["-m", "dbusmock", "--session", "--template", "notification_daemon"]);
    mock.args(["--parameters", r#"{"capabilities": "actions body"}"#]);
    let _mock = server(&bus, mock).await;
    let d = daemon().await;
    let client = Client::connect(&d.socket).await.expect("connect");
    let mut feed = client.subscribe().await.expect("subscribe");
    let (_desktop, ready, _log) = desktop(&d, &bus).await;
    assert!(ready.contains("with actions"), "{ready}");

    // `notify = "never"` raises nothing: the failure of `backup` that follows is the first notification.
    start(&client, "quiet").await;
    assert_eq!(until(&mut feed, "quiet", false).await, Some(StatusWire::Failed));
    start(&client, "backup").await;
    let n = next_notify(&mut calls).await;
    assert_eq!((n.app.as_str(), n.replaces), ("synccenter", 0), "{n:?}");
    assert_eq!(n.summary, "Backups: sync failed", "{n:?}");
    assert!(n.body.starts_with("Home folder failed.") && n.body.ends_with("1 error."), "{n:?}");
    assert_eq!(n.actions, ["default", "Open", "retry", "Retry", "snooze", "Snooze 1 hour"], "{n:?}");
    assert_eq!(u8::try_from(n.hints["urgency"].try_clone().expect("clone")), Ok(2), "critical: {n:?}");
    assert_eq!(String::try_from(n.hints["desktop-entry"].try_clone().expect("clone")).as_deref(), Ok("synccenter"));
    // The template numbers notifications from 1, and answers a replacement with the ID it replaces.
    let id = 1;

    // A second failure replaces it.
    start(&client, "backup").await;
    assert_eq!(next_notify(&mut calls).await.replaces, id);

    // `retry` starts the failed item again: a new session, which fails and replaces the notification again.
    invoke(&bus, id, "retry").await;
    assert_eq!(until(&mut feed, "backup", true).await, None);
    assert_eq!(next_notify(&mut calls).await.replaces, id);

    // `snooze` closes it and silences the handler: the next failure raises nothing, so the next notification
    // is the success of `mirror` (`notify = "always"`), started after it.
    invoke(&bus, id, "snooze").await;
    let (name, notify) = next_call(&mut calls).await;
    assert_eq!(name, "CloseNotification", "{notify:?}");
    start(&client, "backup").await;
    assert_eq!(until(&mut feed, "backup", false).await, Some(StatusWire::Failed));
    start(&client, "mirror").await;
    let n = next_notify(&mut calls).await;
    assert_eq!(n.summary, "Mirror: sync succeeded", "{n:?}");
    assert_eq!(n.body, "1 item synchronized.");
    assert_eq!(n.actions, ["default", "Open", "snooze", "Snooze 1 hour"], "no retry after a success: {n:?}");
}

async fn dunstctl(bus: &Bus, args: &[&str]) -> String {
    let run = Command::new("dunstctl").args(args).env("DBUS_SESSION_BUS_ADDRESS", &bus.address).output();
    let o = tokio::time::timeout(HANG_GUARD, run).await.expect("dunstctl hung").expect("run dunstctl");
    assert!(o.status.success(), "dunstctl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_is_shown_by_dunst() {
    let Some(bus) = bus().await else { return };
    let Some(dunst) = require("dunst", program("dunst")) else { return };
    require("dunstctl", program("dunstctl")).expect("dunst ships dunstctl");
    let Some((_x, display)) = super::private_bus::xvfb().await else { return };
    let home = tempfile::tempdir().expect("tempdir");
    let mut program = Command::new(dunst);
    // No configuration of the machine's user: an empty one of its own.
    program.env("DISPLAY", &display).env("XDG_CONFIG_HOME", home.path()).env_remove("WAYLAND_DISPLAY");
    let _dunst = server(&bus, program).await;
    let d = daemon().await;
    let client = Client::connect(&d.socket).await.expect("connect");
    let (_desktop, ready, mut log) = desktop(&d, &bus).await;
    assert!(ready.contains("with actions"), "dunst supports actions: {ready}");
    start(&client, "backup").await;
    // The desktop logs each notification once the server has answered with its ID.
    loop {
        let line = tokio::time::timeout(HANG_GUARD, log.next_line()).await.expect("notified").expect("read");
        let line = line.expect("synccenter desktop exited");
        if line.contains("notified") && line.contains("backup") {
            break;
        }
    }
    let shown: u32 = dunstctl(&bus, &["count", "displayed"]).await.parse().expect("a count");
    let waiting: u32 = dunstctl(&bus, &["count", "waiting"]).await.parse().expect("a count");
    assert_eq!(shown + waiting, 1, "dunst holds the one notification");
    if shown == 1 {
        super::private_bus::screenshot(&display, None, "notification").await;
    }
    // Closed, it goes to dunst's history, which lists it with its words.
    dunstctl(&bus, &["close"]).await;
    let history = dunstctl(&bus, &["history"]).await;
    assert!(history.contains("Backups: sync failed") && history.contains("Home folder failed."), "{history}");
    assert!(history.contains("\"synccenter\""), "the application's name: {history}");
}
