//! Timestamps and the two things the core must be given rather than take: the time and fresh IDs.
//!
//! The core never reads a clock or a random source; callers pass a `Clock` and an `IdSource`, so tests are
//! deterministic and the core stays free of I/O.

use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// A UTC instant in microseconds since the Unix epoch (§5.29: at least millisecond precision).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Timestamp(pub i64);

/// 100-ns ticks between 1601-01-01 (FILETIME epoch) and 1970-01-01.
const FILETIME_UNIX_OFFSET: i64 = 116_444_736_000_000_000;

impl Timestamp {
    /// From microseconds since the Unix epoch.
    pub const fn from_micros(us: i64) -> Self {
        Self(us)
    }

    /// Microseconds since the Unix epoch.
    pub const fn as_micros(self) -> i64 {
        self.0
    }

    /// From milliseconds since the Unix epoch.
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms * 1000)
    }

    /// As a Windows `FILETIME` (100-ns ticks since 1601-01-01 UTC).
    pub fn to_filetime(self) -> u64 {
        (self.0 * 10 + FILETIME_UNIX_OFFSET) as u64
    }

    /// From a Windows `FILETIME`; sub-microsecond ticks are dropped.
    pub fn from_filetime(ft: u64) -> Self {
        Self((ft as i64 - FILETIME_UNIX_OFFSET).div_euclid(10))
    }

    /// This instant plus `d`.
    pub fn plus(self, d: std::time::Duration) -> Self {
        Self(self.0.saturating_add(d.as_micros().min(i64::MAX as u128) as i64))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t+{}us", self.0)
    }
}

/// The source of "now".
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The source of fresh, unique 128-bit IDs (sessions, events, conflicts).
pub trait IdSource: Send + Sync {
    /// A UUID never returned before; must not be nil.
    fn next_uuid(&self) -> uuid::Uuid;
}

/// A clock that only moves when told to; for tests and simulations.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock reading `start`.
    pub fn new(start: Timestamp) -> Self {
        Self(AtomicI64::new(start.0))
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: std::time::Duration) {
        self.0.fetch_add(d.as_micros() as i64, Ordering::SeqCst);
    }

    /// Sets the clock.
    pub fn set(&self, t: Timestamp) {
        self.0.store(t.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

/// Deterministic version-4-shaped UUIDs from a counter and a seed; for tests and simulations.
#[derive(Debug, Default)]
pub struct SequentialIds {
    seed: u64,
    next: AtomicU64,
}

impl SequentialIds {
    /// IDs derived from `seed`; two sources with different seeds never collide.
    pub fn new(seed: u64) -> Self {
        Self { seed, next: AtomicU64::new(1) }
    }
}

impl IdSource for SequentialIds {
    fn next_uuid(&self) -> uuid::Uuid {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let v = ((self.seed as u128) << 64) | n as u128;
        uuid::Builder::from_u128(v).with_version(uuid::Version::Random).with_variant(uuid::Variant::RFC4122).into_uuid()
    }
}

impl<I: IdSource + ?Sized> IdSource for std::sync::Arc<I> {
    fn next_uuid(&self) -> uuid::Uuid {
        (**self).next_uuid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filetime_round_trips() {
        for us in [0, 1, 1_700_000_000_123_456, -5_000_000] {
            let t = Timestamp(us);
            assert_eq!(Timestamp::from_filetime(t.to_filetime()), t);
        }
        // 1970-01-01 is FILETIME 116444736000000000.
        assert_eq!(Timestamp(0).to_filetime(), 116_444_736_000_000_000);
    }

    #[test]
    fn sequential_ids_are_unique_and_not_nil() {
        let ids = SequentialIds::new(7);
        let a = ids.next_uuid();
        let b = ids.next_uuid();
        assert_ne!(a, b);
        assert!(!a.is_nil());
    }
}
