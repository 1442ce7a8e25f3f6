//! The real clock and ID source the core is given: the only place the daemon reads the time for the model
//! and draws random IDs.

use std::time::{SystemTime, UNIX_EPOCH};

use synccenter_core::{Clock, IdSource, Timestamp};

/// Wall-clock time in UTC microseconds.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Timestamp::from_micros(i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
    }
}

/// Time-ordered version-7 UUIDs: the current millisecond, then random bits (increasing within this process).
/// Unpredictable like version 4, but new IDs sort after older ones, so the store's ID indexes grow at their
/// end instead of touching a random page per insert: a batch of events dirties a few pages, not one each.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomIds;

impl IdSource for RandomIds {
    fn next_uuid(&self) -> uuid_v4::Uuid {
        uuid_v4::Uuid::now_v7()
    }
}
