//! Control from the person's side (`control.*`).

use super::*;

/// `control.start` and `control.stop`: everything, a handler, or items of a handler.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlTargetParams {
    /// The host that carries it out, in a fleet; absent or this host's name: here. Another host's name
    /// forwards the call through the shared database and answers with that host's reply.
    pub host: Option<String>,
    /// The handler; absent means every handler.
    pub handler: Option<String>,
    /// Items of the handler; absent means all of them.
    pub items: Option<Vec<String>>,
    /// Flags (`ignore_if_already_syncing` for start).
    pub flags: Option<Vec<ControlFlagWire>>,
    /// A context for the start request, handed to the handler.
    pub context: Option<Value>,
}

/// `control.start` result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartResult {
    /// The start requests created; each ends with a `control.sync_result` push to this connection.
    pub requests: Vec<String>,
}

/// `control.enable`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnableParams {
    /// The host that carries it out, in a fleet; absent or this host's name: here. Another host's name
    /// forwards the call through the shared database and answers with that host's reply.
    pub host: Option<String>,
    pub handler: String,
    /// An item of it, to enable or disable the item.
    pub item: Option<String>,
    /// `true` enables.
    pub enable: bool,
    /// `noui` skips confirmations.
    pub flags: Option<Vec<ControlFlagWire>>,
}

/// `control.activate`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivateParams {
    /// The host that carries it out, in a fleet; absent or this host's name: here. Another host's name
    /// forwards the call through the shared database and answers with that host's reply.
    pub host: Option<String>,
    pub handler: String,
    /// `true` activates.
    pub activate: bool,
    /// `noui` skips confirmations.
    pub flags: Option<Vec<ControlFlagWire>>,
}

/// `control.delete_item`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteItemParams {
    /// The host that carries it out, in a fleet; absent or this host's name: here. Another host's name
    /// forwards the call through the shared database and answers with that host's reply.
    pub host: Option<String>,
    pub handler: String,
    pub item: String,
    /// `noui` skips confirmations.
    pub flags: Option<Vec<ControlFlagWire>>,
}

/// `control.pause`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PauseParams {
    /// The host that carries it out, in a fleet; absent or this host's name: here. Another host's name
    /// forwards the call through the shared database and answers with that host's reply.
    pub host: Option<String>,
    /// The handler; absent pauses every handler.
    pub handler: Option<String>,
    /// When the pause ends by itself (RFC 3339); absent: until resumed.
    pub until: Option<String>,
}

/// `control.resume`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumeParams {
    /// The host that carries it out, in a fleet; absent or this host's name: here. Another host's name
    /// forwards the call through the shared database and answers with that host's reply.
    pub host: Option<String>,
    /// The handler; absent resumes every paused handler.
    pub handler: Option<String>,
}
