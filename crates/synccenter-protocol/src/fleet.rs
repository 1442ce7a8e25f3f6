//! The fleet methods: what every host of a shared database looks like from any one of them.
//!
//! A daemon on its embedded store is a fleet of one, so these methods answer everywhere; with a shared
//! PostgreSQL they read every host's rows. Each record carries the `host` it belongs to. Control methods take
//! an optional `host` instead (see `methods`), and the daemon forwards them through the database.

// A field whose name says what it is has no doc comment; docs/protocol.md describes every field.
#![allow(missing_docs)]

use serde::{Deserialize, Serialize};

use crate::methods::{ConflictInfo, EventInfo, EventsFilterParams, HandlerInfo, SessionRecordInfo};

/// `fleet.hosts`: every host and its liveness.
pub const FLEET_HOSTS: &str = "fleet.hosts";
/// `fleet.handlers`: every host's handlers.
pub const FLEET_HANDLERS: &str = "fleet.handlers";
/// `fleet.sessions`: every host's sessions, live or from history.
pub const FLEET_SESSIONS: &str = "fleet.sessions";
/// `fleet.events`: Sync Results of every host.
pub const FLEET_EVENTS: &str = "fleet.events";
/// `fleet.conflicts`: every host's conflicts.
pub const FLEET_CONFLICTS: &str = "fleet.conflicts";

/// One host as the shared database sees it.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostInfo {
    /// The host's identity.
    pub host: String,
    /// The host answering this call.
    pub this_host: bool,
    /// Heartbeats arrive within the bound.
    pub up: bool,
    /// When its daemon started.
    pub started_at: String,
    /// Its last heartbeat.
    pub seen_at: String,
    /// When another host declared it down and ended its sessions.
    pub down_since: Option<String>,
    /// Its daemon's version.
    pub version: String,
    /// Handlers it registered.
    pub handlers: usize,
    pub live_sessions: usize,
}

/// `fleet.hosts` result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetHostsResult {
    /// The answering host.
    pub host: String,
    /// True when the store is shared (PostgreSQL); false for a fleet of one.
    pub shared: bool,
    /// Every host, by name.
    pub hosts: Vec<HostInfo>,
}

/// Parameters of `fleet.handlers`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetHandlersParams {
    /// Only this host's.
    pub host: Option<String>,
    /// Include hidden handlers.
    #[serde(default)]
    pub include_hidden: bool,
}

/// A handler with its host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetHandler {
    pub host: String,
    /// The handler as `handler.list` shows it (for other hosts, `display_text` is the comment and `syncing`
    /// comes from their stored live sessions).
    #[serde(flatten)]
    pub handler: HandlerInfo,
}

/// `fleet.handlers` result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetHandlersResult {
    /// By host, then handler.
    pub handlers: Vec<FleetHandler>,
}

/// Parameters of `fleet.sessions`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetSessionsParams {
    /// Only this host's.
    pub host: Option<String>,
    /// Only live sessions (otherwise history, live ones included).
    #[serde(default)]
    pub live: bool,
    /// Only this handler's.
    pub handler: Option<String>,
    /// Only sessions started before this time (the next page).
    pub before: Option<String>,
    /// Page size (default 50, at most 1000).
    pub limit: Option<u32>,
}

/// A session with its host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetSession {
    pub host: String,
    /// The session as `sessions.history` shows it (progress of other hosts' live sessions is as of their last
    /// store flush).
    #[serde(flatten)]
    pub session: SessionRecordInfo,
}

/// `fleet.sessions` result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetSessionsResult {
    /// Newest first.
    pub sessions: Vec<FleetSession>,
}

/// Parameters of `fleet.events`: the `events.list` filter plus a host. Unknown fields are refused as in
/// `events.list` (serde's `flatten` would accept them silently, hence the hand-written `Deserialize`).
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FleetEventsParams {
    /// Only this host's.
    pub host: Option<String>,
    /// As in `events.list`.
    #[serde(flatten)]
    pub filter: EventsFilterParams,
}

impl<'de> Deserialize<'de> for FleetEventsParams {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut fields = serde_json::Map::deserialize(d)?;
        let host = match fields.remove("host") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(s),
            Some(other) => return Err(D::Error::custom(format!("host must be a string, not {other}"))),
        };
        let filter = EventsFilterParams::deserialize(serde_json::Value::Object(fields)).map_err(D::Error::custom)?;
        Ok(FleetEventsParams { host, filter })
    }
}

/// An event with its host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetEvent {
    pub host: String,
    #[serde(flatten)]
    pub event: EventInfo,
}

/// `fleet.events` result.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetEventsResult {
    /// Newest first.
    pub events: Vec<FleetEvent>,
    /// Cursor of the next page, absent on the last.
    pub next: Option<String>,
}

/// Parameters of `fleet.conflicts`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetConflictsParams {
    /// Only this host's.
    pub host: Option<String>,
}

/// A conflict with its host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetConflict {
    pub host: String,
    #[serde(flatten)]
    pub conflict: ConflictInfo,
}

/// `fleet.conflicts` result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetConflictsResult {
    /// By host, newest first.
    pub conflicts: Vec<FleetConflict>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_params_take_the_filter_and_a_host() {
        let p: FleetEventsParams = serde_json::from_str(r#"{"host":"b","handler":"h","limit":5}"#).unwrap();
        assert_eq!(p.host.as_deref(), Some("b"));
        assert_eq!(p.filter.handler.as_deref(), Some("h"));
        assert_eq!(p.filter.limit, Some(5));
    }

    #[test]
    fn events_params_refuse_unknown_fields() {
        let e = serde_json::from_str::<FleetEventsParams>(r#"{"hots":"b"}"#).unwrap_err();
        assert!(e.to_string().contains("hots"), "{e}");
    }
}
