//! Run conditions against python3-dbusmock's `upower` and `networkmanager` templates on a private `dbus-daemon`
//! standing in for the system bus (`DBUS_SYSTEM_BUS_ADDRESS` of a `synccenter daemon` process; never the
//! machine's bus). A scheduled item that is due at once (`every` counts from its appearance) waits while the
//! condition does not hold, with the reason in `items`, `status` and `handlers`; when the mock's property
//! changes (its `PropertiesChanged`), it runs exactly once and is not due again. Waits are on the daemon's log
//! and its feed; no schedule is waited on the clock.

use std::path::Path;
use std::process::Stdio;

use serde_json::Value;
use synccenter_client::Client;
use synccenter_client::methods::UpdateKind;
use synccenter_test_support::HANG_GUARD;
use synccenter_test_support::component::require;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr};
use zbus::Connection;

use super::private_bus::PrivateBus;
use super::{binary, code, stderr, stdout};

/// A mocked service: its template, bus name, object and interface, and the property a condition reads.
struct Mock {
    template: &'static str,
    name: &'static str,
    path: &'static str,
    interface: &'static str,
    property: &'static str,
}

const UPOWER: Mock = Mock {
    template: "upower",
    name: "org.freedesktop.UPower",
    path: "/org/freedesktop/UPower",
    interface: "org.freedesktop.UPower",
    property: "OnBattery",
};

const NETWORK_MANAGER: Mock = Mock {
    template: "networkmanager",
    name: "org.freedesktop.NetworkManager",
    path: "/org/freedesktop/NetworkManager",
    interface: "org.freedesktop.NetworkManager",
    property: "Metered",
};

/// `backup` runs once a day from when it appears (so at once), only when `key` holds; each run adds a line to
/// `ran`.
fn config(key: &str, ran: &Path) -> String {
    format!(
        r#"
[[handler]]
id = "laptop"
name = "Laptop backup"
{key} = true

[[handler.item]]
id = "backup"
name = "Backup"
kind = "script"
command = ["sh", "-c", "echo ran >> '{}'"]
schedule = {{ every = "24h" }}
"#,
        ran.display()
    )
}

/// `/usr/bin/python3 -m dbusmock --template TEMPLATE` on the stand-in system bus, once it owns its name;
/// `None` where python3-dbusmock is missing outside CI.
async fn start_mock(system: &PrivateBus, conn: &Connection, mock: &Mock, parameters: &str) -> Option<Child> {
    let file = format!("/usr/lib/python3/dist-packages/dbusmock/templates/{}.py", mock.template);
    require("python3-dbusmock's templates", Path::new(&file).is_file().then_some(()).ok_or(file.as_str()))?;
    let args = ["--template", mock.template, "--parameters", parameters];
    Some(super::private_bus::dbusmock(conn, mock.name, &args, ("DBUS_SYSTEM_BUS_ADDRESS", &system.address)).await)
}

/// Sets the mock's property through the standard `Properties.Set`, which emits `PropertiesChanged`.
async fn set(conn: &Connection, mock: &Mock, value: zbus::Variant<'_>) {
    conn.call_method(
        Some(mock.name),
        mock.path,
        Some("org.freedesktop.DBus.Properties"),
        "Set",
        &(mock.interface, mock.property, value),
    )
    .await
    .expect("set the mock's property");
}

/// `synccenter daemon` in `dir` with `system` as its system bus, logging at info level: the process and its log.
fn start_daemon(dir: &Path, system: &PrivateBus) -> (Child, Lines<BufReader<ChildStderr>>) {
    let mut daemon = binary(dir, &["daemon"])
        .env("DBUS_SYSTEM_BUS_ADDRESS", &system.address)
        .env("SYNCCENTER_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the daemon");
    let log = BufReader::new(daemon.stderr.take().expect("stderr")).lines();
    (daemon, log)
}

/// Reads the daemon's log until it has said every one of `needles` (in any order).
async fn until_logged(log: &mut Lines<BufReader<ChildStderr>>, needles: &[&str]) {
    let mut missing: Vec<&str> = needles.to_vec();
    while !missing.is_empty() {
        let line = tokio::time::timeout(HANG_GUARD, log.next_line()).await.expect("the daemon's log").expect("read");
        let line = line.unwrap_or_else(|| panic!("the daemon exited before logging {missing:?}"));
        missing.retain(|n| !line.contains(n));
    }
}

async fn json(dir: &Path, args: &[&str]) -> Value {
    let o = binary(dir, &[&["--json"], args].concat()).stdout(Stdio::piped()).stderr(Stdio::piped()).output();
    let o = tokio::time::timeout(HANG_GUARD, o).await.expect("synccenter hung").expect("run");
    assert_eq!(code(&o), 0, "{args:?}: {}{}", stdout(&o), stderr(&o));
    serde_json::from_str(&stdout(&o)).expect("JSON")
}

/// The scenario shared by both conditions: held with `reason` while the mock says `held`, then run once when
/// it says `free`.
async fn held_then_run_once(
    mock: &Mock,
    key: &str,
    initial: &str,
    held: (zbus::Variant<'static>, &str),
    free: (zbus::Variant<'static>, &str),
    reason: &str,
) {
    let Some(system) = PrivateBus::start().await else { return };
    let conn = zbus::connection::Builder::address(system.address.as_str()).build().await.expect("connect");
    let Some(_mock) = start_mock(&system, &conn, mock, initial).await else { return };
    if mock.property == NETWORK_MANAGER.property {
        // The template has no `Metered`; add it, metered (NM_METERED_YES), before the daemon reads it.
        conn.call_method(
            Some(mock.name),
            mock.path,
            Some("org.freedesktop.DBus.Mock"),
            "AddProperty",
            &(mock.interface, mock.property, zbus::Variant::from(1u32)),
        )
        .await
        .expect("add Metered");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let ran = dir.path().join("ran");
    std::fs::write(dir.path().join("config.toml"), config(key, &ran)).expect("write config");
    let (mut daemon, mut log) = start_daemon(dir.path(), &system);
    until_logged(&mut log, &["synccenter daemon ready", held.1]).await;

    let items = json(dir.path(), &["items", "laptop"]).await;
    assert_eq!(items["items"][0]["waiting"], reason, "{items}");
    assert!(items["items"][0]["last_sync"].is_null(), "{items}");
    let status = json(dir.path(), &["status"]).await;
    assert_eq!(status["waiting"], serde_json::json!([format!("laptop/backup: {reason}")]), "{status}");
    let handlers = json(dir.path(), &["handlers"]).await;
    assert_eq!(handlers["handlers"][0]["display_text"], format!("waiting: {reason}"), "{handlers}");
    assert_eq!(handlers["handlers"][0]["waiting"], reason, "{handlers}");
    let human = binary(dir.path(), &["handlers"]).stdout(Stdio::piped()).output().await.expect("run");
    let row = stdout(&human).lines().find(|l| l.starts_with("laptop")).map(str::to_owned).unwrap_or_default();
    assert!(row.contains(" waiting ") && row.contains(&format!("waiting: {reason}")), "{}", stdout(&human));
    let human = binary(dir.path(), &["items", "laptop"]).stdout(Stdio::piped()).output().await.expect("run");
    assert!(stdout(&human).contains(&format!("waiting: {reason}")), "{}", stdout(&human));
    assert!(!ran.exists(), "the run was held back");

    let client = Client::connect(&dir.path().join("run/s.sock")).await.expect("connect");
    let mut feed = client.subscribe().await.expect("subscribe");
    set(&conn, mock, free.0).await;
    loop {
        let u = tokio::time::timeout(HANG_GUARD, feed.next()).await.expect("the held run").expect("feed");
        if matches!(u.change, UpdateKind::SessionEnded { ref handler, .. } if handler == "laptop") {
            break;
        }
    }
    until_logged(&mut log, &[free.1]).await;
    assert_eq!(std::fs::read_to_string(&ran).expect("it ran"), "ran\n", "the missed run ran once");
    let items = json(dir.path(), &["items", "laptop"]).await;
    assert!(items["items"][0]["waiting"].is_null() && items["items"][0]["last_sync"].is_string(), "{items}");
    assert_eq!(json(dir.path(), &["status"]).await["waiting"], serde_json::json!([]));
    assert!(json(dir.path(), &["handlers"]).await["handlers"][0]["waiting"].is_null());

    // Held again: the item is not due (its next slot is a day after the run), so nothing waits.
    set(&conn, mock, held.0).await;
    until_logged(&mut log, &[held.1]).await;
    let items = json(dir.path(), &["items", "laptop"]).await;
    assert!(items["items"][0]["waiting"].is_null(), "{items}");
    assert_eq!(std::fs::read_to_string(&ran).expect("ran"), "ran\n");
    daemon.start_kill().expect("stop the daemon");
    let _ = daemon.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_battery_a_scheduled_run_waits_and_runs_once_when_ac_returns() {
    held_then_run_once(
        &UPOWER,
        "on_ac_power",
        r#"{"OnBattery": true}"#,
        (zbus::Variant::from(true), "power: on battery (org.freedesktop.UPower)"),
        (zbus::Variant::from(false), "power: on AC power (org.freedesktop.UPower)"),
        "on battery",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_metered_network_a_scheduled_run_waits_and_runs_once_when_it_is_not() {
    held_then_run_once(
        &NETWORK_MANAGER,
        "unmetered_network",
        "{}",
        (zbus::Variant::from(3u32), "network: metered (org.freedesktop.NetworkManager)"),
        (zbus::Variant::from(4u32), "network: not metered (org.freedesktop.NetworkManager)"),
        "metered network",
    )
    .await;
}
