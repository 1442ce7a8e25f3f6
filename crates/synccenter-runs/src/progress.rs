//! The common language of command output: every tool reader turns lines into [`Observation`]s.
//!
//! A [`Reader`] is a small state machine fed one line at a time (`line`) and told when the process has
//! ended (`finish`). It never fails: output it does not understand becomes [`Observation::Log`], and a
//! malformed line of a machine-readable protocol becomes a [`Observation::Warning`] that says so. Lines
//! arrive without their terminator. Readers that deal with carriage-return progress (rsync) accept either
//! one `\r`- or `\n`-terminated chunk per call or a whole `\n` line with embedded `\r`s.
//!
//! This module also maps a [`Progress`] onto Sync Center's `(step, max_step)` pair and a human text. It
//! does not decide what a run's end means; that is [`crate::outcome`].

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use synccenter_core::{Amount, EventLevel, ProgressUnit};

use crate::units;

/// Which output stream of the child process a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// What a [`Progress`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    /// Bytes transferred or processed.
    Bytes,
    /// Files (or items) completed.
    Files,
    /// Percent, `done` in `0..=100` of a `total` of 100.
    Percent,
}

/// How far a run has come, as the tool reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Units done so far.
    pub done: u64,
    /// Units to do, when the tool knows (or, for rsync, when it can be estimated).
    pub total: Option<u64>,
    /// What `done` and `total` count.
    pub unit: Unit,
    /// Units per second, when the tool reports or implies it.
    pub rate: Option<u64>,
    /// Time remaining, when the tool estimates it.
    pub eta: Option<Duration>,
    /// The tool's own context (current file, counters); may be empty.
    pub text: String,
}

/// One fact read from a command's output.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    /// The run advanced.
    Progress(Progress),
    /// A new progress text without numbers (Sync Center's handler progress text).
    Text {
        /// The text to show.
        text: String,
    },
    /// Something worth an event that did not make the run fail by itself.
    Warning {
        /// The tool's message.
        message: String,
    },
    /// An error the tool reported, optionally about one path.
    Error {
        /// The tool's message.
        message: String,
        /// The file or object concerned, when the tool names one.
        path: Option<String>,
    },
    /// Two or more versions of one item that the tool could not reconcile.
    Conflict {
        /// The item in conflict.
        path: String,
        /// What happened, in the tool's words.
        description: String,
        /// `(location, detail)` for each version, as far as the tool says.
        versions: Vec<(String, String)>,
    },
    /// The tool's own end-of-run totals.
    Summary {
        /// A one-line human summary.
        text: String,
        /// Files processed or transferred (see each reader for which).
        files: Option<u64>,
        /// Bytes processed or transferred (see each reader for which).
        bytes: Option<u64>,
        /// Errors counted.
        errors: Option<u64>,
    },
    /// Output with no meaning to synccenter; kept for the log.
    Log {
        /// The line, clipped.
        line: String,
    },
}

/// An event for a person: see [`Observation::event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventText {
    /// How serious it is.
    pub level: EventLevel,
    /// The kind of event, a few words.
    pub name: &'static str,
    /// The detail, in the tool's words.
    pub description: String,
    /// The file or object concerned, when the tool names one.
    pub context: Option<String>,
}

/// Turns a command's output, line by line, into observations. Never panics, never fails.
pub trait Reader {
    /// One line of output without its terminator (see the module docs for `\r`).
    fn line(&mut self, stream: Stream, line: &str) -> Vec<Observation>;
    /// The process has ended and both streams are drained: flush anything pending (a summary, a half-read
    /// conflict).
    fn finish(&mut self) -> Vec<Observation>;
}

/// The kinds of command handler synccenter knows how to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `rsync` with `--info=progress2 --itemize-changes` (see [`crate::rsync`]).
    Rsync,
    /// `restic backup --json` (see [`crate::restic`]).
    Restic,
    /// `rclone` with `--use-json-log --stats 1s --stats-log-level NOTICE` (see [`crate::rclone`]).
    Rclone,
    /// Any program speaking the `@synccenter` line protocol (see [`crate::script`]).
    Script,
    /// `borg create --progress --log-json --json` (see [`crate::borg`]).
    Borg,
}

/// A handler kind name that is not one of `rsync`, `restic`, `rclone`, `script`, `borg`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown command kind {name:?}; expected one of rsync, restic, rclone, script, borg")]
pub struct UnknownKind {
    /// The name given, clipped to 64 bytes.
    pub name: String,
}

impl Kind {
    /// Every kind, in documentation order.
    pub const ALL: [Kind; 5] = [Kind::Rsync, Kind::Restic, Kind::Rclone, Kind::Script, Kind::Borg];

    /// The kind called `name` in the configuration (`rsync`, `restic`, `rclone`, `script`, `borg`; exact,
    /// lower case).
    pub fn from_name(name: &str) -> Result<Kind, UnknownKind> {
        match name {
            "rsync" => Ok(Kind::Rsync),
            "restic" => Ok(Kind::Restic),
            "rclone" => Ok(Kind::Rclone),
            "script" => Ok(Kind::Script),
            "borg" => Ok(Kind::Borg),
            other => Err(UnknownKind { name: units::clip_to(other, 64).to_owned() }),
        }
    }

    /// The configuration name of this kind.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Rsync => "rsync",
            Kind::Restic => "restic",
            Kind::Rclone => "rclone",
            Kind::Script => "script",
            Kind::Borg => "borg",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::from_name(s)
    }
}

/// The `max_step` used when a total does not fit in `u32` and has to be scaled.
pub const SCALED_MAX_STEP: u32 = 1_000_000;

impl Progress {
    /// Sync Center's `(step, max_step)` for this progress.
    ///
    /// A total that fits in `u32` is used as is; a larger one is scaled to [`SCALED_MAX_STEP`] (parts per
    /// million), with 128-bit arithmetic so nothing overflows. `step` never exceeds `max_step`. An unknown
    /// or zero total gives `(0, 0)`, which Sync Center shows as indeterminate; [`Unit::Percent`] without a
    /// total is read as out of 100.
    pub fn steps(&self) -> (u32, u32) {
        let total = match (self.total, self.unit) {
            (Some(t), _) => t,
            (None, Unit::Percent) => 100,
            (None, _) => return (0, 0),
        };
        if total == 0 {
            return (0, 0);
        }
        let done = self.done.min(total);
        match u32::try_from(total) {
            Ok(max) => (done as u32, max),
            Err(_) => {
                let step = u128::from(done) * u128::from(SCALED_MAX_STEP) / u128::from(total);
                (step as u32, SCALED_MAX_STEP)
            }
        }
    }

    /// The amount in its unit for Sync Center (bytes as bytes, files as files, `u64`), or `None` for a
    /// percentage, which the steps say as well.
    pub fn amount(&self) -> Option<Amount> {
        let unit = match self.unit {
            Unit::Bytes => ProgressUnit::Bytes,
            Unit::Files => ProgressUnit::Files,
            Unit::Percent => return None,
        };
        Some(Amount { unit, done: self.done, total: self.total.unwrap_or(0) })
    }

    /// A human line: `1.2 GiB of 3.4 GiB, 12.0 MiB/s, ETA 0:42`, followed by ` · ` and the tool's text
    /// when there is one.
    pub fn human(&self) -> String {
        let mut out = match (self.unit, self.total) {
            (Unit::Bytes, Some(t)) => format!("{} of {}", units::bytes(self.done), units::bytes(t)),
            (Unit::Bytes, None) => units::bytes(self.done),
            (Unit::Files, Some(t)) => format!("{} of {} files", self.done, t),
            (Unit::Files, None) => format!("{} files", self.done),
            (Unit::Percent, Some(t)) if t != 100 => format!("{} of {}", self.done, t),
            (Unit::Percent, _) => format!("{}%", self.done),
        };
        if let Some(rate) = self.rate {
            match self.unit {
                Unit::Bytes => out.push_str(&format!(", {}/s", units::bytes(rate))),
                Unit::Files => out.push_str(&format!(", {rate} files/s")),
                Unit::Percent => {}
            }
        }
        if let Some(eta) = self.eta {
            out.push_str(&format!(", ETA {}", units::clock(eta)));
        }
        if !self.text.is_empty() {
            out.push_str(" · ");
            out.push_str(&self.text);
        }
        out
    }
}

impl Observation {
    /// A [`Observation::Log`] of `line`, clipped.
    pub(crate) fn log(line: &str) -> Observation {
        Observation::Log { line: units::clip(line) }
    }

    /// A [`Observation::Warning`], clipped.
    pub(crate) fn warning(message: &str) -> Observation {
        Observation::Warning { message: units::clip(message) }
    }

    /// A [`Observation::Error`], clipped.
    pub(crate) fn error(message: &str, path: Option<&str>) -> Observation {
        Observation::Error { message: units::clip(message), path: path.map(units::clip) }
    }

    /// The event a person sees for this observation, if it is one: a short name that says what kind of
    /// thing happened ("Tool error", "Warning", "Transfer summary", "Conflict"), the tool's words in the
    /// description. Progress, text, log lines and conflicts with versions (reported as conflicts) are not
    /// events.
    pub fn event(&self) -> Option<EventText> {
        let (level, name, description, context) = match self {
            Observation::Warning { message } => (EventLevel::Warning, "Warning", message.clone(), None),
            Observation::Error { message, path } => (EventLevel::Error, "Tool error", message.clone(), path.clone()),
            Observation::Summary { text, .. } => (EventLevel::Info, "Transfer summary", text.clone(), None),
            Observation::Conflict { path, description, versions } if versions.len() < 2 => {
                (EventLevel::Warning, "Conflict", format!("{path}: {description}"), None)
            }
            _ => return None,
        };
        Some(EventText { level, name, description, context })
    }

    /// What this observation means when it was read after synccenter began stopping the run (a person's
    /// stop or pause, the time limit, the watchdog): what a tool prints as it dies (rsync's `received
    /// SIGINT, SIGTERM, or SIGHUP (code 20)`, borg's `Received SIGTERM`) and a half run's totals are not
    /// the person's business, so errors, warnings and summaries become log lines. The rest is kept.
    pub fn after_stop(self) -> Observation {
        match self {
            Observation::Error { message: line, .. }
            | Observation::Warning { message: line }
            | Observation::Summary { text: line, .. } => Observation::Log { line },
            other => other,
        }
    }

    /// The progress, if this is one.
    pub fn as_progress(&self) -> Option<&Progress> {
        match self {
            Observation::Progress(p) => Some(p),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(done: u64, total: Option<u64>, unit: Unit) -> Progress {
        Progress { done, total, unit, rate: None, eta: None, text: String::new() }
    }

    #[test]
    fn kind_names_round_trip() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_name(k.name()), Ok(k));
            assert_eq!(k.to_string().parse::<Kind>(), Ok(k));
        }
        let err = Kind::from_name("unison").unwrap_err();
        assert_eq!(err.name, "unison");
        assert!(err.to_string().contains("rsync, restic, rclone, script, borg"));
        assert!(Kind::from_name("RSYNC").is_err());
    }

    #[test]
    fn steps_use_small_totals_as_is() {
        assert_eq!(p(3, Some(10), Unit::Files).steps(), (3, 10));
        assert_eq!(p(12, Some(10), Unit::Files).steps(), (10, 10));
        assert_eq!(p(45, None, Unit::Percent).steps(), (45, 100));
        assert_eq!(p(5, None, Unit::Bytes).steps(), (0, 0));
        assert_eq!(p(5, Some(0), Unit::Bytes).steps(), (0, 0));
    }

    #[test]
    fn bytes_and_files_keep_their_unit_and_percent_is_steps() {
        let big = 5 * 1024 * 1024 * 1024_u64;
        let bytes = p(big / 2, Some(big), Unit::Bytes).amount();
        assert_eq!(bytes, Some(Amount { unit: ProgressUnit::Bytes, done: big / 2, total: big }));
        let files = p(3, None, Unit::Files).amount();
        assert_eq!(files, Some(Amount { unit: ProgressUnit::Files, done: 3, total: 0 }), "total not known: 0");
        assert_eq!(p(45, None, Unit::Percent).amount(), None);
    }

    #[test]
    fn steps_scale_large_totals_without_overflow() {
        let total = 3 * 1024 * 1024 * 1024 * 1024_u64;
        assert_eq!(p(total / 2, Some(total), Unit::Bytes).steps(), (500_000, SCALED_MAX_STEP));
        assert_eq!(p(u64::MAX, Some(u64::MAX), Unit::Bytes).steps(), (SCALED_MAX_STEP, SCALED_MAX_STEP));
        assert_eq!(p(u64::MAX - 1, Some(u64::MAX), Unit::Bytes).steps().0, 999_999);
    }

    #[test]
    fn human_text() {
        let mut x = p(1_288_490_189, Some(3_650_722_202), Unit::Bytes);
        x.rate = Some(12 * 1024 * 1024);
        x.eta = Some(Duration::from_secs(42));
        assert_eq!(x.human(), "1.2 GiB of 3.4 GiB, 12.0 MiB/s, ETA 0:42");
        let mut y = p(3, Some(10), Unit::Files);
        y.text = "copying photos".into();
        assert_eq!(y.human(), "3 of 10 files · copying photos");
        assert_eq!(p(45, Some(100), Unit::Percent).human(), "45%");
    }

    proptest::proptest! {
        #[test]
        fn steps_never_exceed_max(done: u64, total: Option<u64>) {
            let (s, m) = p(done, total, Unit::Bytes).steps();
            proptest::prop_assert!(s <= m);
        }
    }
}
