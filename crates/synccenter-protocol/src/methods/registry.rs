//! Handlers and items (`handler.*`, `item.*`): registration and listing.

use super::*;

/// `handler.register`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandlerRegisterParams {
    /// The handler ID.
    pub handler: String,
    /// Display name (required when new).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Kind of partner.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub handler_type: Option<HandlerTypeWire>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Handler-supplied last sync time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected: Option<bool>,
    /// Capability names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Vec<String>>,
    /// Policy names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<String>>,
    /// Event retention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionWire>,
}

/// A handler as listed.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlerInfo {
    pub handler: String,
    pub name: String,
    #[serde(rename = "type")]
    pub handler_type: HandlerTypeWire,
    pub type_label: String,
    pub comment: String,
    /// What to show now: the progress text while syncing, else the comment.
    pub display_text: String,
    pub last_sync: Option<String>,
    pub active: bool,
    pub enabled: bool,
    pub connected: bool,
    pub hidden: bool,
    /// Capability names.
    pub capabilities: Vec<String>,
    /// Policy names.
    pub policies: Vec<String>,
    /// Event retention.
    pub retention: RetentionWire,
    /// A live session exists.
    pub syncing: bool,
    /// Paused by the user: nothing starts until resumed or `paused_until`.
    #[serde(default)]
    pub paused: bool,
    /// When the pause ends by itself.
    pub paused_until: Option<String>,
    /// Declared in the configuration file: the daemon runs its commands.
    #[serde(default)]
    pub command: bool,
    /// The next scheduled run of any of its items.
    pub next_run: Option<String>,
    /// Some item has not succeeded within its freshness bound.
    #[serde(default)]
    pub overdue: bool,
    /// Why a due run of one of its command items does not start (the first such item's reason; see
    /// [`ItemInfo::waiting`]).
    pub waiting: Option<String>,
    /// Items.
    pub item_count: usize,
    /// ERROR events of the handler and its items.
    pub error_count: u64,
    /// Conflicts.
    pub conflict_count: u32,
    /// When `synccenter desktop` notifies the person of the handler's sessions: `never`, `failures` or
    /// `always`, from `config.toml` for command handlers; absent (meaning `failures`) for the others.
    pub notify: Option<String>,
    /// Whether `synccenter desktop` keeps the machine from sleeping while the handler syncs, from `config.toml`
    /// for command handlers; absent (meaning true) for the others.
    pub inhibit_sleep: Option<bool>,
}

/// `handler.list`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandlerListParams {
    /// Include hidden handlers.
    #[serde(default)]
    pub include_hidden: bool,
}

/// `handler.list` result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlerListResult {
    pub handlers: Vec<HandlerInfo>,
}

/// Parameters naming only a handler.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandlerParams {
    pub handler: String,
}

/// `handler.sync_failed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncFailedParams {
    /// The request from `handler.sync_requested`.
    pub request: String,
    /// Why.
    pub reason: String,
}

/// `item.register`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemRegisterParams {
    pub handler: String,
    /// The item ID.
    pub item: String,
    /// Attributes.
    #[serde(flatten)]
    pub fields: ItemFields,
}

/// Live progress of an item, as drawn.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressInfo {
    /// Last status.
    pub status: Option<StatusWire>,
    /// Step, absent when indeterminate.
    pub step: Option<u32>,
    /// Steps, absent when indeterminate.
    pub max_step: Option<u32>,
    pub text: String,
    /// Drawn as a marquee.
    pub indeterminate: bool,
    /// The amount in its unit, when the last report gave one (an extension).
    pub amount: Option<AmountInfo>,
}

/// An item as listed.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemInfo {
    pub item: String,
    pub name: String,
    pub type_label: String,
    pub comment: String,
    pub last_sync: Option<String>,
    pub enabled: bool,
    pub connected: bool,
    pub hidden: bool,
    /// Capability names.
    pub capabilities: Vec<String>,
    /// Policy names.
    pub policies: Vec<String>,
    /// ERROR events of the item.
    pub error_count: u64,
    /// Its next scheduled run (command items).
    pub next_run: Option<String>,
    /// It has not succeeded within its freshness bound.
    #[serde(default)]
    pub overdue: bool,
    /// Why its due run does not start (command items whose run conditions do not hold), such as `on battery`,
    /// `metered network`, `nothing is mounted at /media/usb`, `quiet hours (22:00-07:00)`, or `checking power`
    /// before the first reading.
    pub waiting: Option<String>,
    /// Progress while a live session reports it.
    pub progress: Option<ProgressInfo>,
}

/// `item.list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemListParams {
    pub handler: String,
    /// Include hidden items.
    #[serde(default)]
    pub include_hidden: bool,
}

/// `item.list` result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemListResult {
    pub items: Vec<ItemInfo>,
}
