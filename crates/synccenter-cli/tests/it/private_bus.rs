//! A private D-Bus session bus for a test (`dbus-daemon --session`), so that no test ever touches the machine's
//! own bus; it stops when dropped. And `synccenter desktop` started on one.

use std::process::Stdio;

use synccenter_test_support::component::{program, require};
use synccenter_test_support::{HANG_GUARD, TestDaemon};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr, Command};

use super::command;

pub(super) struct PrivateBus {
    _child: Child,
    /// For `DBUS_SESSION_BUS_ADDRESS`.
    pub(super) address: String,
}

impl PrivateBus {
    /// Starts one, or `None` where `dbus-daemon` is missing outside CI.
    pub(super) async fn start() -> Option<PrivateBus> {
        let dbus = require("dbus-daemon", program("dbus-daemon"))?;
        let mut child = Command::new(dbus)
            .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start dbus-daemon");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let address = tokio::time::timeout(HANG_GUARD, lines.next_line()).await.expect("bus address").expect("read");
        let address = address.expect("dbus-daemon printed its address").trim().to_owned();
        Some(PrivateBus { _child: child, address })
    }
}

/// `synccenter desktop` for daemon `d` on the bus at `address` (logging at `SYNCCENTER_LOG=log`, if given),
/// once it says what it does: the process, that line, and the rest of its log.
pub(super) async fn start_desktop(
    d: &TestDaemon,
    address: &str,
    log: Option<&str>,
) -> (Child, String, Lines<BufReader<ChildStderr>>) {
    let mut c = command(d, &["desktop"]);
    c.env("DBUS_SESSION_BUS_ADDRESS", address);
    if let Some(level) = log {
        c.env("SYNCCENTER_LOG", level);
    }
    let mut child = c.spawn().expect("spawn synccenter desktop");
    let mut log = BufReader::new(child.stderr.take().expect("stderr")).lines();
    loop {
        let line = tokio::time::timeout(HANG_GUARD, log.next_line()).await.expect("desktop started").expect("read");
        let line = line.expect("synccenter desktop exited before it was ready");
        if line.contains("synccenter desktop") && line.contains("role=") {
            return (child, line, log);
        }
    }
}

/// `/usr/bin/python3 -m dbusmock ARGS`, with `bus` (`DBUS_SYSTEM_BUS_ADDRESS` or `DBUS_SESSION_BUS_ADDRESS`,
/// address) and without the machine's session bus, once it owns `name` on the bus of `conn`. The caller checks
/// that python3-dbusmock (or its template) is there.
pub(super) async fn dbusmock(conn: &zbus::Connection, name: &str, args: &[&str], bus: (&str, &str)) -> Child {
    let mut program = Command::new("/usr/bin/python3");
    program.args(["-m", "dbusmock"]).args(args).env_remove("DBUS_SESSION_BUS_ADDRESS").env(bus.0, bus.1);
    owning(conn, name, program).await
}

/// Starts `program` (its environment names its bus), its output discarded, and returns it once it owns `name`
/// on the bus of `conn`.
pub(super) async fn owning(conn: &zbus::Connection, name: &str, mut program: Command) -> Child {
    use futures_util::StreamExt;
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface("org.freedesktop.DBus")
        .member("NameOwnerChanged")
        .build()
        .expect("rule");
    let mut owners = zbus::MessageStream::for_match_rule(rule, conn, None).await.expect("match rule");
    let child = program
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the program");
    loop {
        let msg = tokio::time::timeout(HANG_GUARD, owners.next()).await.expect("the program took its name");
        let (owned, _, new): (String, String, String) =
            msg.expect("bus").expect("signal").body().deserialize().expect("body");
        if owned == name && !new.is_empty() {
            return child;
        }
    }
}

/// Xvfb on a display it picks itself (`-displayfd`); returns it and the display's name.
pub(super) async fn xvfb() -> Option<(Child, String)> {
    let xvfb = require("Xvfb", program("Xvfb"))?;
    let mut child = Command::new(xvfb)
        .args(["-displayfd", "1", "-screen", "0", "800x600x24", "-nolisten", "tcp"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start Xvfb");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let display = tokio::time::timeout(HANG_GUARD, lines.next_line()).await.expect("Xvfb's display").expect("read");
    Some((child, format!(":{}", display.expect("Xvfb printed its display").trim())))
}

/// A PNG of the X display's screen (or of `region`, ImageMagick's `WxH+X+Y`),
/// `<workspace>/target/desktop-screenshots/<name>.png` (ImageMagick's `import`), for docs/desktop.md.
pub(super) async fn screenshot(display: &str, region: Option<&str>, name: &str) {
    let Some(import) = require("ImageMagick's import", program("import")) else { return };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/desktop-screenshots");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let png = dir.join(format!("{name}.png"));
    let mut run = Command::new(import);
    run.args(["-display", display, "-window", "root"]);
    if let Some(region) = region {
        run.args(["-crop", region]);
    }
    let o = tokio::time::timeout(HANG_GUARD, run.arg(&png).output()).await.expect("import hung").expect("run import");
    assert!(o.status.success(), "import: {}", String::from_utf8_lossy(&o.stderr));
    let bytes = std::fs::read(&png).expect("the screenshot");
    assert!(bytes.starts_with(b"\x89PNG"), "a PNG at {}", png.display());
}

/// The screen's pixels in `region` (ImageMagick's `WxH+X+Y`) as RGB triples, read with `import`.
pub(super) async fn pixels(import: &std::path::Path, display: &str, region: &str) -> Vec<[u8; 3]> {
    let run = Command::new(import)
        .args(["-display", display, "-window", "root", "-crop", region, "-depth", "8", "rgb:-"])
        .output();
    let o = tokio::time::timeout(HANG_GUARD, run).await.expect("import hung").expect("run import");
    assert!(o.status.success(), "import: {}", String::from_utf8_lossy(&o.stderr));
    o.stdout.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect()
}
