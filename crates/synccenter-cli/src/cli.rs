//! The command line as clap sees it: global options, every verb and its flags. Parsing only; what a verb does
//! lives in `commands`, `watch` and `run`. The verbs are fixed by `shared/INTERFACE.md`.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use synccenter_client::{EventLevelWire, StatusWire};

/// Sync Center for every platform.
#[derive(Debug, Parser)]
#[command(name = "synccenter", version, about)]
pub(crate) struct Cli {
    /// The daemon's socket [default: $XDG_RUNTIME_DIR/synccenter/synccenter.sock].
    #[arg(long, global = true, env = "SYNCCENTER_SOCKET", value_name = "PATH")]
    pub(crate) socket: Option<PathBuf>,
    /// The data directory [default: $XDG_DATA_HOME/synccenter].
    #[arg(long, global = true, env = "SYNCCENTER_DATA_DIR", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// The store, `sqlite://PATH` or `postgres://USER@SERVER/DATABASE` shared by a fleet [default: the SQLite file
    /// in the data directory].
    #[arg(long, global = true, env = "SYNCCENTER_DATABASE", value_name = "URL")]
    pub(crate) database: Option<String>,
    /// The configuration file with command handlers [default: $XDG_CONFIG_HOME/synccenter/config.toml].
    #[arg(long, global = true, env = "SYNCCENTER_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// The dashboard's address, loopback only (used by `daemon`) [default: from config.toml, else 127.0.0.1:7420].
    #[arg(long, global = true, env = "SYNCCENTER_HTTP", value_name = "ADDR")]
    pub(crate) http: Option<String>,
    /// In a fleet: for `daemon`, this host's identity [default: the machine's host name]; for control verbs, the
    /// host that carries them out; for listing verbs, the only host to show.
    #[arg(long, global = true, env = "SYNCCENTER_HOST", value_name = "NAME")]
    pub(crate) host: Option<String>,
    /// Machine-readable output: one JSON document, or JSON lines for streams.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the Sync Center service in the foreground.
    Daemon {
        /// Only validate the configuration file, print what is wrong, and exit (0 valid, 1 not).
        #[arg(long)]
        check_config: bool,
        #[command(flatten)]
        fleet: FleetArgs,
    },
    /// Re-read the configuration file (as SIGHUP does); a refused file leaves the last good one in force.
    Reload,
    /// Run the desktop part (KDE job server) in the foreground, on the bus of DBUS_SESSION_BUS_ADDRESS.
    Desktop,
    /// Print the dashboard's address with its one-time login link (and open it with --open).
    Dashboard {
        /// Open the link in the desktop's browser (xdg-open; open on macOS; the default browser on Windows).
        #[arg(long)]
        open: bool,
    },
    /// Show the daemon's status (with `--all-hosts`, every host of the fleet and its liveness).
    Status {
        /// Every host sharing the database.
        #[arg(long)]
        all_hosts: bool,
    },
    /// List the sync handlers (partnerships).
    Handlers {
        /// Include hidden handlers.
        #[arg(long)]
        all: bool,
        /// Every host's handlers, grouped by host.
        #[arg(long)]
        all_hosts: bool,
    },
    /// List a handler's items.
    Items {
        /// The handler.
        handler: String,
        /// Include hidden items.
        #[arg(long)]
        all: bool,
    },
    /// List live sessions, or ended ones with `--history`.
    Sessions(SessionsArgs),
    /// Follow progress live until interrupted.
    Watch {
        /// Exit as soon as no session is live (at once when none is live at the start).
        #[arg(long)]
        exit_when_idle: bool,
    },
    /// Ask handlers to sync: everything, one handler, or items of one handler.
    Start {
        /// The handler; absent means every handler.
        handler: Option<String>,
        /// Items of the handler; absent means all of them.
        #[arg(requires = "handler")]
        items: Vec<String>,
        /// Wait for the syncs to finish; exit non-zero unless all succeeded.
        #[arg(long)]
        wait: bool,
        /// Do nothing for a handler that is already syncing.
        #[arg(long)]
        ignore_if_syncing: bool,
    },
    /// Stop syncs: everything, one handler, or items of one handler.
    Stop {
        /// The handler; absent means every handler.
        handler: Option<String>,
        /// Items of the handler; absent means all of them.
        #[arg(requires = "handler")]
        items: Vec<String>,
    },
    /// Enable a handler or one of its items.
    Enable(EnableArgs),
    /// Disable a handler or one of its items.
    Disable(EnableArgs),
    /// Activate a handler.
    Activate {
        /// The handler.
        handler: String,
    },
    /// Deactivate a handler.
    Deactivate {
        /// The handler.
        handler: String,
    },
    /// Pause a handler (or every handler): nothing starts until `resume` or `--until`.
    Pause {
        /// The handler.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        handler: Option<String>,
        /// Every handler.
        #[arg(long)]
        all: bool,
        /// When the pause ends by itself (RFC 3339, e.g. 2026-11-26T08:00:00Z).
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
    },
    /// Resume a paused handler (or every paused handler).
    Resume {
        /// The handler.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        handler: Option<String>,
        /// Every paused handler.
        #[arg(long)]
        all: bool,
    },
    /// Sync results (events): list, show, remove, clear.
    Results(ResultsArgs),
    /// Sync conflicts: list, show, resolve.
    Conflicts(ConflictsArgs),
    /// Report a sync from a shell script, across several invocations.
    #[command(subcommand)]
    Session(SessionCommand),
    /// Run a command as a sync session of an existing handler item.
    Run(RunArgs),
    /// Register (or update) a handler and, optionally, items of it.
    Register(RegisterArgs),
    /// Print the Healthchecks-compatible ping URL of an item (cron jobs, borgmatic, curl report through it).
    PingUrl {
        /// The handler.
        handler: String,
        /// The item.
        item: String,
    },
    /// Print the whole output of a command run (its session), or of one item of it.
    Logs {
        /// The run's session (as `sessions --history`, the run's failure event and the dashboard show it).
        session: String,
        /// Only this item's lines.
        item: Option<String>,
        /// Keep printing while the run goes; return when it has ended.
        #[arg(long)]
        follow: bool,
    },
    /// Check, back up or recover the database file (works without the daemon).
    #[command(subcommand)]
    Db(DbCommand),
    /// Register or unregister synccenter's COM server for Windows programs (Windows only; works without the daemon).
    #[command(subcommand)]
    Com(ComCommand),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub(crate) struct SessionsArgs {
    /// Ended sessions, newest first, instead of live ones.
    #[arg(long)]
    pub(crate) history: bool,
    /// Only this handler's sessions (with `--history`).
    #[arg(long, requires = "history")]
    pub(crate) handler: Option<String>,
    /// At most this many sessions (with `--history`).
    #[arg(long, requires = "history")]
    pub(crate) limit: Option<u32>,
    /// Every host's sessions, each with its host.
    #[arg(long)]
    pub(crate) all_hosts: bool,
}

/// How the daemon takes part in a fleet sharing one PostgreSQL.
#[derive(Debug, Args)]
pub(crate) struct FleetArgs {
    /// How often this host writes its heartbeat to the shared database.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = duration)]
    pub(crate) heartbeat: std::time::Duration,
    /// A host silent for this long is down: the others end its live sessions.
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = duration)]
    pub(crate) down_after: std::time::Duration,
}

fn duration(s: &str) -> Result<std::time::Duration, String> {
    synccenter_config::parse_duration(s).map_err(|e| e.to_string())
}

#[derive(Debug, Args)]
pub(crate) struct EnableArgs {
    /// The handler.
    pub(crate) handler: String,
    /// An item of it; absent means the handler itself.
    pub(crate) item: Option<String>,
}

/// An event level on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum LevelArg {
    /// Informational.
    Info,
    /// Warning.
    Warning,
    /// Error.
    Error,
}

impl From<LevelArg> for EventLevelWire {
    fn from(l: LevelArg) -> Self {
        match l {
            LevelArg::Info => EventLevelWire::Info,
            LevelArg::Warning => EventLevelWire::Warning,
            LevelArg::Error => EventLevelWire::Error,
        }
    }
}

/// A progress status on the command line: the protocol's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum StatusArg {
    /// Updating, with steps.
    Updating,
    /// Updating, without steps.
    UpdatingIndeterminate,
    /// Finished well.
    Succeeded,
    /// Finished badly.
    Failed,
    /// Stopped.
    Canceled,
    /// The partner is unreachable.
    Disconnected,
}

/// What a progress report's numbers count, on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum UnitArg {
    /// Plain steps.
    Steps,
    /// Bytes.
    Bytes,
    /// Files.
    Files,
}

impl From<UnitArg> for synccenter_client::UnitWire {
    fn from(u: UnitArg) -> Self {
        match u {
            UnitArg::Steps => Self::Steps,
            UnitArg::Bytes => Self::Bytes,
            UnitArg::Files => Self::Files,
        }
    }
}

impl From<StatusArg> for StatusWire {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::Updating => StatusWire::Updating,
            StatusArg::UpdatingIndeterminate => StatusWire::UpdatingIndeterminate,
            StatusArg::Succeeded => StatusWire::Succeeded,
            StatusArg::Failed => StatusWire::Failed,
            StatusArg::Canceled => StatusWire::Canceled,
            StatusArg::Disconnected => StatusWire::Disconnected,
        }
    }
}

/// Which events.
#[derive(Debug, Default, Args)]
pub(crate) struct EventFilterArgs {
    /// Only this handler's events.
    #[arg(long)]
    pub(crate) handler: Option<String>,
    /// Only this item's events (with `--handler`).
    #[arg(long, requires = "handler")]
    pub(crate) item: Option<String>,
    /// Only these levels (repeat or separate with commas).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub(crate) level: Vec<LevelArg>,
    /// Only events of this session.
    #[arg(long)]
    pub(crate) session: Option<String>,
    /// Only events at or after this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub(crate) since: Option<String>,
    /// Only events before this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub(crate) until: Option<String>,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct ResultsArgs {
    #[command(subcommand)]
    pub(crate) command: Option<ResultsCommand>,
    #[command(flatten)]
    pub(crate) filter: EventFilterArgs,
    /// At most this many events.
    #[arg(long)]
    pub(crate) limit: Option<u32>,
    /// Every host's events, each with its host.
    #[arg(long)]
    pub(crate) all_hosts: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ResultsCommand {
    /// Show one event.
    Show {
        /// The event ID.
        id: String,
    },
    /// Remove events (all must exist, otherwise none is removed).
    Rm {
        /// The event IDs.
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Remove every event matching the filters (all events without filters).
    Clear {
        #[command(flatten)]
        filter: EventFilterArgs,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct ConflictsArgs {
    #[command(subcommand)]
    pub(crate) command: Option<ConflictsCommand>,
    /// Only this handler's conflicts.
    #[arg(long)]
    pub(crate) handler: Option<String>,
    /// Only this item's conflicts (with `--handler`).
    #[arg(long, requires = "handler")]
    pub(crate) item: Option<String>,
    /// Every host's conflicts, each with its host.
    #[arg(long)]
    pub(crate) all_hosts: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConflictsCommand {
    /// Show one conflict with its versions.
    Show {
        /// The conflict ID.
        id: String,
    },
    /// Choose how to resolve a conflict; its owner carries it out.
    #[command(group(ArgGroup::new("choice").required(true).args(["keep", "keep_recent", "keep_other", "remove_from_sync_set"])))]
    Resolve {
        /// The conflict ID.
        id: String,
        /// Keep these versions (indexes as `conflicts show` lists them).
        #[arg(long, value_name = "INDEX", num_args = 1.., value_delimiter = ',')]
        keep: Vec<usize>,
        /// Keep the most recent version.
        #[arg(long)]
        keep_recent: bool,
        /// Keep a merged version found at PATH.
        #[arg(long, value_name = "PATH")]
        keep_other: Option<String>,
        /// Stop syncing the item.
        #[arg(long)]
        remove_from_sync_set: bool,
        /// Apply the choice to the handler's other unresolved conflicts of the same kind.
        #[arg(long)]
        apply_to_all: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum SessionCommand {
    /// Create a detached session and print its ID; it outlives this command.
    Create {
        /// The handler.
        handler: String,
        /// Its items.
        #[arg(required = true)]
        items: Vec<String>,
        /// End the session (with a warning) after this many seconds without a report [daemon default: 600].
        #[arg(long, value_name = "SECONDS")]
        lease: Option<u32>,
    },
    /// Report an item's progress; prints the stop request in force (exit 11 when one is).
    Progress {
        /// The session ID.
        session: String,
        /// The item.
        item: String,
        /// Its status.
        #[arg(value_enum)]
        status: StatusArg,
        /// Progress text (`""` clears it; absent keeps it).
        #[arg(long)]
        text: Option<String>,
        /// Current step.
        #[arg(long, requires = "max")]
        step: Option<u32>,
        /// Total steps.
        #[arg(long)]
        max: Option<u32>,
        /// What the numbers count: `--step`/`--max`, or `--done`/`--total` [default: steps].
        #[arg(long, value_enum)]
        unit: Option<UnitArg>,
        /// Done so far in the unit (up to 2^64-1; the steps are derived when `--step` is absent).
        #[arg(long, conflicts_with = "step")]
        done: Option<u64>,
        /// The whole in the unit (0: not known yet).
        #[arg(long, conflicts_with = "max")]
        total: Option<u64>,
    },
    /// Report an event (a sync result).
    Event {
        /// The session ID.
        session: String,
        /// Level.
        #[arg(long, value_enum)]
        level: LevelArg,
        /// Name.
        #[arg(long)]
        name: String,
        /// Description.
        #[arg(long)]
        description: String,
        /// The item; absent for a handler-level event.
        #[arg(long)]
        item: Option<String>,
        /// Hot-link text.
        #[arg(long)]
        link_text: Option<String>,
        /// Hot-link target.
        #[arg(long)]
        link_reference: Option<String>,
        /// Handler-private data.
        #[arg(long)]
        context: Option<String>,
    },
    /// End a session and print its outcome.
    End {
        /// The session ID.
        session: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum DbCommand {
    /// Check the database's integrity and schema version, read-only (exit 1 when damaged).
    Check {
        /// The database file [default: the daemon's, from --database or --data-dir].
        file: Option<PathBuf>,
    },
    /// Copy the database into a new file as one consistent snapshot; safe while the daemon runs.
    Backup {
        /// The database file [default: the daemon's, from --database or --data-dir].
        file: Option<PathBuf>,
        /// The new file (must not exist).
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Copy every readable row of a damaged database into a new file next to it; the original is not changed.
    Recover {
        /// The database file [default: the daemon's, from --database or --data-dir].
        file: Option<PathBuf>,
        /// The new file [default: FILE.recovered].
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Rewrite the database without its free pages, so that pruned history returns space from then on (files
    /// made before retention); the daemon must be stopped.
    Compact {
        /// The database file [default: the daemon's, from --database or --data-dir].
        file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ComCommand {
    /// Register synccenter_com.dll as synccenter's own COM class, for this user unless --machine.
    Register {
        /// Also point Windows' CLSID_SyncMgrClient at it (TreatAs), so unmodified Sync Center clients use synccenter.
        #[arg(long)]
        take_over: bool,
        /// For every user (HKEY_LOCAL_MACHINE; an administrator on Windows; what Wine needs).
        #[arg(long)]
        machine: bool,
        /// The DLL [default: synccenter_com.dll next to this synccenter executable].
        #[arg(long, value_name = "PATH")]
        dll: Option<PathBuf>,
    },
    /// Remove what `com register` wrote (and only that), the take-over included.
    Unregister {
        /// From HKEY_LOCAL_MACHINE instead of the user's classes.
        #[arg(long)]
        machine: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The handler (must be registered).
    pub(crate) handler: String,
    /// The item (must be registered).
    pub(crate) item: String,
    /// Seconds between SIGTERM and SIGKILL when a stop is requested.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub(crate) grace: u64,
    /// The command and its arguments.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub(crate) command: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct RegisterArgs {
    /// The handler ID.
    pub(crate) handler: String,
    /// Display name (required for a new handler).
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Comment.
    #[arg(long)]
    pub(crate) comment: Option<String>,
    /// Capability names (repeat or separate with commas), e.g. `supports_concurrent_sessions`.
    #[arg(long, value_delimiter = ',')]
    pub(crate) capability: Vec<String>,
    /// An item to register: `ID` or `ID=NAME` (repeatable).
    #[arg(long = "item", value_name = "ID[=NAME]")]
    pub(crate) items: Vec<String>,
}
