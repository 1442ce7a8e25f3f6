//! Where Plasma (or another server) already owns KDE's names, synccenter does not fight it: a second connection
//! becomes a bus monitor (`BecomeMonitor`) and reads the job calls passing by, so that the jobs still get
//! sessions and durable Sync Results. A monitor cannot send, so stops, pauses and resumes of these jobs go
//! through the owner's own interface (Plasma), as `status` says.

use std::collections::HashMap;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use zbus::message::Type;
use zbus::{Message, OwnedObjectPath, OwnedVariant};

use crate::bus;
use crate::error::DesktopError;
use crate::kde::{self, JobMsg, V2, V3};
use crate::progress::Field;

/// Requests whose reply (the job's path) has not been seen yet, at most this many.
const MAX_PENDING: usize = 1024;

const RULES: &[&str] = &[
    "type='method_call',interface='org.kde.JobViewServerV2',member='requestView'",
    "type='method_call',interface='org.kde.JobViewServer',member='requestView'",
    "type='method_call',interface='org.kde.JobViewV3'",
    "type='method_call',interface='org.kde.JobViewV2'",
    "type='method_return'",
];

/// A `requestView` seen, waiting for its reply.
#[derive(Debug)]
struct Pending {
    app: String,
    client: String,
    interface: &'static str,
    fields: Vec<(String, Field)>,
}

/// A monitor connection to the bus at `address`, receiving the job calls from the moment this returns.
pub(crate) async fn start(address: &str) -> Result<zbus::MessageStream, DesktopError> {
    let conn = bus::builder(address)?.build().await.map_err(DesktopError::bus("connecting the monitor"))?;
    let rules: Vec<&str> = RULES.to_vec();
    conn.call_method(
        Some("org.freedesktop.DBus"),
        "/org/freedesktop/DBus",
        Some("org.freedesktop.DBus.Monitoring"),
        "BecomeMonitor",
        &(rules, 0u32),
    )
    .await
    .map_err(DesktopError::bus("becoming a monitor"))?;
    Ok(zbus::MessageStream::from(&conn))
}

/// Sends what the monitored job calls say to the tracker, until it stops.
pub(crate) async fn forward(mut stream: zbus::MessageStream, tx: mpsc::Sender<JobMsg>) {
    let mut pending: HashMap<(String, u32), Pending> = HashMap::new();
    while let Some(Ok(msg)) = stream.next().await {
        let Some(job_msg) = read(&msg, &mut pending) else { continue };
        if tx.send(job_msg).await.is_err() {
            break;
        }
    }
}

/// What one monitored message says, if it concerns a job.
fn read(msg: &Message, pending: &mut HashMap<(String, u32), Pending>) -> Option<JobMsg> {
    let h = msg.header();
    match msg.message_type() {
        Type::MethodReturn => {
            let key = (h.destination()?.to_string(), h.reply_serial()?.get());
            let p = pending.remove(&key)?;
            let path: OwnedObjectPath = msg.body().deserialize().ok()?;
            let path = path.as_str().to_owned();
            Some(JobMsg::Created { path, app: p.app, client: Some(p.client), interface: p.interface, fields: p.fields })
        }
        Type::MethodCall => {
            let (interface, member) = (h.interface()?.to_string(), h.member()?.to_string());
            let path = h.path()?.as_str().to_owned();
            if member == "requestView" {
                let client = h.sender()?.to_string();
                let p = request(msg, &interface, client)?;
                if pending.len() >= MAX_PENDING {
                    pending.clear();
                }
                pending.insert((p.client.clone(), msg.primary_header().serial_num().get()), p);
                return None;
            }
            call(msg, &interface, &member, path)
        }
        _ => None,
    }
}

fn request(msg: &Message, interface: &str, client: String) -> Option<Pending> {
    if interface == "org.kde.JobViewServerV2" {
        let (app, _, hints): (String, i32, HashMap<String, OwnedVariant>) = msg.body().deserialize().ok()?;
        Some(Pending { app, client, interface: V3, fields: kde::fields(&hints) })
    } else {
        let (app, _, _): (String, String, i32) = msg.body().deserialize().ok()?;
        Some(Pending { app, client, interface: V2, fields: Vec::new() })
    }
}

/// A job object's call as the tracker's message.
fn call(msg: &Message, interface: &str, member: &str, path: String) -> Option<JobMsg> {
    let body = msg.body();
    let update = |fields: Vec<(String, Field)>| Some(JobMsg::Update { path: path.clone(), fields });
    let one = |key: &str, f: Field| update(vec![(key.to_owned(), f)]);
    match (interface, member) {
        (V3, "update") => update(kde::fields(&body.deserialize::<HashMap<String, OwnedVariant>>().ok()?)),
        (V3, "terminate") => {
            let (code, message, _): (u32, String, HashMap<String, OwnedVariant>) = body.deserialize().ok()?;
            Some(JobMsg::Terminate { path, code: Some(code), message })
        }
        (V2, "terminate") => Some(JobMsg::Terminate { path, code: None, message: body.deserialize().ok()? }),
        (V2, "setError") => one("errorCode", Field::Number(u64::from(body.deserialize::<u32>().ok()?))),
        (V2, "setPercent") => one("percent", Field::Number(u64::from(body.deserialize::<u32>().ok()?))),
        (V2, "setSpeed") => one("speed", Field::Number(body.deserialize().ok()?)),
        (V2, "setSuspended") => one("suspended", Field::Flag(body.deserialize().ok()?)),
        (V2, "setInfoMessage") => one("infoMessage", Field::Text(body.deserialize().ok()?)),
        (V2, "setTotalAmount" | "setProcessedAmount") => {
            let (amount, unit): (u64, String) = body.deserialize().ok()?;
            let prefix = if member == "setTotalAmount" { "total" } else { "processed" };
            one(&kde::unit_key(prefix, &unit).ok()?, Field::Number(amount))
        }
        (V2, "setDescriptionField") => {
            let (n, name, value): (u32, String, String) = body.deserialize().ok()?;
            let n = (n < 2).then_some(n + 1)?;
            update(vec![
                (format!("descriptionLabel{n}"), Field::Text(name)),
                (format!("descriptionValue{n}"), Field::Text(value)),
            ])
        }
        _ => None,
    }
}
