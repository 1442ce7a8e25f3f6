//! When items run: [`Schedule`] (interval or cron). How failures are retried is `synccenter_runs::backoff`.
//!
//! Everything here is a pure function of its inputs. The current time and any random number are arguments, so
//! the daemon's scheduler (which owns the clock and the RNG) and the tests get the same answers. This module does
//! not sleep, spawn or remember anything: the caller keeps the last run time.
//!
//! Cron expressions are evaluated in UTC (see `docs/configuration.md`).

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use synccenter_core::Timestamp;

/// A parsed cron expression (5 fields, or 6 with seconds first), evaluated in UTC.
#[derive(Clone)]
pub struct CronSchedule {
    text: String,
    cron: Box<Cron>,
}

impl CronSchedule {
    /// Parses `min hour day-of-month month day-of-week`, or the same with a leading seconds field.
    ///
    /// Names (`MON`, `JAN`) and nicknames (`@daily`) are accepted. An expression that never fires (such as
    /// `0 0 30 2 *`) is refused.
    pub fn parse(text: &str) -> Result<Self, String> {
        let fields = text.split_whitespace().count();
        if !text.trim_start().starts_with('@') && !(5..=6).contains(&fields) {
            return Err(format!(
                "cron expression {text:?} has {fields} fields; write 5 (\"min hour day month weekday\", such as \"0 3 * * *\") or 6 (seconds first)"
            ));
        }
        let parser = CronParser::builder().seconds(Seconds::Optional).year(Year::Disallowed).build();
        let cron = parser.parse(text).map_err(|e| format!("invalid cron expression {text:?}: {e}"))?;
        let schedule = Self { text: text.to_owned(), cron: Box::new(cron) };
        // A valid expression fires at least once in any 28-year span (the calendar's period); look from 2000.
        if schedule.next_after(Timestamp::from_micros(946_684_800_000_000)).is_none() {
            return Err(format!("cron expression {text:?} never fires"));
        }
        Ok(schedule)
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first firing strictly after `after`, or `None` if there is none (or it is beyond year 9999).
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        let start: DateTime<Utc> = DateTime::from_timestamp_micros(after.as_micros())?;
        let next = self.cron.find_next_occurrence(&start, false).ok()?;
        Some(Timestamp::from_micros(next.timestamp_micros()))
    }
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CronSchedule({:?})", self.text)
    }
}

impl PartialEq for CronSchedule {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for CronSchedule {}

/// How runs are spaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// A fixed interval counted from the start of the previous run (`every = "6h"`).
    Every(Duration),
    /// A cron expression in UTC (`cron = "0 3 * * *"`).
    Cron(CronSchedule),
}

/// When an item runs automatically: a [`Trigger`] plus a random delay of up to `jitter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Interval or cron.
    pub trigger: Trigger,
    /// Upper bound of the random delay added to each due time (zero: none).
    pub jitter: Duration,
}

impl Schedule {
    /// The next slot strictly after `after`: `after + every` for an interval, the next firing for cron.
    ///
    /// `None` only for a cron expression with no firing after `after` (out of calendar range).
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        match &self.trigger {
            Trigger::Every(every) => Some(after.plus(*every)),
            Trigger::Cron(cron) => cron.next_after(after),
        }
    }

    /// When the item is due, given the start of its last scheduled run (`None`: never ran) and `now`.
    ///
    /// Missed runs are caught up **once**: if one or more slots passed since `last_run` (the daemon was down,
    /// the machine slept), the answer is `now`, never one run per missed slot. Otherwise it is the next slot.
    ///
    /// - Interval, never ran: `now` (a new item runs at start).
    /// - Interval, ran at `l`: `l + every` if that is still in the future, else `now`.
    /// - Cron, never ran: the next firing after `now` (no slot is known to have been missed).
    /// - Cron, ran at `l`: the first firing after `l` if it is in the future, else `now`.
    ///
    /// The result has no jitter; pass it to [`Schedule::jittered`]. `None` only when a cron expression has no
    /// further firing.
    pub fn next_run(&self, last_run: Option<Timestamp>, now: Timestamp) -> Option<Timestamp> {
        match (&self.trigger, last_run) {
            (Trigger::Every(_), None) => Some(now),
            (Trigger::Cron(cron), None) => cron.next_after(now),
            (_, Some(last)) => {
                let slot = self.next_after(last)?;
                Some(if slot <= now { now } else { slot })
            }
        }
    }

    /// `at` delayed by `random × jitter`; `random` is a number in `[0, 1]` drawn by the caller (clamped).
    pub fn jittered(&self, at: Timestamp, random: f64) -> Timestamp {
        let r = if random.is_nan() { 0.0 } else { random.clamp(0.0, 1.0) };
        at.plus(self.jitter.mul_f64(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_field_counts() {
        assert!(CronSchedule::parse("0 3 * * *").is_ok());
        assert!(CronSchedule::parse("30 0 3 * * *").is_ok());
        assert!(CronSchedule::parse("@daily").is_ok());
        assert!(CronSchedule::parse("0 3 * *").unwrap_err().contains("4 fields"));
        assert!(CronSchedule::parse("0 0 3 * * * 2030").unwrap_err().contains("7 fields"));
        assert!(CronSchedule::parse("61 3 * * *").is_err());
        assert!(CronSchedule::parse("0 0 30 2 *").unwrap_err().contains("never fires"));
    }
}
