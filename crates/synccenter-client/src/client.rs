//! The connection handle: connect and `hello`, the generic `call` and `notify`, and one typed method per
//! protocol method, so callers never spell a method name or a result shape. A `Client` is a cheap clone of
//! one connection; the connection closes once every clone, session and subscription is gone.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use synccenter_protocol::api::{self, Method};
use synccenter_protocol::methods::{
    ActivateParams, ConflictInfo, ConflictParams, ConflictsListParams, ConflictsListResult, ConflictsRemoveParams,
    ControlTargetParams, CreateSessionParams, CreateSessionResult, DeleteItemParams, Empty, EnableParams, EventInfo,
    EventParams, EventsFilterParams, EventsListResult, EventsRemoveParams, HandlerInfo, HandlerListParams,
    HandlerListResult, HandlerParams, HandlerRegisterParams, HelloParams, HelloResult, ItemInfo, ItemListParams,
    ItemListResult, ItemRegisterParams, LogsReadParams, LogsReadResult, PauseParams, PingReportParams,
    PingReportResult, PingUrlParams, PingUrlResult, RemovedResult, ResolveParams, ResolveResult, ResumeParams,
    SessionInfo, SessionRecordInfo, SessionsHistoryParams, SessionsHistoryResult, SessionsListResult, StartResult,
    StatusResult, SyncFailedParams, VersionRange,
};
use synccenter_protocol::{Env, MIN_SUPPORTED_PROTOCOL, Overrides, PROTOCOL_VERSION, Paths};
use tokio::sync::mpsc;

use crate::conn::{PendingKind, Shared};
use crate::error::ClientError;
use crate::push::Push;

/// The deadline of the `hello` handshake.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection to the daemon. Cloning is cheap and shares the connection.
#[derive(Clone, Debug)]
pub struct Client {
    conn: Arc<Conn>,
}

#[derive(Debug)]
struct Conn {
    guard: ShutdownOnDrop,
    hello: HelloResult,
}

/// Closes the connection (after writing what is queued) when the last handle goes.
#[derive(Debug)]
struct ShutdownOnDrop(Arc<Shared>);

impl Drop for ShutdownOnDrop {
    fn drop(&mut self) {
        self.0.shutdown();
    }
}

impl Client {
    /// Connects to the socket at `path` and negotiates the protocol version.
    pub async fn connect(path: &Path) -> Result<Client, ClientError> {
        let stream = synccenter_platform::transport::connect(path)
            .await
            .map_err(|source| ClientError::Connect { path: path.to_owned(), source })?;
        let (read, write) = stream.into_split();
        let shared = Shared::new();
        shared.spawn(read, write);
        let guard = ShutdownOnDrop(shared);
        let params = HelloParams {
            protocol: Some(VersionRange { min: MIN_SUPPORTED_PROTOCOL, max: PROTOCOL_VERSION }),
            client: Some(concat!("synccenter-client/", env!("CARGO_PKG_VERSION")).to_owned()),
        };
        let value =
            tokio::time::timeout(HELLO_TIMEOUT, guard.0.call_value(api::Hello::NAME, &params, PendingKind::Plain))
                .await
                .map_err(|_| ClientError::Timeout { what: "the hello handshake", after: HELLO_TIMEOUT })??;
        let hello: HelloResult = serde_json::from_value(value)
            .map_err(|e| ClientError::Protocol(format!("{}: unexpected result: {e}", api::Hello::NAME)))?;
        if !(MIN_SUPPORTED_PROTOCOL..=PROTOCOL_VERSION).contains(&hello.protocol) {
            return Err(ClientError::Version {
                server: hello.protocol,
                min: MIN_SUPPORTED_PROTOCOL,
                max: PROTOCOL_VERSION,
            });
        }
        Ok(Client { conn: Arc::new(Conn { guard, hello }) })
    }

    /// Connects to the default socket: `SYNCCENTER_SOCKET`, else `$XDG_RUNTIME_DIR/synccenter/synccenter.sock`,
    /// else `/tmp/synccenter-$UID/synccenter.sock`; on Windows the pipe `\\.\pipe\synccenter-<user>`.
    pub async fn connect_default() -> Result<Client, ClientError> {
        let paths = Paths::resolve(&Env::from_process(synccenter_platform::peer::uid()), &Overrides::default())?;
        Client::connect(&paths.socket).await
    }

    /// What the daemon answered to `hello`.
    pub fn server(&self) -> &HelloResult {
        &self.conn.hello
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.conn.guard.0
    }

    /// Calls the declared method `M` and decodes its result.
    pub async fn request<M: Method>(&self, params: &M::Params) -> Result<M::Result, ClientError> {
        self.call(M::NAME, params).await
    }

    /// Calls `method` and decodes its result.
    pub async fn call<P: Serialize, R: DeserializeOwned>(&self, method: &str, params: &P) -> Result<R, ClientError> {
        let value = self.shared().call_value(method, params, PendingKind::Plain).await?;
        serde_json::from_value(value).map_err(|e| ClientError::Protocol(format!("{method}: unexpected result: {e}")))
    }

    /// Sends `method` as a notification (no reply), after all progress reported so far. Waits only while the
    /// outgoing queue is full.
    pub async fn notify<P: Serialize>(&self, method: &str, params: &P) -> Result<(), ClientError> {
        self.shared().notify(method, params).await
    }

    /// The receiver of connection-wide pushes; `None` after the first call. Pushes wait (up to a bound) until
    /// it is taken; it ends when the connection closes.
    pub fn pushes(&self) -> Option<mpsc::Receiver<Push>> {
        self.shared().take_pushes()
    }

    /// `status`.
    pub async fn status(&self) -> Result<StatusResult, ClientError> {
        self.request::<api::Status>(&Empty {}).await
    }

    /// `session.create` with `announce`: the sync is announced (spec §5.2), the session created and ended at
    /// once with nothing recorded for its items. Returns the session's ID.
    pub async fn announce_session<I, S>(&self, handler: &str, items: I) -> Result<String, ClientError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let params = CreateSessionParams {
            handler: handler.to_owned(),
            items: items.into_iter().map(Into::into).collect(),
            detach: false,
            lease_seconds: None,
            announce: true,
        };
        let value = self.shared().call_value(api::SessionCreate::NAME, &params, PendingKind::Plain).await?;
        let created: CreateSessionResult = serde_json::from_value(value)
            .map_err(|e| ClientError::Protocol(format!("{}: unexpected result: {e}", api::SessionCreate::NAME)))?;
        Ok(created.session)
    }

    /// `handler.register`.
    pub async fn register_handler(&self, params: HandlerRegisterParams) -> Result<HandlerInfo, ClientError> {
        self.request::<api::HandlerRegister>(&params).await
    }

    /// `handler.list`.
    pub async fn handlers(&self, include_hidden: bool) -> Result<Vec<HandlerInfo>, ClientError> {
        let r: HandlerListResult = self.request::<api::HandlerList>(&HandlerListParams { include_hidden }).await?;
        Ok(r.handlers)
    }

    /// `handler.remove`.
    pub async fn remove_handler(&self, handler: &str) -> Result<(), ClientError> {
        self.request::<api::HandlerRemove>(&HandlerParams { handler: handler.to_owned() }).await.map(drop)
    }

    /// `handler.serve`: this connection receives the handler's `handler.sync_requested` pushes.
    pub async fn serve_handler(&self, handler: &str) -> Result<(), ClientError> {
        self.request::<api::HandlerServe>(&HandlerParams { handler: handler.to_owned() }).await.map(drop)
    }

    /// `handler.sync_failed`: the handler could not start a requested sync.
    pub async fn sync_failed(&self, request: &str, reason: &str) -> Result<(), ClientError> {
        let params = SyncFailedParams { request: request.to_owned(), reason: reason.to_owned() };
        self.request::<api::HandlerSyncFailed>(&params).await.map(drop)
    }

    /// `item.register`.
    pub async fn register_item(&self, params: ItemRegisterParams) -> Result<ItemInfo, ClientError> {
        self.request::<api::ItemRegister>(&params).await
    }

    /// `item.list`.
    pub async fn items(&self, handler: &str, include_hidden: bool) -> Result<Vec<ItemInfo>, ClientError> {
        let params = ItemListParams { handler: handler.to_owned(), include_hidden };
        let r: ItemListResult = self.request::<api::ItemList>(&params).await?;
        Ok(r.items)
    }

    /// `control.start`.
    pub async fn start(&self, params: ControlTargetParams) -> Result<StartResult, ClientError> {
        self.request::<api::ControlStart>(&params).await
    }

    /// `control.stop`.
    pub async fn stop(&self, params: ControlTargetParams) -> Result<(), ClientError> {
        self.request::<api::ControlStop>(&params).await.map(drop)
    }

    /// `control.enable`.
    pub async fn enable(&self, params: EnableParams) -> Result<(), ClientError> {
        self.request::<api::ControlEnable>(&params).await.map(drop)
    }

    /// `control.activate`.
    pub async fn activate(&self, params: ActivateParams) -> Result<(), ClientError> {
        self.request::<api::ControlActivate>(&params).await.map(drop)
    }

    /// `control.delete_item`.
    pub async fn delete_item(&self, params: DeleteItemParams) -> Result<(), ClientError> {
        self.request::<api::ControlDeleteItem>(&params).await.map(drop)
    }

    /// `control.pause`: a handler, or every handler with `handler: None`.
    pub async fn pause(&self, params: PauseParams) -> Result<(), ClientError> {
        self.request::<api::ControlPause>(&params).await.map(drop)
    }

    /// `control.resume`: a handler, or every paused handler with `handler: None`.
    pub async fn resume(&self, params: ResumeParams) -> Result<(), ClientError> {
        self.request::<api::ControlResume>(&params).await.map(drop)
    }

    /// `sessions.list`.
    pub async fn sessions(&self) -> Result<Vec<SessionInfo>, ClientError> {
        let r: SessionsListResult = self.request::<api::SessionsList>(&Empty {}).await?;
        Ok(r.sessions)
    }

    /// `sessions.history`.
    pub async fn history(&self, params: SessionsHistoryParams) -> Result<Vec<SessionRecordInfo>, ClientError> {
        let r: SessionsHistoryResult = self.request::<api::SessionsHistory>(&params).await?;
        Ok(r.sessions)
    }

    /// `events.list`.
    pub async fn events(&self, filter: EventsFilterParams) -> Result<EventsListResult, ClientError> {
        self.request::<api::EventsList>(&filter).await
    }

    /// `events.get`.
    pub async fn event(&self, id: &str) -> Result<EventInfo, ClientError> {
        self.request::<api::EventsGet>(&EventParams { event: id.to_owned() }).await
    }

    /// `events.remove`; all must exist, otherwise nothing is removed. Returns how many were removed.
    pub async fn remove_events(&self, ids: Vec<String>) -> Result<u64, ClientError> {
        let r: RemovedResult = self.request::<api::EventsRemove>(&EventsRemoveParams { events: ids }).await?;
        Ok(r.removed)
    }

    /// `events.clear`: removes the matching events and returns how many.
    pub async fn clear_events(&self, filter: EventsFilterParams) -> Result<u64, ClientError> {
        let r: RemovedResult = self.request::<api::EventsClear>(&filter).await?;
        Ok(r.removed)
    }

    /// `conflicts.list`.
    pub async fn conflicts(&self, params: ConflictsListParams) -> Result<Vec<ConflictInfo>, ClientError> {
        let r: ConflictsListResult = self.request::<api::ConflictsList>(&params).await?;
        Ok(r.conflicts)
    }

    /// `conflicts.get`.
    pub async fn conflict(&self, id: &str) -> Result<ConflictInfo, ClientError> {
        self.request::<api::ConflictsGet>(&ConflictParams { conflict: id.to_owned() }).await
    }

    /// `conflicts.resolve`.
    pub async fn resolve(&self, params: ResolveParams) -> Result<ResolveResult, ClientError> {
        self.request::<api::ConflictsResolve>(&params).await
    }

    /// `conflicts.remove`: the owner reports conflicts gone.
    pub async fn remove_conflicts(&self, ids: Vec<String>) -> Result<(), ClientError> {
        self.request::<api::ConflictsRemove>(&ConflictsRemoveParams { conflicts: ids }).await.map(drop)
    }

    /// `ping.report`: a Healthchecks-style ping for one item.
    pub async fn ping_report(&self, params: PingReportParams) -> Result<PingReportResult, ClientError> {
        self.request::<api::PingReport>(&params).await
    }

    /// `logs.read`: a page of a command run's log.
    pub async fn logs_read(&self, params: LogsReadParams) -> Result<LogsReadResult, ClientError> {
        self.request::<api::LogsRead>(&params).await
    }

    /// `ping.url`: an item's ping UUID, its handler's ping key, and the URLs built from them.
    pub async fn ping_url(&self, handler: &str, item: &str) -> Result<PingUrlResult, ClientError> {
        self.request::<api::PingUrl>(&PingUrlParams { handler: handler.to_owned(), item: item.to_owned() }).await
    }
}
