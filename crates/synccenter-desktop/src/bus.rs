//! The session bus: connecting to `DBUS_SESSION_BUS_ADDRESS`, claiming names without queueing (a name someone
//! else holds stays theirs), saying who owns a name, and noticing connections that leave the bus (so a KDE
//! client that dies mid-job is not left running forever).

use futures_util::StreamExt;
use tokio::sync::mpsc;
use zbus::fdo::{RequestNameFlags, RequestNameReply};
use zbus::{Connection, Message};

use crate::error::DesktopError;
use crate::kde::JobMsg;

const DBUS: &str = "org.freedesktop.DBus";
const DBUS_PATH: &str = "/org/freedesktop/DBus";

/// A connection builder for the bus at `address`.
pub(crate) fn builder(address: &str) -> Result<zbus::connection::Builder<'static>, DesktopError> {
    Ok(zbus::connection::Builder::address(address))
}

/// Asks for `name` without queueing; true when this connection owns it now.
pub(crate) async fn claim(conn: &Connection, name: &'static str) -> Result<bool, DesktopError> {
    match conn.request_name_with_flags(name, RequestNameFlags::DO_NOT_QUEUE).await {
        Ok(reply) => Ok(matches!(reply, RequestNameReply::PrimaryOwner | RequestNameReply::AlreadyOwner)),
        // zbus answers a taken name with an error rather than `Exists`.
        Err(zbus::Error::NameTaken) => Ok(false),
        Err(e) => Err(DesktopError::bus("requesting a name")(e)),
    }
}

async fn ask_bus(conn: &Connection, member: &'static str, arg: String) -> Option<Message> {
    conn.call_method(Some(DBUS), DBUS_PATH, Some(DBUS), member, &(arg,)).await.ok()
}

/// The unique name of `name`'s owner, if it has one.
pub(crate) async fn unique_owner(conn: &Connection, name: &str) -> Option<String> {
    ask_bus(conn, "GetNameOwner", name.to_owned()).await?.body().deserialize().ok()
}

/// Who owns `name`: its unique name and, when the bus says, its process ID and command.
pub(crate) async fn owner_of(conn: &Connection, name: &str) -> Option<String> {
    let unique = unique_owner(conn, name).await?;
    let pid: Option<u32> = match ask_bus(conn, "GetConnectionUnixProcessID", unique.clone()).await {
        Some(reply) => reply.body().deserialize().ok(),
        None => None,
    };
    Some(match pid {
        Some(pid) => match std::fs::read_to_string(format!("/proc/{pid}/comm")) {
            Ok(comm) => format!("{unique} (pid {pid}, {})", comm.trim()),
            Err(_) => format!("{unique} (pid {pid})"),
        },
        None => unique,
    })
}

/// The `NameOwnerChanged` signals of `conn`'s bus, from the moment this returns.
pub(crate) async fn departures(conn: &Connection) -> Result<zbus::MessageStream, DesktopError> {
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .sender(DBUS)
        .interface(DBUS)
        .member("NameOwnerChanged")
        .build()
        .map_err(DesktopError::bus("a match rule"))?;
    zbus::MessageStream::for_match_rule(rule, conn, None).await.map_err(DesktopError::bus("watching names"))
}

/// Sends [`JobMsg::ClientGone`] for every unique name that leaves the bus, until the tracker stops.
pub(crate) async fn forward_departures(mut stream: zbus::MessageStream, tx: mpsc::Sender<JobMsg>) {
    while let Some(Ok(msg)) = stream.next().await {
        if let Some(client) = departed(&msg)
            && tx.send(JobMsg::ClientGone { client }).await.is_err()
        {
            break;
        }
    }
}

/// The unique name a `NameOwnerChanged` signal says has left, if it says that.
pub(crate) fn departed(msg: &zbus::Message) -> Option<String> {
    let (name, old, new): (String, String, String) = msg.body().deserialize().ok()?;
    (name.starts_with(':') && name == old && new.is_empty()).then_some(name)
}

/// A future that completes when `conn` closes (the bus went away): a stream of a signal the bus never sends
/// ends, as every stream of a connection does, when the connection's socket does.
pub(crate) async fn closed(conn: &Connection) -> Result<impl Future<Output = ()> + use<>, DesktopError> {
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .sender("org.freedesktop.DBus")
        .member("NameOwnerChanged")
        .arg(0, "org.freedesktop.DBus")
        .build()
        .map_err(DesktopError::bus("a match rule"))?;
    let mut stream = zbus::MessageStream::for_match_rule(rule, conn, None)
        .await
        .map_err(DesktopError::bus("watching the bus connection"))?;
    Ok(async move { while let Some(Ok(_)) = stream.next().await {} })
}
