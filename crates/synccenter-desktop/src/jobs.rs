//! KDE jobs as synccenter sessions. The application is the handler (registered on the fly, with concurrent
//! sessions), each job an item of it named after the job's title and synchronized by a session of its own that
//! a pause suspends rather than stops (`session.declare_suspendable`). Updates are progress; `terminate` ends
//! the session (0 succeeded, 1 canceled, anything else failed with its message as an error event); a client
//! that leaves the bus has its unfinished jobs failed with an event saying so. Stops pushed by the daemon become
//! `cancelRequested` on the job's object at once, and a pause or resume of the handler `suspendRequested` or
//! `resumeRequested`. In monitor mode (Plasma owns the names) there is no emitter: jobs are recorded only.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use synccenter_client::methods::{HandlerRegisterParams, ItemFields, ItemRegisterParams, SessionParams};
use synccenter_client::{Client, ClientError, EventLevelWire, Session, StatusWire};
use synccenter_protocol::api;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use zbus::Connection;

use crate::kde::{self, JobMsg};
use crate::progress::{Field, JobState};

/// How long the jobs of a client that left the bus wait before they fail: its last calls (often `terminate`,
/// sent just before it exits) are dispatched by the object server apart from the signal saying it left, and
/// may reach the tracker after it.
pub(crate) const DEPARTURE_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// One job being tracked.
#[derive(Debug)]
struct Job {
    app: String,
    handler: String,
    item: String,
    interface: &'static str,
    client: Option<String>,
    state: JobState,
    session: Option<Arc<Session>>,
    /// Turns the session's stops into `cancelRequested`.
    watcher: Option<JoinHandle<()>>,
}

/// Keeps every job's session; runs on one task, in the order the bus delivered the calls.
#[derive(Debug)]
pub(crate) struct Tracker {
    client: Client,
    /// The connection that owns the job objects; `None` when monitoring someone else's.
    emitter: Option<Connection>,
    jobs: HashMap<String, Job>,
    registered: HashSet<String>,
    paused: HashSet<String>,
    /// Makes item IDs unique across runs.
    run_tag: u64,
    next_item: u64,
}

/// The handler ID for a desktop entry: `kde-` and the entry, cut to fit an ID.
pub(crate) fn handler_id(desktop_entry: &str) -> String {
    let entry: String = desktop_entry.chars().filter(|c| !c.is_control()).take(58).collect();
    if entry.is_empty() { "kde-unknown".to_owned() } else { format!("kde-{entry}") }
}

/// The application's name from its desktop file (`Name=`), else the desktop entry itself.
fn display_name(desktop_entry: &str) -> String {
    let home = std::env::var("XDG_DATA_HOME").ok();
    let dirs = std::env::var("XDG_DATA_DIRS").unwrap_or_else(|_| "/usr/local/share:/usr/share".to_owned());
    let safe = !desktop_entry.contains('/') && !desktop_entry.is_empty();
    home.iter()
        .map(String::as_str)
        .chain(dirs.split(':'))
        .filter(|_| safe)
        .filter_map(|d| std::fs::read_to_string(format!("{d}/applications/{desktop_entry}.desktop")).ok())
        .find_map(|text| text.lines().find_map(|l| l.strip_prefix("Name=").map(str::to_owned)))
        .unwrap_or_else(|| if safe { desktop_entry.to_owned() } else { "KDE application".to_owned() })
}

async fn emit(conn: &Connection, path: &str, interface: &str, signal: &'static str) {
    if let Err(e) = conn.emit_signal(None::<&str>, path, interface, signal, &()).await {
        tracing::warn!(path, signal, error = %e, "could not emit a KDE job signal");
    }
}

impl Tracker {
    pub(crate) fn new(client: Client, emitter: Option<Connection>, run_tag: u64) -> Tracker {
        Tracker {
            client,
            emitter,
            jobs: HashMap::new(),
            registered: HashSet::new(),
            paused: HashSet::new(),
            run_tag,
            next_item: 0,
        }
    }

    /// Handles messages until every sender is gone; fails only when the daemon connection does.
    pub(crate) async fn run(
        mut self,
        tx: mpsc::Sender<JobMsg>,
        mut rx: mpsc::Receiver<JobMsg>,
    ) -> Result<(), ClientError> {
        let tx = tx.downgrade();
        while let Some(msg) = rx.recv().await {
            let handled = match msg {
                JobMsg::Created { path, app, client, interface, fields } => {
                    self.create(path, app, client, interface, fields).await
                }
                JobMsg::Update { path, fields } => self.update(&path, fields),
                JobMsg::Terminate { path, code, message } => self.terminate(&path, code, &message).await,
                JobMsg::ClientGone { client } => {
                    if let Some(tx) = tx.upgrade() {
                        tokio::spawn(async move {
                            tokio::time::sleep(DEPARTURE_GRACE).await;
                            let _ = tx.send(JobMsg::ClientGoneFinal { client }).await;
                        });
                    }
                    Ok(())
                }
                JobMsg::ClientGoneFinal { client } => self.client_gone(&client).await,
                JobMsg::PauseChanged => self.pause_changed().await,
            };
            match handled {
                Err(ClientError::Disconnected) => return Err(ClientError::Disconnected),
                Err(e) => tracing::warn!(error = %e, "the daemon refused a KDE job's report"),
                Ok(()) => {}
            }
        }
        Ok(())
    }

    async fn create(
        &mut self,
        path: String,
        app: String,
        client: Option<String>,
        interface: &'static str,
        fields: Vec<(String, Field)>,
    ) -> Result<(), ClientError> {
        let handler = handler_id(&app);
        self.next_item += 1;
        let item = format!("job-{:x}-{}", self.run_tag, self.next_item);
        let mut state = JobState::default();
        for (k, v) in fields {
            state.apply(&k, v);
        }
        let mut job = Job { app, handler, item, interface, client, state, session: None, watcher: None };
        let started = self.start(&mut job).await;
        self.jobs.insert(path.clone(), job);
        started?;
        self.spawn_watcher(&path);
        self.update(&path, Vec::new())
    }

    /// Registers the handler (once per run) and the item, and creates the job's session.
    async fn start(&mut self, job: &mut Job) -> Result<(), ClientError> {
        if !self.registered.contains(&job.handler) {
            self.client
                .register_handler(HandlerRegisterParams {
                    handler: job.handler.clone(),
                    name: Some(display_name(&job.app)),
                    comment: Some(format!("KDE jobs of {}", job.app)),
                    capabilities: Some(vec!["supports_concurrent_sessions".to_owned()]),
                    ..HandlerRegisterParams::default()
                })
                .await?;
            self.registered.insert(job.handler.clone());
        }
        let title = job.state.title.trim();
        let name = if title.is_empty() { format!("Job {}", self.next_item) } else { title.to_owned() };
        let fields =
            ItemFields { name: Some(name), comment: job.state.dest_url().map(str::to_owned), ..Default::default() };
        self.client
            .register_item(ItemRegisterParams { handler: job.handler.clone(), item: job.item.clone(), fields })
            .await?;
        let session = self.client.create_session(&job.handler, [job.item.clone()]).await?;
        self.client
            .request::<api::SessionDeclareSuspendable>(&SessionParams { session: session.id().to_owned() })
            .await?;
        job.session = Some(Arc::new(session));
        Ok(())
    }

    fn spawn_watcher(&mut self, path: &str) {
        let (Some(conn), Some(job)) = (self.emitter.clone(), self.jobs.get_mut(path)) else { return };
        let Some(session) = job.session.clone() else { return };
        let (path, interface) = (path.to_owned(), job.interface);
        job.watcher = Some(tokio::spawn(async move {
            while session.cancelled().await.is_ok() {
                emit(&conn, &path, interface, "cancelRequested").await;
            }
        }));
    }

    fn update(&mut self, path: &str, fields: Vec<(String, Field)>) -> Result<(), ClientError> {
        let Some(job) = self.jobs.get_mut(path) else { return Ok(()) };
        for (k, v) in fields {
            job.state.apply(&k, v);
        }
        let Some(session) = &job.session else { return Ok(()) };
        let d = job.state.draw();
        match d.amount {
            Some(a) => session.report_amount(&job.item, StatusWire::Updating, Some(&d.text), a),
            None => session.report_progress(&job.item, StatusWire::Updating, Some(&d.text), d.step, d.max_step),
        }
    }

    async fn terminate(&mut self, path: &str, code: Option<u32>, message: &str) -> Result<(), ClientError> {
        let Some(job) = self.jobs.remove(path) else { return Ok(()) };
        let code = code.unwrap_or(job.state.error_code);
        let (status, failure) = match code {
            0 => (StatusWire::Succeeded, None),
            1 => (StatusWire::Canceled, None),
            n if message.is_empty() => (StatusWire::Failed, Some(format!("The job failed with error {n}."))),
            _ => (StatusWire::Failed, Some(message.to_owned())),
        };
        self.forget_object(path, job.interface);
        self.end(job, status, failure.map(|f| ("KDE job failed", f))).await
    }

    /// Removes a job's object on a task of its own: a call to the object may be waiting for this tracker.
    fn forget_object(&self, path: &str, interface: &'static str) {
        if let Some(conn) = &self.emitter {
            let server = conn.object_server().clone();
            let path = path.to_owned();
            tokio::spawn(async move { kde::remove(&server, &path, interface).await });
        }
    }

    /// Ends a job's session with `status`, after an error event when one is given.
    async fn end(&self, mut job: Job, status: StatusWire, event: Option<(&str, String)>) -> Result<(), ClientError> {
        if let Some(w) = job.watcher.take() {
            w.abort();
            let _ = w.await;
        }
        let Some(session) = job.session.take().and_then(Arc::into_inner) else { return Ok(()) };
        if let Some((name, description)) = event {
            session.report_event(Some(&job.item), EventLevelWire::Error, name, &description).await?;
        }
        let d = job.state.draw();
        match d.amount {
            Some(a) => session.report_amount(&job.item, status, Some(&d.text), a)?,
            None => session.report_progress(&job.item, status, Some(&d.text), d.step, d.max_step)?,
        }
        session.end().await.map(|_| ())
    }

    async fn client_gone(&mut self, client: &str) -> Result<(), ClientError> {
        let gone: Vec<String> =
            self.jobs.iter().filter(|(_, j)| j.client.as_deref() == Some(client)).map(|(p, _)| p.clone()).collect();
        for path in gone {
            let Some(job) = self.jobs.remove(&path) else { continue };
            let why = format!(
                "{} ({client}) left the session bus before it finished the job; the job's outcome is unknown.",
                job.app
            );
            self.forget_object(&path, job.interface);
            self.end(job, StatusWire::Failed, Some(("KDE application vanished", why))).await?;
        }
        Ok(())
    }

    /// Suspends or resumes the jobs of handlers whose pause changed.
    async fn pause_changed(&mut self) -> Result<(), ClientError> {
        let paused: HashSet<String> = self.client.status().await?.paused.into_iter().map(|p| p.handler).collect();
        if let Some(conn) = &self.emitter {
            for (path, job) in &self.jobs {
                let (was, is) = (self.paused.contains(&job.handler), paused.contains(&job.handler));
                if was != is && job.session.is_some() {
                    emit(conn, path, job.interface, if is { "suspendRequested" } else { "resumeRequested" }).await;
                }
            }
        }
        self.paused = paused;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_ids_fit_and_name_the_application() {
        assert_eq!(handler_id("org.kde.dolphin"), "kde-org.kde.dolphin");
        assert_eq!(handler_id(""), "kde-unknown");
        assert_eq!(handler_id(&"x".repeat(200)).chars().count(), 62);
        assert_eq!(display_name("../etc/passwd"), "KDE application");
    }
}
