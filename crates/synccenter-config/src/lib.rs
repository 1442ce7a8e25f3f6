//! The daemon's configuration file, `config.toml`: command handlers, their items, schedules and retries.
//!
//! [`parse`] turns text into a validated [`Config`] or into every problem found, each a [`ConfigError`] naming
//! the file, the line, the column and the dotted field (`handler[1].item[0].command`). [`load`] is the only
//! function that touches the file system: it reads the file and calls [`parse`]. Nothing here runs commands,
//! watches files or reads the clock; [`Schedule`] and [`RetryPolicy`] take the time and random numbers as
//! arguments. The file format is documented in `docs/configuration.md`; `docs/config.example.toml` is the
//! annotated example, kept valid and complete by tests.

#![warn(missing_docs)]

mod duration;
mod error;
mod model;
mod order;
mod raw;
mod retention;
mod schedule;
mod validate;

use std::path::Path;

pub use duration::{DurationError, format_duration, parse_duration};
pub use error::{ConfigError, ConfigErrors};
pub use model::{
    Config, DEFAULT_GRACE_PERIOD, DEFAULT_HTTP, DaemonConfig, DesktopConfig, HandlerConfig, ItemConfig, ItemRef,
    LogsConfig, MIN_LOG_PER_RUN, Notify, Order, QuietHours, RunConditions, Target,
};
pub use schedule::{CronSchedule, Schedule, Trigger};
pub use synccenter_runs::backoff::RetryPolicy;
pub use synccenter_runs::progress::Kind;

/// Parses and validates configuration text that was read from `path`.
///
/// `path` appears in every error and is the base of relative `workdir` and `requires` paths; the file is not
/// read. All problems are reported at once, in file order.
pub fn parse(src: &str, path: &Path) -> Result<Config, ConfigErrors> {
    validate::parse_str(src, path)
}

/// Reads the file at `path` and [`parse`]s it. A file that cannot be read is one error with field `(file)`.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    match std::fs::read_to_string(path) {
        Ok(src) => parse(&src, path),
        Err(e) => Err(ConfigErrors(vec![ConfigError {
            path: path.to_path_buf(),
            line: None,
            column: None,
            field: "(file)".to_owned(),
            reason: format!("cannot read the file: {e}"),
        }])),
    }
}

/// Like [`load`], but a file that does not exist is `Ok(None)`: the default location is optional, a path given
/// with `--config` or `SYNCCENTER_CONFIG` is not (use [`load`] for that).
pub fn load_if_exists(path: &Path) -> Result<Option<Config>, ConfigErrors> {
    match std::fs::read_to_string(path) {
        Ok(src) => parse(&src, path).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(_) => load(path).map(Some),
    }
}
