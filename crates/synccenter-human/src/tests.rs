//! The human words and the meter: examples of each rule, and arbitrary samples that must stay sane.

use proptest::prelude::*;

use super::*;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn units_read_as_units() {
    assert_eq!(bytes(0), "0 B");
    assert_eq!(bytes(1023), "1023 B");
    assert_eq!(bytes(1024), "1.0 KiB");
    assert_eq!(bytes(34_800_000), "33.2 MiB");
    assert_eq!(bytes(60_851_063), "58.0 MiB");
    assert_eq!(bytes(1024 * 1024 - 1), "1.0 MiB", "no 1024.0 KiB");
    assert_eq!(bytes(u64::MAX), "16.0 EiB");
    assert_eq!(progress(Unit::Bytes, 34_800_000, 60_000_000), "33.2 MiB of 57.2 MiB");
    assert_eq!(progress(Unit::Files, 3, 10), "3 of 10 files");
    assert_eq!(progress(Unit::Files, 1, 0), "1 file");
    assert_eq!(progress(Unit::Steps, 2, 5), "2 of 5 steps");
    assert_eq!(rate(Unit::Bytes, 12.0 * 1024.0 * 1024.0), "12.0 MiB/s");
    assert_eq!(rate(Unit::Files, 3.46), "3.5 files/s");
    assert_eq!(rate(Unit::Bytes, f64::NAN), "0 B/s");
    assert_eq!(clock(secs(42)), "0:42");
    assert_eq!(clock(secs(3 * 3600 + 61)), "3:01:01");
    assert_eq!(time_left(None), "unknown");
    assert_eq!(Unit::Bytes.name(), "bytes");
}

#[test]
fn a_steady_transfer_has_its_rate_and_time_left() {
    let mut m = Meter::new();
    let first = m.sample(secs(0), 0, 1000);
    assert_eq!(first, Estimate { rate: None, left: None }, "one sample: nothing known");
    let mut e = first;
    for t in 1..=5 {
        e = m.sample(secs(t), t * 10, 1000);
    }
    assert_eq!(e.rate, Some(10.0));
    assert_eq!(e.left, Some(secs(95)));
    assert_eq!(line(Unit::Bytes, 50, 1000, e), "50 B of 1000 B, 10 B/s, 1:35 left");
}

#[test]
fn a_growing_total_leaves_the_time_unknown_until_it_settles() {
    let mut m = Meter::new();
    for t in 0..10 {
        let e = m.sample(secs(t), t * 10, 100 + t * 50);
        assert_eq!(e.left, None, "total still growing at {t}");
    }
    assert_eq!(m.sample(secs(10), 100, 550).left, None, "changed one second ago");
    let e = m.sample(secs(12), 120, 550);
    assert_eq!(e.left, Some(secs(43)), "settled for two seconds");
    let grown = m.sample(secs(13), 130, 600);
    assert_eq!(line(Unit::Files, 130, 600, grown), "130 of 600 files, 10.0 files/s, time left unknown");
}

#[test]
fn no_progress_or_no_total_is_unknown_and_done_is_zero_left() {
    let mut m = Meter::new();
    m.sample(secs(0), 5, 0);
    assert_eq!(m.sample(secs(5), 50, 0).left, None, "no total");
    let mut m = Meter::new();
    m.sample(secs(0), 5, 10);
    assert_eq!(m.sample(secs(5), 5, 10), Estimate { rate: Some(0.0), left: None }, "stalled");
    assert_eq!(m.sample(secs(6), 10, 10).left, Some(Duration::ZERO));
    assert_eq!(line(Unit::Steps, 10, 10, m.estimate(secs(6))), "10 of 10 steps, 0.9 steps/s");
}

#[test]
fn going_back_restarts_and_old_samples_are_ignored() {
    let mut m = Meter::new();
    m.sample(secs(10), 500, 1000);
    m.sample(secs(11), 600, 1000);
    assert_eq!(m.sample(secs(5), 0, 1000).rate, Some(100.0), "a sample from the past changes nothing");
    assert_eq!(m.sample(secs(12), 10, 1000).rate, None, "a new transfer starts afresh");
}

proptest! {
    /// Whatever the samples, the meter neither panics nor says something impossible: a rate is finite and
    /// not negative, a time left is at most MAX_LEFT, and a total that changed at the last sample gives none.
    #[test]
    fn estimates_are_always_sane(samples in prop::collection::vec((0..20u64, any::<u64>(), 0..4u64), 1..40)) {
        let mut m = Meter::new();
        let (mut at, mut total) = (Duration::ZERO, 0u64);
        for (step, done, grow) in samples {
            at += Duration::from_millis(step * 250);
            let changed = grow > 0;
            total = total.saturating_add(grow * 1000);
            let e = m.sample(at, done, total);
            if let Some(r) = e.rate {
                prop_assert!(r.is_finite() && r >= 0.0);
            }
            if let Some(left) = e.left {
                prop_assert!(left <= MAX_LEFT);
                prop_assert!(!changed || done >= total || total == 0, "left given right after the total grew");
            }
            let _ = line(Unit::Bytes, done, total, e);
        }
    }

    /// Bytes read back within a tenth of a unit of the value.
    #[test]
    fn bytes_are_close(n in any::<u64>()) {
        let text = bytes(n);
        let (number, unit) = text.split_once(' ').expect("number and unit");
        let scale = match unit {
            "B" => 1.0, "KiB" => 1024f64, "MiB" => 1024f64.powi(2), "GiB" => 1024f64.powi(3),
            "TiB" => 1024f64.powi(4), "PiB" => 1024f64.powi(5), "EiB" => 1024f64.powi(6),
            other => return Err(TestCaseError::fail(format!("unit {other}"))),
        };
        let value: f64 = number.parse().expect("number");
        prop_assert!(value < 1024.0);
        prop_assert!((value * scale - n as f64).abs() <= 0.05 * scale + 0.5);
    }
}
