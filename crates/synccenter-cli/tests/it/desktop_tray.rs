//! `synccenter desktop`'s tray icon on a private session bus: a stand-in `org.kde.StatusNotifierWatcher` (a
//! small zbus object: the watcher is the host's side, so a test double is fine) records the registrations; the
//! item's properties are read as a tray host reads them (`Properties.Get` after a `NewStatus` signal), and its
//! menu is driven through `com.canonical.dbusmenu` as a host does on a click. Sessions are driven through the
//! real daemon; waits are on the bus's signals, the registrations and the daemon's feed. And a real tray host:
//! LXQt's panel (Debian's `lxqt-panel`, whose Status Notifier plugin is a native watcher) on the test's Xvfb.

use futures_util::StreamExt;
use serde_json::{Value, json};
use synccenter_client::Client;
use synccenter_test_support::{HANG_GUARD, TestDaemon};
use tokio::sync::mpsc;
use zbus::{Connection, MessageStream, OwnedVariant};

use super::private_bus::{PrivateBus, start_desktop};

const WATCHER: &str = "org.kde.StatusNotifierWatcher";
const ITEM: &str = "org.kde.StatusNotifierItem";
const ITEM_PATH: &str = "/StatusNotifierItem";
const MENU: &str = "com.canonical.dbusmenu";
const MENU_PATH: &str = "/MenuBar";
const PROPERTIES: &str = "org.freedesktop.DBus.Properties";

/// The stand-in watcher: every `RegisterStatusNotifierItem(service)` goes to the test.
struct Watcher {
    tx: mpsc::UnboundedSender<String>,
}

#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    async fn register_status_notifier_item(&self, service: String) {
        let _ = self.tx.send(service);
    }

    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn protocol_version(&self) -> i32 {
        0
    }
}

/// The stand-in watcher on the bus at `address`, and the services registered with it.
async fn watcher(address: &str) -> (Connection, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let conn = zbus::connection::Builder::address(address)
        .serve_at("/StatusNotifierWatcher", Watcher { tx })
        .name(WATCHER)
        .build()
        .await
        .expect("the stand-in took org.kde.StatusNotifierWatcher");
    (conn, rx)
}

async fn registered(rx: &mut mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(HANG_GUARD, rx.recv()).await.expect("the item registered").expect("the watcher runs")
}

async fn signals(conn: &Connection, interface: &'static str, member: &'static str) -> MessageStream {
    let rule =
        zbus::MatchRule::builder().msg_type(zbus::message::Type::Signal).interface(interface).member(member).build();
    MessageStream::for_match_rule(rule.expect("rule"), conn, None).await.expect("match rule")
}

async fn property(conn: &Connection, service: &str, path: &str, interface: &str, name: &str) -> OwnedVariant {
    let reply = conn.call_method(Some(service), path, Some(PROPERTIES), "Get", &(interface, name)).await;
    reply.expect("Properties.Get").body().deserialize().expect("v")
}

async fn string(conn: &Connection, service: &str, name: &str) -> String {
    String::try_from(property(conn, service, ITEM_PATH, ITEM, name).await).expect("a string property")
}

/// A tooltip: icon name, pixmaps, title, description.
type ToolTip = (String, Vec<(i32, i32, Vec<u8>)>, String, String);

/// The tooltip's description.
async fn tooltip(conn: &Connection, service: &str) -> String {
    let v = property(conn, service, ITEM_PATH, ITEM, "ToolTip").await;
    let (_, _, _, text): ToolTip = v.try_into().expect("(sa(iiay)ss)");
    text
}

/// Waits for `NewToolTip` signals until the tooltip reads `text`.
async fn until_tooltip(conn: &Connection, tooltips: &mut MessageStream, service: &str, text: &str) {
    while tooltip(conn, service).await != text {
        let msg = tokio::time::timeout(HANG_GUARD, tooltips.next()).await;
        msg.unwrap_or_else(|_| panic!("the tooltip never read {text:?}")).expect("bus").expect("signal");
    }
}

/// Waits for `NewStatus(status)`; the `Status` property says the same.
async fn until_status(conn: &Connection, statuses: &mut MessageStream, service: &str, status: &str) {
    loop {
        let msg = tokio::time::timeout(HANG_GUARD, statuses.next()).await;
        let msg = msg.unwrap_or_else(|_| panic!("no NewStatus({status})")).expect("bus").expect("signal");
        if msg.body().deserialize::<String>().expect("s") == status {
            break;
        }
    }
    assert_eq!(string(conn, service, "Status").await, status);
}

/// The menu's entries under the root: ID and label (separators have none).
async fn entries(conn: &Connection, service: &str) -> Vec<(i32, Option<String>)> {
    type Node = (i32, std::collections::HashMap<String, OwnedVariant>, Vec<OwnedVariant>);
    let args = (0i32, -1i32, Vec::<String>::new());
    let reply = conn.call_method(Some(service), MENU_PATH, Some(MENU), "GetLayout", &args).await;
    let (_, (root, _, children)): (u32, Node) = reply.expect("GetLayout").body().deserialize().expect("u(ia{sv}av)");
    assert_eq!(root, 0);
    children
        .into_iter()
        .map(|c| {
            let (id, props, _): Node = c.try_into().expect("(ia{sv}av)");
            (id, props.get("label").and_then(|l| String::try_from(l.try_clone().ok()?).ok()))
        })
        .collect()
}

/// Clicks the entry labelled `label`.
async fn click(conn: &Connection, service: &str, label: &str) {
    let menu = entries(conn, service).await;
    let (id, _) = menu.iter().find(|(_, l)| l.as_deref() == Some(label)).unwrap_or_else(|| panic!("{label}: {menu:?}"));
    let args = (*id, "clicked", zbus::Variant::from(""), 0u32);
    conn.call_method(Some(service), MENU_PATH, Some(MENU), "Event", &args).await.expect("Event");
}

fn paused(handlers: &Value) -> Vec<(String, bool)> {
    let list = handlers["handlers"].as_array().expect("handlers");
    list.iter().map(|h| (h["handler"].as_str().unwrap_or_default().to_owned(), h["paused"] == true)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tray_item_shows_syncs_and_failures_and_its_menu_pauses_every_handler() {
    let Some(bus) = PrivateBus::start().await else { return };
    let (_watcher, mut registrations) = watcher(&bus.address).await;
    let conn = zbus::connection::Builder::address(bus.address.as_str()).build().await.expect("connect");
    let mut statuses = signals(&conn, ITEM, "NewStatus").await;
    let mut tooltips = signals(&conn, ITEM, "NewToolTip").await;
    let mut layouts = signals(&conn, MENU, "LayoutUpdated").await;
    let d = TestDaemon::start().await;
    let mut owner = d.raw().await;
    owner.setup("nas", &["docs"], json!({})).await;
    owner.setup("usb", &["photos"], json!({})).await;
    let (_desktop, ready, _log) = start_desktop(&d, &bus.address, Some("info")).await;
    assert!(ready.contains("tray: registered with"), "{ready}");
    let service = registered(&mut registrations).await;
    assert!(service.starts_with("org.kde.StatusNotifierItem-"), "{service}");
    assert_eq!(string(&conn, &service, "Status").await, "Passive");
    assert_eq!(string(&conn, &service, "Id").await, "synccenter");
    assert_eq!(string(&conn, &service, "Category").await, "ApplicationStatus");
    let menu = property(&conn, &service, ITEM_PATH, ITEM, "Menu").await;
    assert_eq!(zbus::OwnedObjectPath::try_from(menu).expect("o").as_str(), MENU_PATH);

    // A sync that runs: Active, with its progress in the tooltip.
    let s = owner.session("nas", &["docs"]).await;
    let p = json!({"session": s, "item": "docs", "status": "updating", "step": 1, "max_step": 2});
    owner.ok("session.report_progress", p).await;
    until_status(&conn, &mut statuses, &service, "Active").await;
    assert!(tooltip(&conn, &service).await.starts_with("Syncing: "), "{}", tooltip(&conn, &service).await);

    // Its failure: NeedsAttention, counted in the tooltip, listed in the menu.
    let e = json!({"session": s, "item": "docs", "level": "error", "name": "io", "description": "disk full"});
    owner.ok("session.report_event", e).await;
    owner.ok("session.report_progress", json!({"session": s, "item": "docs", "status": "failed"})).await;
    owner.ok("session.end", json!({"session": s})).await;
    until_status(&conn, &mut statuses, &service, "NeedsAttention").await;
    // The error is seen before the session's end; the end takes the progress away.
    until_tooltip(&conn, &mut tooltips, &service, "1 error and 0 conflicts need attention").await;
    tokio::time::timeout(HANG_GUARD, layouts.next()).await.expect("LayoutUpdated").expect("bus").expect("signal");
    let menu = entries(&conn, &service).await;
    assert!(menu.iter().any(|(_, l)| l.as_deref() == Some("nas: disk full")), "{menu:?}");

    // The results cleared: Passive again.
    super::cli_json(&d, &["results", "clear", "--handler", "nas"]).await;
    until_status(&conn, &mut statuses, &service, "Passive").await;

    // "Pause all until resumed" pauses every handler; "Resume" resumes them.
    let client = Client::connect(&d.socket).await.expect("connect");
    let mut feed = client.subscribe().await.expect("subscribe");
    assert!(paused(&super::cli_json(&d, &["handlers"]).await).iter().all(|(_, p)| !p));
    click(&conn, &service, "Pause all until resumed").await;
    let wait = async {
        while !paused(&super::cli_json(&d, &["handlers"]).await).iter().all(|(_, p)| *p) {
            feed.next().await.expect("feed");
        }
    };
    tokio::time::timeout(HANG_GUARD, wait).await.expect("every handler paused");
    let handlers = paused(&super::cli_json(&d, &["handlers"]).await);
    assert_eq!(handlers.len(), 2, "{handlers:?}");
    click(&conn, &service, "Resume").await;
    let wait = async {
        while paused(&super::cli_json(&d, &["handlers"]).await).iter().any(|(_, p)| *p) {
            feed.next().await.expect("feed");
        }
    };
    tokio::time::timeout(HANG_GUARD, wait).await.expect("every handler resumed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_watcher_the_desktop_says_so_and_registers_when_one_appears() {
    let Some(bus) = PrivateBus::start().await else { return };
    let d = TestDaemon::start().await;
    let (_desktop, ready, _log) = start_desktop(&d, &bus.address, Some("info")).await;
    assert!(ready.contains("tray: unavailable, nobody owns org.kde.StatusNotifierWatcher"), "{ready}");
    let status = super::desktop_surfaces::desktop_status(&d).await;
    assert!(status.contains("tray: unavailable, nobody owns org.kde.StatusNotifierWatcher"), "{status}");

    let (_watcher, mut registrations) = watcher(&bus.address).await;
    let service = registered(&mut registrations).await;
    assert!(service.starts_with("org.kde.StatusNotifierItem-"), "{service}");
    // `status` follows: the tray is no longer reported missing.
    let client = Client::connect(&d.socket).await.expect("connect");
    let follows = async {
        loop {
            let desktop = client.status().await.expect("status").desktop.unwrap_or_default();
            if desktop.contains("tray: registered with") {
                return desktop;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    };
    let desktop = tokio::time::timeout(HANG_GUARD, follows).await.expect("status says the tray is registered");
    assert!(!desktop.contains("tray: unavailable"), "{desktop}");
}

/// The panel's height and its background colour, so that the screenshot can tell the drawn icon from the panel.
const PANEL_SIZE: u32 = 40;
const PANEL_BACKGROUND: [u8; 3] = [0x2f, 0x5f, 0x8f];

/// LXQt's panel with only its Status Notifier plugin, configured in `config` (its `XDG_CONFIG_HOME`): an opaque
/// background of its own and the Adwaita icon theme (Debian's `adwaita-icon-theme`), which has the icon names the
/// item uses; without a theme set, LXQt looks for Oxygen and draws nothing.
fn lxqt_panel(config: &std::path::Path) -> std::io::Result<()> {
    let dir = config.join("lxqt");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("lxqt.conf"), "[General]\n__userfile__=true\nicon_theme=Adwaita\n")?;
    let [r, g, b] = PANEL_BACKGROUND;
    std::fs::write(
        dir.join("panel.conf"),
        format!(
            "[General]\n__userfile__=true\n\n[panel1]\nplugins=statusnotifier\nposition=Top\npanelSize={PANEL_SIZE}\n\
             iconSize=32\nbackground-color=#{r:02x}{g:02x}{b:02x}\nopacity=100\n\n[statusnotifier]\ntype=statusnotifier\n"
        ),
    )
}

/// Waits until the panel's strip of the screen shows pixels that are neither its background nor black (the
/// item's icon drawn), then takes the screenshot for docs/desktop.md.
async fn icon_drawn(display: &str) {
    let Some(import) = synccenter_test_support::component::require(
        "ImageMagick's import",
        synccenter_test_support::component::program("import"),
    ) else {
        return;
    };
    let strip = format!("800x{PANEL_SIZE}+0+0");
    let drawn = async {
        loop {
            let pixels = super::private_bus::pixels(&import, display, &strip).await;
            if pixels.iter().filter(|p| **p != PANEL_BACKGROUND && **p != [0, 0, 0]).count() > 50 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(HANG_GUARD, drawn).await.expect("the panel draws the item's icon");
    super::private_bus::screenshot(display, Some(&format!("160x{PANEL_SIZE}+0+0")), "tray").await;
}

/// A real tray host takes the item: LXQt's panel owns the watcher's name, the desktop registers with it, and
/// the panel lists the item among its registered ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lxqt_panel_a_real_tray_host_registers_the_item() {
    let Some(bus) = PrivateBus::start().await else { return };
    let Some(panel) = synccenter_test_support::component::require(
        "lxqt-panel",
        synccenter_test_support::component::program("lxqt-panel"),
    ) else {
        return;
    };
    let Some((_x, display)) = super::private_bus::xvfb().await else { return };
    let home = tempfile::tempdir().expect("tempdir");
    lxqt_panel(home.path()).expect("the panel's configuration");
    let conn = zbus::connection::Builder::address(bus.address.as_str()).build().await.expect("bus");
    let mut program = tokio::process::Command::new(panel);
    program
        .env("DISPLAY", &display)
        .env("XDG_CONFIG_HOME", home.path())
        .env("XDG_RUNTIME_DIR", home.path())
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .env_remove("WAYLAND_DISPLAY");
    let _panel = super::private_bus::owning(&conn, WATCHER, program).await;

    let d = TestDaemon::start().await;
    let (_desktop, ready, _log) = start_desktop(&d, &bus.address, Some("info")).await;
    assert!(ready.contains("tray: registered with") && ready.contains("lxqt-panel"), "{ready}");
    let items = property(&conn, WATCHER, "/StatusNotifierWatcher", WATCHER, "RegisteredStatusNotifierItems").await;
    let items: Vec<String> = items.try_into().expect("a list of strings");
    assert!(items.iter().any(|i| i.contains("org.kde.StatusNotifierItem-")), "the panel lists the item: {items:?}");
    icon_drawn(&display).await;
}
