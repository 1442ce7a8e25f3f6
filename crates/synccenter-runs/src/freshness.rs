//! Freshness bounds: has an item gone too long without a successful sync?
//!
//! A handler may declare that its items must succeed at least every `bound` (say, a backup every 26 h).
//! These helpers answer "is it overdue now?" and "when will it be?", so the daemon can raise an error
//! event and arm one timer instead of polling. Time is always an argument; nothing here reads a clock.

use std::time::Duration;

use synccenter_core::Timestamp;

/// Whether an item whose last success was `last_success` is overdue at `now` under `bound`.
///
/// An item that never succeeded is overdue. Use [`overdue_since`] to give a new item a grace period
/// from when it was configured. At exactly `last_success + bound` the item is not yet overdue.
pub fn overdue(last_success: Option<Timestamp>, bound: Duration, now: Timestamp) -> bool {
    match last_success {
        Some(t) => now > t.plus(bound),
        None => true,
    }
}

/// Like [`overdue`], but an item that never succeeded is measured from `since` (when it was added or
/// when the bound was configured), so a new item is not overdue at once.
pub fn overdue_since(last_success: Option<Timestamp>, since: Timestamp, bound: Duration, now: Timestamp) -> bool {
    now > due_at(last_success, since, bound)
}

/// The last instant at which the item is still fresh: `last_success + bound`, or `since + bound` when it
/// never succeeded. Saturates instead of overflowing.
pub fn due_at(last_success: Option<Timestamp>, since: Timestamp, bound: Duration) -> Timestamp {
    last_success.unwrap_or(since).plus(bound)
}

/// How long ago the last success was, or `None` if there was none. A `last_success` in the future (a
/// clock step backwards) counts as zero.
pub fn age(last_success: Option<Timestamp>, now: Timestamp) -> Option<Duration> {
    let t = last_success?;
    let micros = now.as_micros().saturating_sub(t.as_micros()).max(0);
    Some(Duration::from_micros(micros.unsigned_abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_micros(secs * 1_000_000)
    }

    #[test]
    fn overdue_after_the_bound_only() {
        assert!(!overdue(Some(t(0)), HOUR, t(3599)));
        assert!(!overdue(Some(t(0)), HOUR, t(3600)));
        assert!(overdue(Some(t(0)), HOUR, t(3601)));
        assert!(overdue(None, HOUR, t(0)));
    }

    #[test]
    fn never_succeeded_gets_a_grace_period() {
        assert!(!overdue_since(None, t(100), HOUR, t(3700)));
        assert!(overdue_since(None, t(100), HOUR, t(3701)));
        assert!(!overdue_since(Some(t(5000)), t(100), HOUR, t(8000)));
        assert_eq!(due_at(Some(t(10)), t(0), HOUR), t(3610));
    }

    #[test]
    fn extremes_saturate() {
        assert_eq!(due_at(Some(Timestamp(i64::MAX - 1)), t(0), Duration::MAX), Timestamp(i64::MAX));
        assert!(!overdue(Some(t(0)), Duration::MAX, Timestamp(i64::MAX)));
    }

    #[test]
    fn age_is_clamped() {
        assert_eq!(age(Some(t(10)), t(70)), Some(Duration::from_secs(60)));
        assert_eq!(age(Some(t(70)), t(10)), Some(Duration::ZERO));
        assert_eq!(age(None, t(10)), None);
        assert_eq!(age(Some(Timestamp(i64::MIN)), Timestamp(i64::MAX)), Some(Duration::from_micros(i64::MAX as u64)));
    }
}
