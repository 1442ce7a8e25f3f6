//! Bounded history: how long, and how many, events and ended sessions a store keeps (issue 20).
//!
//! Nothing in the model removes old records on its own; a [`RetentionPolicy`] says what may go and
//! [`crate::Store::prune`] removes one small batch of it per call, so the caller (the daemon's background task)
//! can interleave pruning with the writes that acknowledge requests. [`plan`] is the reference semantics
//! every backend matches: which records are past the policy, oldest first.

use std::time::Duration;

use crate::enums::EventLevel;
use crate::model::{Event, SessionRecord};
use crate::text::{EventId, HandlerId, SessionId};
use crate::time::Timestamp;

const DAY: u64 = 24 * 60 * 60;

/// Bounds on one kind of record: older than `max_age` goes, and beyond the newest `max_count` per handler.
/// `None` sets no bound of that kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Keep {
    /// Records created (sessions: started) longer ago than this are removed.
    pub max_age: Option<Duration>,
    /// At most this many per handler are kept, the newest.
    pub max_count: Option<u64>,
}

impl Keep {
    /// No bound at all: everything is kept.
    pub const FOREVER: Keep = Keep { max_age: None, max_count: None };

    /// `max_age` days and `max_count` records per handler.
    pub const fn days(days: u64, max_count: u64) -> Keep {
        Keep { max_age: Some(Duration::from_secs(days * DAY)), max_count: Some(max_count) }
    }

    /// Records before this instant are past `max_age` at `now`.
    pub fn cutoff(&self, now: Timestamp) -> Option<Timestamp> {
        let age = self.max_age?.as_micros().min(i64::MAX as u128) as i64;
        Some(Timestamp::from_micros(now.as_micros().saturating_sub(age)))
    }
}

/// What history a store keeps: events per level (errors longest), and ended sessions with their items. Live
/// sessions are never removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Informational events.
    pub info: Keep,
    /// Warnings.
    pub warning: Keep,
    /// Errors.
    pub error: Keep,
    /// Ended sessions (session history).
    pub sessions: Keep,
}

impl Default for RetentionPolicy {
    /// The documented defaults (`docs/configuration.md`, `[retention]`): info 30 days, warnings 90, errors
    /// 365, sessions 90, and at most 10,000 of each per handler, so a history's size is bounded by the number
    /// of handlers whatever the report rate.
    fn default() -> Self {
        RetentionPolicy {
            info: Keep::days(30, 10_000),
            warning: Keep::days(90, 10_000),
            error: Keep::days(365, 10_000),
            sessions: Keep::days(90, 10_000),
        }
    }
}

impl RetentionPolicy {
    /// Keeps everything (what stores did before retention existed).
    pub const FOREVER: RetentionPolicy =
        RetentionPolicy { info: Keep::FOREVER, warning: Keep::FOREVER, error: Keep::FOREVER, sessions: Keep::FOREVER };

    /// The bounds of events of `level`.
    pub fn events(&self, level: EventLevel) -> Keep {
        match level {
            EventLevel::Info => self.info,
            EventLevel::Warning => self.warning,
            EventLevel::Error => self.error,
        }
    }
}

/// What one [`crate::Store::prune`] call did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Events removed.
    pub events: u64,
    /// Ended sessions removed (with their items).
    pub sessions: u64,
    /// Whether more is left to do (records past the policy, or file space still to return): call again.
    pub more: bool,
}

impl Pruned {
    /// Records removed in all.
    pub fn removed(&self) -> u64 {
        self.events + self.sessions
    }
}

/// The records past `policy` at `now`, at most `limit` in all: events first, each level's by age and then
/// per handler by count, then ended sessions; the oldest of each group first. The reference for every
/// backend's [`crate::Store::prune`]. `more` is true when the limit cut the list short.
pub fn plan<'a>(
    policy: &RetentionPolicy,
    now: Timestamp,
    events: impl IntoIterator<Item = &'a Event>,
    sessions: impl IntoIterator<Item = &'a SessionRecord>,
    limit: usize,
) -> (Vec<EventId>, Vec<SessionId>, bool) {
    let events: Vec<_> = events.into_iter().map(|e| (e.handler.clone(), e.time, e.id.0, Some(e.level))).collect();
    let ended: Vec<_> = sessions
        .into_iter()
        .filter(|r| r.ended.is_some())
        .map(|r| (r.handler.clone(), r.started_at, r.id.0, None))
        .collect();
    let mut out_events = Vec::new();
    for level in [EventLevel::Info, EventLevel::Warning, EventLevel::Error] {
        let of_level = events.iter().filter(|e| e.3 == Some(level));
        out_events.extend(past(policy.events(level), now, of_level).into_iter().map(EventId));
    }
    let mut out_sessions: Vec<SessionId> =
        past(policy.sessions, now, ended.iter()).into_iter().map(SessionId).collect();
    let more = out_events.len() + out_sessions.len() > limit;
    out_events.truncate(limit);
    out_sessions.truncate(limit - out_events.len());
    (out_events, out_sessions, more)
}

type Row = (HandlerId, Timestamp, uuid::Uuid, Option<EventLevel>);

/// The IDs of `rows` past `keep` at `now`: older than the cutoff, then beyond the newest `max_count` of
/// their handler; oldest first within each part, no ID twice.
fn past<'a>(keep: Keep, now: Timestamp, rows: impl Iterator<Item = &'a Row>) -> Vec<uuid::Uuid> {
    let mut rows: Vec<&Row> = rows.collect();
    rows.sort_by_key(|r| (r.1, r.2));
    let cutoff = keep.cutoff(now);
    let mut out: Vec<uuid::Uuid> = rows.iter().filter(|r| cutoff.is_some_and(|c| r.1 < c)).map(|r| r.2).collect();
    if let Some(max) = keep.max_count {
        let mut per_handler: std::collections::BTreeMap<&HandlerId, Vec<&Row>> = Default::default();
        for r in &rows {
            per_handler.entry(&r.0).or_default().push(r);
        }
        for list in per_handler.values() {
            let excess = list.len().saturating_sub(max.min(usize::MAX as u64) as usize);
            // Those already past the cutoff are listed above.
            out.extend(list[..excess].iter().filter(|r| cutoff.is_none_or(|c| r.1 >= c)).map(|r| r.2));
        }
    }
    out
}
