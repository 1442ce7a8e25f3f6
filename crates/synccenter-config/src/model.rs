//! The validated configuration: what the daemon acts on.
//!
//! Every value here has passed validation, defaults are filled in and item-level overrides are already merged
//! (an item's `schedule`, `retry` and `freshness` are the effective ones). Nothing here knows TOML; see `raw.rs`
//! for the file's shape.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use synccenter_core::{
    EventRetention, HandlerCapabilities, HandlerId, HandlerPolicies, HandlerSpec, HandlerType, ItemCapabilities,
    ItemId, ItemPolicies, ItemSpec,
};

use crate::schedule::Schedule;
use synccenter_runs::backoff::RetryPolicy;
use synccenter_runs::progress::Kind;

/// Default dashboard / HTTP API address (the value of [`DaemonConfig::default`]'s `http`).
pub const DEFAULT_HTTP: &str = "127.0.0.1:7420";
/// Default time running commands get to stop after a stop request or at shutdown.
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(10);

/// The whole configuration file, validated; the default is an empty file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// The `[daemon]` table.
    pub daemon: DaemonConfig,
    /// The `[[handler]]` tables, in file order.
    pub handlers: Vec<HandlerConfig>,
    /// The `[desktop]` table.
    pub desktop: DesktopConfig,
    /// The `[logs]` table.
    pub logs: LogsConfig,
    /// The `[retention]` table: how much event and session history is kept (`retention.rs`).
    pub retention: synccenter_core::RetentionPolicy,
}

/// The `[logs]` table: bounds of the per-run logs. A key left out keeps the daemon's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogsConfig {
    /// Bytes of one run's log (`max_per_run`).
    pub max_per_run: Option<u64>,
    /// Bytes of all run logs together (`max_total`), at least `max_per_run`.
    pub max_total: Option<u64>,
    /// Logs older than this are removed (`max_age`).
    pub max_age: Option<Duration>,
    /// How many runs' logs are kept, the newest (`max_runs`).
    pub max_runs: Option<u32>,
}

/// The smallest `max_per_run`: one whole line (64 KiB) and the notes around it.
pub const MIN_LOG_PER_RUN: u64 = 128 << 10;

/// The `[desktop]` table: the desktop part (`synccenter desktop`) that the daemon starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesktopConfig {
    /// Whether the daemon starts `synccenter desktop` when it has a session bus (`enable`, default true).
    pub enable: bool,
}

impl Default for DesktopConfig {
    fn default() -> Self {
        Self { enable: true }
    }
}

impl Config {
    /// The annotated example configuration shipped as `docs/config.example.toml` (tests keep it valid and
    /// complete); `synccenter config default` can print it.
    pub fn example_toml() -> &'static str {
        include_str!("../../../docs/config.example.toml")
    }

    /// The handler with this ID (ASCII case-insensitive).
    pub fn handler(&self, id: &str) -> Option<&HandlerConfig> {
        self.handlers.iter().find(|h| h.id.as_str().eq_ignore_ascii_case(id))
    }
}

/// The `[daemon]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonConfig {
    /// Dashboard / HTTP API address (`http`, default `127.0.0.1:7420`).
    pub http: SocketAddr,
    /// How long a command gets between SIGTERM and SIGKILL (`grace_period`, default 10 s).
    pub grace_period: Duration,
    /// A name for this machine shown in the dashboard (`host`); `None`: the system host name.
    pub host: Option<String>,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        Self { http: SocketAddr::from(([127, 0, 0, 1], 7420)), grace_period: DEFAULT_GRACE_PERIOD, host: None }
    }
}

/// `notify = "never" | "failures" | "always"`: which ends of a handler's sessions reach the person as a desktop
/// notification.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Notify {
    /// None.
    Never,
    /// A failed session, or one that ends with conflicts (the default).
    #[default]
    Failures,
    /// Every end, a success too.
    Always,
}

impl Notify {
    /// Every value, in the order the documentation lists them.
    pub const ALL: [Notify; 3] = [Notify::Never, Notify::Failures, Notify::Always];

    /// The name used in `config.toml` and on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Notify::Never => "never",
            Notify::Failures => "failures",
            Notify::Always => "always",
        }
    }

    /// The value named `name` (exactly as [`Notify::name`] spells it).
    pub fn from_name(name: &str) -> Option<Notify> {
        Notify::ALL.into_iter().find(|n| n.name() == name)
    }
}

/// Run conditions: what must hold for a scheduled run (or a retry) to start. A manual start runs regardless,
/// except that an absent target makes its item `disconnected`. All conditions must hold, unless `max_age` has
/// passed since the last success.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunConditions {
    /// Only on mains power (`on_ac_power`, default false).
    pub on_ac_power: bool,
    /// Only on a network that is not metered (`unmetered_network`, default false).
    pub unmetered_network: bool,
    /// What must be present (`requires`, `requires_mount`, `requires_uuid`).
    pub targets: Vec<Target>,
    /// Local times at which nothing starts (`quiet_hours`).
    pub quiet_hours: Option<QuietHours>,
    /// When the last success is older than this, the other conditions are ignored (`max_age`).
    pub max_age: Option<Duration>,
    /// A run going when a condition stops holding is stopped, and runs again once they hold
    /// (`stop_when_unmet`, default false: it continues).
    pub stop_when_unmet: bool,
}

impl RunConditions {
    /// Whether any condition is set (`max_age` and `stop_when_unmet` only qualify the others).
    pub fn any(&self) -> bool {
        self.on_ac_power || self.unmetered_network || !self.targets.is_empty() || self.quiet_hours.is_some()
    }
}

/// Something a run needs present.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// A path that must exist (`requires`).
    Path(PathBuf),
    /// A file system mounted exactly at this absolute path (`requires_mount`).
    Mount(PathBuf),
    /// A mounted file system with this UUID (`requires_uuid`), as `blkid` and `/dev/disk/by-uuid` spell it;
    /// compared ignoring ASCII case.
    Uuid(String),
}

/// `quiet_hours = "22:00-07:00"`: a daily span of local time, in minutes after midnight; the end is excluded,
/// and a start after the end wraps midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    /// First quiet minute of the day (0..1440).
    pub start: u16,
    /// First minute after the quiet span (0..1440), never equal to `start`.
    pub end: u16,
}

impl QuietHours {
    /// Whether `minute` (minutes after local midnight) is quiet.
    pub fn contains(self, minute: u16) -> bool {
        if self.start < self.end {
            (self.start..self.end).contains(&minute)
        } else {
            minute >= self.start || minute < self.end
        }
    }
}

impl std::fmt::Display for QuietHours {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        write!(f, "{}-{}", hm(self.start), hm(self.end))
    }
}

/// One `[[handler]]`: a group of command items shown as one handler in Sync Center.
#[derive(Debug, Clone, PartialEq)]
pub struct HandlerConfig {
    /// Handler ID.
    pub id: HandlerId,
    /// Display name.
    pub name: String,
    /// Kind of partner (`type`, default `unspecified`).
    pub handler_type: HandlerType,
    /// Comment shown when no sync runs (default empty).
    pub comment: String,
    /// Capability flags.
    pub capabilities: HandlerCapabilities,
    /// Policy flags.
    pub policies: HandlerPolicies,
    /// What a new session does to older events (default `keep`).
    pub retention: EventRetention,
    /// The handler's own schedule (items may override it; see [`ItemConfig::schedule`]).
    pub schedule: Option<Schedule>,
    /// The handler's retry policy with defaults filled in.
    pub retry: RetryPolicy,
    /// The handler's freshness requirement.
    pub freshness: Option<Duration>,
    /// When `synccenter desktop` raises a notification for the handler's sessions (`notify`).
    pub notify: Notify,
    /// Whether `synccenter desktop` keeps the machine from sleeping while the handler syncs (`inhibit_sleep`,
    /// default true).
    pub inhibit_sleep: bool,
    /// The handler's run conditions (its items inherit them).
    pub conditions: RunConditions,
    /// The exclusive group of the handler's items (`exclusive`; items may name their own).
    pub exclusive: Option<String>,
    /// The `[[handler.item]]` tables, in file order.
    pub items: Vec<ItemConfig>,
    /// 1-based line of the `[[handler]]` header, for messages.
    pub line: usize,
}

impl HandlerConfig {
    /// The registration this handler makes in the core.
    pub fn spec(&self) -> HandlerSpec {
        HandlerSpec {
            name: Some(self.name.clone()),
            handler_type: Some(self.handler_type),
            comment: Some(self.comment.clone()),
            capabilities: Some(self.capabilities),
            policies: Some(self.policies),
            retention: Some(self.retention),
            ..HandlerSpec::default()
        }
    }

    /// The item with this ID (ASCII case-insensitive).
    pub fn item(&self, id: &str) -> Option<&ItemConfig> {
        self.items.iter().find(|i| i.id.as_str().eq_ignore_ascii_case(id))
    }
}

/// One `[[handler.item]]`: a command run as a sync of one item.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemConfig {
    /// Item ID, unique within the handler.
    pub id: ItemId,
    /// Display name.
    pub name: String,
    /// Comment (default empty).
    pub comment: String,
    /// The tool, for output parsing.
    pub kind: Kind,
    /// Program then arguments; never empty, never run through a shell.
    pub command: Vec<String>,
    /// Working directory, resolved against the configuration file's directory; `None`: that directory.
    pub workdir: Option<PathBuf>,
    /// Variables added to the clean environment (`PATH`, `HOME`, `LANG`, `USER` are passed through).
    pub env: BTreeMap<String, String>,
    /// Run time after which the command is stopped and the item fails.
    pub timeout: Option<Duration>,
    /// How long a run may go without a sign of life (`WATCHDOG=1` or any other accepted `sd_notify` message,
    /// or progress in its output) before it is stopped as hung and the item fails.
    pub watchdog: Option<Duration>,
    /// Effective schedule: the item's, else the handler's, else `None` (manual only, or after other items:
    /// an item with `after` has none).
    pub schedule: Option<Schedule>,
    /// Effective retry policy: item fields over handler fields over defaults.
    pub retry: RetryPolicy,
    /// Effective freshness: the item's, else the handler's.
    pub freshness: Option<Duration>,
    /// Effective run conditions: the item's keys over the handler's; a scheduled run waits until they hold,
    /// and a run whose target is absent leaves the item `disconnected`, not failed.
    pub conditions: RunConditions,
    /// Its place in the order between syncs (`after`, `exclusive`).
    pub order: Order,
    /// Capability flags.
    pub capabilities: ItemCapabilities,
    /// Policy flags.
    pub policies: ItemPolicies,
    /// 1-based line of the `[[handler.item]]` header, for messages.
    pub line: usize,
}

impl ItemConfig {
    /// The registration this item makes in the core.
    pub fn spec(&self) -> ItemSpec {
        ItemSpec {
            name: Some(self.name.clone()),
            comment: Some(self.comment.clone()),
            capabilities: Some(self.capabilities),
            policies: Some(self.policies),
            ..ItemSpec::default()
        }
    }
}

/// An item named by its handler and its own ID.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ItemRef {
    /// The handler's ID.
    pub handler: HandlerId,
    /// The item's ID within that handler.
    pub item: ItemId,
}

impl fmt::Display for ItemRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.handler, self.item)
    }
}

/// An item's place in the order between syncs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Order {
    /// The items this one runs after (`after`), in file order, each once; empty: it runs by its own schedule.
    /// An item with `after` has no schedule: it runs once each time all of them have finished a run since its
    /// own last run, when all of them succeeded.
    pub after: Vec<ItemRef>,
    /// The exclusive group (`exclusive`, the item's else the handler's): runs of items of one group never
    /// overlap; a run whose group is busy waits, in the order the runs were started.
    pub exclusive: Option<String>,
}
