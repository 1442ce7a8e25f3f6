//! KDE's job tracker interfaces as KDE defines them (`KDE/kjobwidgets`, `KDE/kio`): the server at
//! `/JobViewServer` (`org.kde.kuiserver`, `org.kde.JobViewServerV2` and the old `org.kde.JobViewServer`) and one
//! object per job (`org.kde.JobViewV3`, or `org.kde.JobViewV2` with its per-field setters for clients of the
//! old server). The objects only translate: every call becomes a [`JobMsg`] for the tracker, in the order the
//! bus delivered them. Arguments of the wrong type never reach this code (zbus answers `InvalidArgs`), and a
//! call to a path with no job is answered `UnknownObject`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;
use zbus::message::Header;
use zbus::object_server::SignalEmitter;
use zbus::{OwnedObjectPath, OwnedVariant, Variant};

use crate::progress::Field;

/// The server's object.
pub(crate) const SERVER_PATH: &str = "/JobViewServer";
/// Where job objects live.
const JOB_PREFIX: &str = "/org/synccenter/jobs/JobView_";
pub(crate) const V3: &str = "org.kde.JobViewV3";
pub(crate) const V2: &str = "org.kde.JobViewV2";

/// What the bus said about jobs, for the tracker.
#[derive(Debug)]
pub(crate) enum JobMsg {
    /// A new job: its object path (or the monitored server's), the application, who asked, what it allows.
    Created {
        path: String,
        app: String,
        client: Option<String>,
        interface: &'static str,
        fields: Vec<(String, Field)>,
    },
    Update {
        path: String,
        fields: Vec<(String, Field)>,
    },
    /// `code`: `None` for V2's `terminate(s)`, which ends with the code `setError` gave.
    Terminate {
        path: String,
        code: Option<u32>,
        message: String,
    },
    /// A bus connection closed: its jobs fail after [`crate::jobs::DEPARTURE_GRACE`] unless they terminate.
    ClientGone {
        client: String,
    },
    /// The grace after [`JobMsg::ClientGone`] is over.
    ClientGoneFinal {
        client: String,
    },
    /// A handler's pause may have changed.
    PauseChanged,
}

/// The fields of an `a{sv}`, values reduced to what KDE sends (strings, numbers, flags).
pub(crate) fn fields(map: &HashMap<String, OwnedVariant>) -> Vec<(String, Field)> {
    map.iter().filter_map(|(k, v)| field(v).map(|f| (k.clone(), f))).collect()
}

pub(crate) fn field(v: &Variant<'_>) -> Option<Field> {
    Some(match v {
        Variant::Str(s) => Field::Text(s.to_string()),
        Variant::Bool(b) => Field::Flag(*b),
        Variant::U8(n) => Field::Number(u64::from(*n)),
        Variant::U16(n) => Field::Number(u64::from(*n)),
        Variant::U32(n) => Field::Number(u64::from(*n)),
        Variant::U64(n) => Field::Number(*n),
        Variant::I16(n) => Field::Number(u64::try_from(*n).ok()?),
        Variant::I32(n) => Field::Number(u64::try_from(*n).ok()?),
        Variant::I64(n) => Field::Number(u64::try_from(*n).ok()?),
        Variant::Variant(inner) => return field(inner),
        _ => return None,
    })
}

/// The server object; `interfaces` of it share one.
#[derive(Clone, Debug)]
pub(crate) struct Server {
    tx: mpsc::Sender<JobMsg>,
    next: Arc<AtomicU64>,
}

impl Server {
    pub(crate) fn new(tx: mpsc::Sender<JobMsg>) -> Server {
        Server { tx, next: Arc::new(AtomicU64::new(1)) }
    }

    async fn open(
        &self,
        server: &zbus::ObjectServer,
        header: &Header<'_>,
        app: &str,
        interface: &'static str,
        fields: Vec<(String, Field)>,
    ) -> zbus::fdo::Result<OwnedObjectPath> {
        let path = format!("{JOB_PREFIX}{}", self.next.fetch_add(1, Ordering::Relaxed));
        let object = OwnedObjectPath::try_from(path.clone()).map_err(|e| zbus::fdo::Error::Failed(e.to_string()))?;
        let job = Job { tx: self.tx.clone(), path: path.clone() };
        let added = if interface == V3 {
            server.at(&object, job).await.map(|_| ())
        } else {
            server.at(&object, JobV2(job)).await.map(|_| ())
        };
        added.map_err(|e| zbus::fdo::Error::Failed(e.to_string()))?;
        let client = header.sender().map(|s| s.to_string());
        let msg = JobMsg::Created { path, app: app.to_owned(), client, interface, fields };
        self.tx.send(msg).await.map_err(|_| zbus::fdo::Error::Failed("synccenter desktop is stopping".into()))?;
        Ok(object)
    }
}

/// `org.kde.kuiserver`: this server wants no widget tracker next to it.
#[derive(Debug)]
pub(crate) struct KuiServer;

#[zbus::interface(name = "org.kde.kuiserver")]
impl KuiServer {
    #[zbus(name = "requiresJobTracker")]
    fn requires_job_tracker(&self) -> bool {
        false
    }
}

/// `org.kde.JobViewServerV2`.
#[derive(Debug)]
pub(crate) struct ServerV2(pub(crate) Server);

#[zbus::interface(name = "org.kde.JobViewServerV2")]
impl ServerV2 {
    #[zbus(name = "requestView")]
    async fn request_view(
        &self,
        desktop_entry: String,
        _capabilities: i32,
        hints: HashMap<String, OwnedVariant>,
        #[zbus(header)] header: Header<'_>,
        #[zbus(object_server)] server: &zbus::ObjectServer,
    ) -> zbus::fdo::Result<OwnedObjectPath> {
        self.0.open(server, &header, &desktop_entry, V3, fields(&hints)).await
    }
}

/// `org.kde.JobViewServer`, the first version.
#[derive(Debug)]
pub(crate) struct ServerV1(pub(crate) Server);

#[zbus::interface(name = "org.kde.JobViewServer")]
impl ServerV1 {
    #[zbus(name = "requestView")]
    async fn request_view(
        &self,
        app_name: String,
        _app_icon_name: String,
        _capabilities: i32,
        #[zbus(header)] header: Header<'_>,
        #[zbus(object_server)] server: &zbus::ObjectServer,
    ) -> zbus::fdo::Result<OwnedObjectPath> {
        self.0.open(server, &header, &app_name, V2, Vec::new()).await
    }
}

/// One job's object.
#[derive(Clone, Debug)]
pub(crate) struct Job {
    tx: mpsc::Sender<JobMsg>,
    path: String,
}

impl Job {
    async fn send(&self, msg: JobMsg) -> zbus::fdo::Result<()> {
        self.tx.send(msg).await.map_err(|_| zbus::fdo::Error::Failed("synccenter desktop is stopping".into()))
    }

    async fn set(&self, fields: Vec<(String, Field)>) -> zbus::fdo::Result<()> {
        self.send(JobMsg::Update { path: self.path.clone(), fields }).await
    }
}

#[zbus::interface(name = "org.kde.JobViewV3")]
impl Job {
    #[zbus(name = "update")]
    async fn update(&self, data: HashMap<String, OwnedVariant>) -> zbus::fdo::Result<()> {
        self.set(fields(&data)).await
    }

    #[zbus(name = "terminate")]
    async fn terminate(
        &self,
        error_code: u32,
        error_message: String,
        _hints: HashMap<String, OwnedVariant>,
    ) -> zbus::fdo::Result<()> {
        self.send(JobMsg::Terminate { path: self.path.clone(), code: Some(error_code), message: error_message }).await
    }

    #[zbus(signal, name = "cancelRequested")]
    async fn cancel_requested(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;
    #[zbus(signal, name = "suspendRequested")]
    async fn suspend_requested(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;
    #[zbus(signal, name = "resumeRequested")]
    async fn resume_requested(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;
}

/// One job's object for clients of the first server: a setter per field.
#[derive(Debug)]
pub(crate) struct JobV2(Job);

fn text(key: &str, s: String) -> Vec<(String, Field)> {
    vec![(key.to_owned(), Field::Text(s))]
}

fn number(key: &str, n: u64) -> Vec<(String, Field)> {
    vec![(key.to_owned(), Field::Number(n))]
}

/// KDE's unit names in V2 setters, as V3's key suffixes.
pub(crate) fn unit_key(prefix: &str, unit: &str) -> zbus::fdo::Result<String> {
    let suffix = match unit {
        "bytes" => "Bytes",
        "files" => "Files",
        "dirs" => "Directories",
        "items" => "Items",
        _ => return Err(zbus::fdo::Error::InvalidArgs(format!("unknown unit {unit:?}"))),
    };
    Ok(format!("{prefix}{suffix}"))
}

#[zbus::interface(name = "org.kde.JobViewV2")]
impl JobV2 {
    #[zbus(name = "terminate")]
    async fn terminate(&self, error_message: String) -> zbus::fdo::Result<()> {
        self.0.send(JobMsg::Terminate { path: self.0.path.clone(), code: None, message: error_message }).await
    }
    #[zbus(name = "setSuspended")]
    async fn set_suspended(&self, suspended: bool) -> zbus::fdo::Result<()> {
        self.0.set(vec![("suspended".into(), Field::Flag(suspended))]).await
    }
    #[zbus(name = "setTotalAmount")]
    async fn set_total_amount(&self, amount: u64, unit: String) -> zbus::fdo::Result<()> {
        self.0.set(number(&unit_key("total", &unit)?, amount)).await
    }
    #[zbus(name = "setProcessedAmount")]
    async fn set_processed_amount(&self, amount: u64, unit: String) -> zbus::fdo::Result<()> {
        self.0.set(number(&unit_key("processed", &unit)?, amount)).await
    }
    #[zbus(name = "setPercent")]
    async fn set_percent(&self, percent: u32) -> zbus::fdo::Result<()> {
        self.0.set(number("percent", u64::from(percent))).await
    }
    #[zbus(name = "setSpeed")]
    async fn set_speed(&self, bytes_per_second: u64) -> zbus::fdo::Result<()> {
        self.0.set(number("speed", bytes_per_second)).await
    }
    #[zbus(name = "setInfoMessage")]
    async fn set_info_message(&self, message: String) -> zbus::fdo::Result<()> {
        self.0.set(text("infoMessage", message)).await
    }
    #[zbus(name = "setDescriptionField")]
    async fn set_description_field(&self, number: u32, name: String, value: String) -> zbus::fdo::Result<bool> {
        if number > 1 {
            return Ok(false);
        }
        let n = number + 1;
        let mut f = text(&format!("descriptionLabel{n}"), name);
        f.extend(text(&format!("descriptionValue{n}"), value));
        self.0.set(f).await.map(|()| true)
    }
    #[zbus(name = "clearDescriptionField")]
    async fn clear_description_field(&self, number: u32) -> zbus::fdo::Result<()> {
        if number > 1 {
            return Ok(());
        }
        let n = number + 1;
        let mut f = text(&format!("descriptionLabel{n}"), String::new());
        f.extend(text(&format!("descriptionValue{n}"), String::new()));
        self.0.set(f).await
    }
    #[zbus(name = "setDestUrl")]
    async fn set_dest_url(&self, dest_url: OwnedVariant) -> zbus::fdo::Result<()> {
        match field(&dest_url) {
            Some(Field::Text(s)) => self.0.set(text("destUrl", s)).await,
            _ => Err(zbus::fdo::Error::InvalidArgs("destUrl must be a string".into())),
        }
    }
    #[zbus(name = "setError")]
    async fn set_error(&self, error_code: u32) -> zbus::fdo::Result<()> {
        self.0.set(number("errorCode", u64::from(error_code))).await
    }

    // Its signals (`cancelRequested`, `suspendRequested`, `resumeRequested`) are emitted by the tracker on this
    // interface as on V3's; Qt's generated proxies subscribe without introspecting.
}

/// Removes a finished job's object, whichever interface it has.
pub(crate) async fn remove(server: &zbus::ObjectServer, path: &str, interface: &str) {
    let removed =
        if interface == V3 { server.remove::<Job, _>(path).await } else { server.remove::<JobV2, _>(path).await };
    if let Err(e) = removed {
        tracing::debug!(path, error = %e, "removing a job object");
    }
}
