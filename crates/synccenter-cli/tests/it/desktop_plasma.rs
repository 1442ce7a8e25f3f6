//! `synccenter desktop` as a KDE job-view *client*: where another process owns `org.kde.JobViewServer` (Plasma),
//! synccenter's own sessions are published to it. The server here is a stand-in (the issue allows one: it is
//! the server's side): a zbus object in the test owning the name on a private session bus, implementing
//! `org.kde.JobViewServerV2.requestView` and the job objects' `org.kde.JobViewV3` (`update`, `terminate`), and
//! recording every call in order. Sessions are made with the Rust client; waits are on the recorded calls and
//! the daemon's pushes.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use synccenter_client::methods::{HandlerRegisterParams, ItemFields, ItemRegisterParams};
use synccenter_client::{Client, EventLevelWire, Session, StatusWire};
use synccenter_test_support::{HANG_GUARD, TestDaemon};
use tokio::sync::mpsc;
use zbus::{Connection, ObjectServer, OwnedObjectPath, OwnedVariant};

use super::private_bus::{PrivateBus, start_desktop};

const JOB_VIEW_SERVER: &str = "org.kde.JobViewServer";

/// One call the stand-in received.
#[derive(Debug)]
enum Call {
    Request { path: String, entry: String, capabilities: i32, title: String },
    Update { path: String, fields: HashMap<String, OwnedVariant> },
    Terminate { path: String, code: u32, message: String },
}

impl Call {
    fn path(&self) -> &str {
        match self {
            Call::Request { path, .. } | Call::Update { path, .. } | Call::Terminate { path, .. } => path,
        }
    }
}

fn text(fields: &HashMap<String, OwnedVariant>, key: &str) -> String {
    fields.get(key).and_then(|v| String::try_from(v.try_clone().ok()?).ok()).unwrap_or_default()
}

fn percent(fields: &HashMap<String, OwnedVariant>) -> Option<u32> {
    fields.get("percent").and_then(|v| u32::try_from(v.try_clone().ok()?).ok())
}

#[derive(Debug)]
struct StandIn {
    tx: mpsc::UnboundedSender<Call>,
    next: Arc<AtomicU32>,
    /// Tells this server's job paths from another's.
    tag: &'static str,
    /// Answers every `update` with an error (after recording it).
    fail_updates: bool,
}

#[zbus::interface(name = "org.kde.JobViewServerV2")]
impl StandIn {
    #[zbus(name = "requestView")]
    async fn request_view(
        &self,
        desktop_entry: String,
        capabilities: i32,
        hints: HashMap<String, OwnedVariant>,
        #[zbus(object_server)] server: &ObjectServer,
    ) -> zbus::fdo::Result<OwnedObjectPath> {
        let path = format!("/{}/JobView_{}", self.tag, self.next.fetch_add(1, Ordering::Relaxed));
        let object = OwnedObjectPath::try_from(path.clone()).map_err(|e| zbus::fdo::Error::Failed(e.to_string()))?;
        let job = JobStandIn { tx: self.tx.clone(), path: path.clone(), fail_updates: self.fail_updates };
        server.at(&object, job).await?;
        let title = text(&hints, "title");
        let _ = self.tx.send(Call::Request { path, entry: desktop_entry, capabilities, title });
        Ok(object)
    }
}

#[derive(Debug)]
struct JobStandIn {
    tx: mpsc::UnboundedSender<Call>,
    path: String,
    fail_updates: bool,
}

#[zbus::interface(name = "org.kde.JobViewV3")]
impl JobStandIn {
    #[zbus(name = "update")]
    async fn update(&self, fields: HashMap<String, OwnedVariant>) -> zbus::fdo::Result<()> {
        let _ = self.tx.send(Call::Update { path: self.path.clone(), fields });
        if self.fail_updates { Err(zbus::fdo::Error::Failed("the stand-in refuses updates".into())) } else { Ok(()) }
    }

    #[zbus(name = "terminate")]
    async fn terminate(&self, code: u32, message: String, _hints: HashMap<String, OwnedVariant>) {
        let _ = self.tx.send(Call::Terminate { path: self.path.clone(), code, message });
    }
}

/// A stand-in server owning `org.kde.JobViewServer` on the bus at `address`, and the calls it receives.
async fn stand_in(address: &str, tag: &'static str, fail_updates: bool) -> (Connection, mpsc::UnboundedReceiver<Call>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let server = StandIn { tx, next: Arc::new(AtomicU32::new(1)), tag, fail_updates };
    let conn = zbus::connection::Builder::address(address)
        .serve_at("/JobViewServer", server)
        .name(JOB_VIEW_SERVER)
        .build()
        .await
        .expect("the stand-in took org.kde.JobViewServer");
    (conn, rx)
}

async fn next(calls: &mut mpsc::UnboundedReceiver<Call>) -> Call {
    tokio::time::timeout(HANG_GUARD, calls.recv()).await.expect("no call reached the job view server").expect("open")
}

/// The next call on `path`, skipping other jobs' calls.
async fn next_on(calls: &mut mpsc::UnboundedReceiver<Call>, path: &str) -> Call {
    loop {
        let call = next(calls).await;
        if call.path() == path {
            return call;
        }
    }
}

/// The next `requestView`: its path and title, after checking what every view asks for.
async fn requested(calls: &mut mpsc::UnboundedReceiver<Call>) -> (String, String) {
    loop {
        if let Call::Request { path, entry, capabilities, title } = next(calls).await {
            assert_eq!(entry, "synccenter");
            assert_eq!(capabilities & 0x1, 0x1, "the job can be canceled");
            return (path, title);
        }
    }
}

/// The next `requestView`'s path, once its first update came: the desktop then knows the path (a signal on
/// it is not answered before that).
async fn shown(calls: &mut mpsc::UnboundedReceiver<Call>) -> String {
    let (path, _) = requested(calls).await;
    loop {
        if let Call::Update { .. } = next_on(calls, &path).await {
            return path;
        }
    }
}

/// The end of the job at `path`: its code and message, and the last update before it.
async fn terminated(calls: &mut mpsc::UnboundedReceiver<Call>, path: &str) -> (u32, String, Option<u32>) {
    let mut last_percent = None;
    loop {
        match next_on(calls, path).await {
            Call::Update { fields, .. } => last_percent = percent(&fields),
            Call::Terminate { code, message, .. } => return (code, message, last_percent),
            Call::Request { .. } => panic!("{path} was requested twice"),
        }
    }
}

async fn register(client: &Client, handler: &str, name: &str, items: &[(&str, &str)]) {
    let params = HandlerRegisterParams {
        handler: handler.to_owned(),
        name: Some(name.to_owned()),
        ..HandlerRegisterParams::default()
    };
    client.register_handler(params).await.expect("handler.register");
    for (item, name) in items {
        let fields = ItemFields { name: Some((*name).to_owned()), ..Default::default() };
        let params = ItemRegisterParams { handler: handler.to_owned(), item: (*item).to_owned(), fields };
        client.register_item(params).await.expect("item.register");
    }
}

async fn finish(session: Session, item: &str, status: StatusWire) {
    session.report_progress(item, status, None, 0, 0).expect("progress");
    session.end().await.expect("session.end");
}

/// A daemon, a private bus with the stand-in on it, and `synccenter desktop` monitoring and publishing there.
struct Setup {
    _d: TestDaemon,
    bus: PrivateBus,
    client: Client,
    server: Connection,
    calls: mpsc::UnboundedReceiver<Call>,
    /// The desktop's log lines.
    log: mpsc::UnboundedReceiver<String>,
    _desktop: tokio::process::Child,
}

/// The handlers `backup` (item `home`) and `mail` (item `inbox`) are registered.
#[allow(clippy::print_stderr, reason = "the desktop's log belongs in a failed test's output")]
async fn setup(fail_updates: bool) -> Option<Setup> {
    let bus = PrivateBus::start().await?;
    let (server, calls) = stand_in(&bus.address, "a", fail_updates).await;
    let d = TestDaemon::start().await;
    let (desktop, role, mut log) = start_desktop(&d, &bus.address, Some("info")).await;
    assert!(role.contains("monitoring") && role.contains("published to it"), "{role}");
    // The desktop's log, drained to the end, shown with a failing test's output and kept for the test.
    let (lines, log_rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(Some(line)) = log.next_line().await {
            eprintln!("desktop: {line}");
            let _ = lines.send(line);
        }
    });
    let client = Client::connect(&d.socket).await.expect("connect");
    register(&client, "backup", "Backups", &[("home", "Home folder")]).await;
    register(&client, "mail", "Mail", &[("inbox", "Inbox")]).await;
    Some(Setup { _d: d, bus, client, server, calls, log: log_rx, _desktop: desktop })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_appear_with_updates_and_terminate_with_kjobs_code() {
    let Some(mut s) = setup(false).await else { return };
    // A session that came from the job server (a `kde-…` handler) is never sent back to one.
    register(&s.client, "kde-org.kde.dolphin", "Dolphin", &[("job-1", "Copying")]).await;
    let kde = s.client.create_session("kde-org.kde.dolphin", ["job-1"]).await.expect("session");
    finish(kde, "job-1", StatusWire::Succeeded).await;

    let session = s.client.create_session("backup", ["home"]).await.expect("session");
    let (path, title) = requested(&mut s.calls).await;
    assert_eq!(title, "Backups: Home folder", "the first view is the backup's: the KDE job was not published");
    session.report_progress("home", StatusWire::Updating, Some("copying photos"), 1, 4).expect("progress");
    loop {
        if let Call::Update { fields, .. } = next_on(&mut s.calls, &path).await
            && percent(&fields) == Some(25)
        {
            assert_eq!(text(&fields, "infoMessage"), "copying photos");
            assert_eq!(text(&fields, "title"), "Backups: Home folder");
            break;
        }
    }
    finish(session, "home", StatusWire::Succeeded).await;
    assert_eq!(terminated(&mut s.calls, &path).await, (0, String::new(), Some(100)));

    // A failed session ends with a non-zero code and says why in one line.
    let session = s.client.create_session("backup", ["home"]).await.expect("session");
    let (path, _) = requested(&mut s.calls).await;
    session.report_event(Some("home"), EventLevelWire::Error, "disk full", "No space left").await.expect("event");
    finish(session, "home", StatusWire::Failed).await;
    let (code, message, _) = terminated(&mut s.calls, &path).await;
    assert_eq!(code, 100, "{message}");
    assert_eq!(message, "Sync failed: 1 error.");

    // The publisher's own job calls, seen by the desktop's bus monitor, are not recorded as KDE jobs.
    let handlers = s.client.handlers(true).await.expect("handlers");
    assert!(!handlers.iter().any(|h| h.handler == "kde-synccenter"), "{handlers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_requested_by_the_servers_owner_stops_the_session() {
    let Some(mut s) = setup(false).await else { return };
    let mail = s.client.create_session("mail", ["inbox"]).await.expect("session");
    let mail_path = shown(&mut s.calls).await;
    let backup = s.client.create_session("backup", ["home"]).await.expect("session");
    let backup_path = shown(&mut s.calls).await;

    // Someone who does not own the server's name cannot cancel; the owner can.
    let stranger = zbus::connection::Builder::address(s.bus.address.as_str()).build().await.expect("connect");
    let cancel = async |conn: &Connection, path: &str| {
        conn.emit_signal(None::<&str>, path, "org.kde.JobViewV3", "cancelRequested", &()).await.expect("emit");
    };
    cancel(&stranger, &mail_path).await;
    cancel(&s.server, &backup_path).await;
    let push = tokio::time::timeout(HANG_GUARD, backup.cancelled()).await.expect("the stop arrived").expect("push");
    assert_eq!(push.session, backup.id());
    assert!(!mail.cancel_state().any(), "a stranger's cancelRequested stopped a session");
    finish(backup, "home", StatusWire::Canceled).await;
    assert_eq!(terminated(&mut s.calls, &backup_path).await.0, 1, "KJob's killed");
    finish(mail, "inbox", StatusWire::Succeeded).await;
    assert_eq!(terminated(&mut s.calls, &mail_path).await.0, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_leaves_and_returns_gets_the_live_sessions_again() {
    let Some(mut s) = setup(false).await else { return };
    let session = s.client.create_session("backup", ["home"]).await.expect("session");
    let (first, title) = requested(&mut s.calls).await;
    assert!(first.starts_with("/a/"), "{first}");
    s.server.release_name(JOB_VIEW_SERVER).await.expect("release the name");
    let (_returned, mut calls) = stand_in(&s.bus.address, "b", false).await;
    let (again, title_again) = requested(&mut calls).await;
    assert!(again.starts_with("/b/"), "{again}");
    assert_eq!(title_again, title);
    finish(session, "home", StatusWire::Succeeded).await;
    assert_eq!(terminated(&mut calls, &again).await.0, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_fails_calls_is_logged_once_not_per_update() {
    let Some(mut s) = setup(true).await else { return };
    let session = s.client.create_session("backup", ["home"]).await.expect("session");
    let (path, _) = requested(&mut s.calls).await;
    for step in 1..=3 {
        session.report_progress("home", StatusWire::Updating, None, step, 4).expect("progress");
        loop {
            if let Call::Update { fields, .. } = next_on(&mut s.calls, &path).await
                && percent(&fields) == Some(step * 25)
            {
                break;
            }
        }
    }
    finish(session, "home", StatusWire::Succeeded).await;
    assert_eq!(terminated(&mut s.calls, &path).await.0, 0, "a failing update does not stop the job");
    // Every failure was logged before the terminate above; a stop from the server is logged after it.
    let mail = s.client.create_session("mail", ["inbox"]).await.expect("session");
    let (mail_path, _) = requested(&mut s.calls).await;
    s.server
        .emit_signal(None::<&str>, mail_path.as_str(), "org.kde.JobViewV3", "cancelRequested", &())
        .await
        .expect("emit");
    let mut warnings = 0;
    loop {
        let line = tokio::time::timeout(HANG_GUARD, s.log.recv()).await.expect("the stop is logged").expect("log");
        if line.contains("stopped from Plasma's job view") {
            break;
        }
        warnings += usize::from(line.contains("failed a call"));
    }
    assert_eq!(warnings, 1, "every update failed; one warning");
    finish(mail, "inbox", StatusWire::Canceled).await;
}
