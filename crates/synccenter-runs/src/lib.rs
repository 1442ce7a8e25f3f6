//! Command handlers, the part without I/O: what synccenter understands of an rsync, restic, rclone, borg
//! or script run, and the rules around a run.
//!
//! A command handler's sync is a child process. Something else (the runner, which owns the process) reads
//! its stdout and stderr, splits them into lines and feeds each line to a [`progress::Reader`]; the reader
//! turns the tool's own machine-readable output into [`progress::Observation`]s (progress, warnings,
//! errors, conflicts, a summary). When the process ends, [`outcome::classify`] decides the final state,
//! [`backoff::RetryPolicy`] how long to wait before the next attempt, and [`freshness`] whether an item
//! has gone too long without a success, and [`notify`] what a run says over `sd_notify`.
//!
//! Deliberately absent: no process spawning, no async runtime, no clock reads and no randomness. Time and
//! random numbers are arguments, so every rule here is a pure function, tested on captured real output
//! (`tests/data/`).

#![warn(missing_docs)]

pub mod backoff;
pub mod borg;
pub mod freshness;
pub mod notify;
pub mod outcome;
pub mod progress;
pub mod rclone;
pub mod restic;
pub mod rsync;
pub mod script;
mod units;

pub use backoff::{PolicyError, RetryPolicy};
pub use outcome::{ExitInfo, Final, Outcome, StderrTail, classify};
pub use progress::{EventText, Kind, Observation, Progress, Reader, Stream, Unit, UnknownKind};

/// A fresh reader for `kind`: here, above the readers, so that the module that defines what they share
/// ([`progress`]) does not depend on them.
pub fn reader(kind: Kind) -> Box<dyn Reader + Send> {
    match kind {
        Kind::Rsync => Box::new(rsync::RsyncReader::new()),
        Kind::Restic => Box::new(restic::ResticReader::new()),
        Kind::Rclone => Box::new(rclone::RcloneReader::new()),
        Kind::Script => Box::new(script::ScriptReader::new()),
        Kind::Borg => Box::new(borg::BorgReader::new()),
    }
}
