//! Schedule semantics with injected times: cron firings, missed intervals, jitter bounds.

use std::path::Path;
use std::time::Duration;

use synccenter_config::{CronSchedule, Schedule, Trigger, parse};
use synccenter_core::Timestamp;

const MIN: i64 = 60_000_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
/// 2024-01-01T00:00:00Z, a Monday.
const JAN1: i64 = 1_704_067_200_000_000;

fn at(us: i64) -> Timestamp {
    Timestamp::from_micros(us)
}

fn every(d: Duration) -> Schedule {
    Schedule { trigger: Trigger::Every(d), jitter: Duration::ZERO }
}

fn cron(expr: &str) -> Schedule {
    Schedule { trigger: Trigger::Cron(CronSchedule::parse(expr).unwrap()), jitter: Duration::ZERO }
}

#[test]
fn cron_next_fire_at_injected_times() {
    let s = cron("0 3 * * *");
    assert_eq!(s.next_after(at(JAN1)), Some(at(JAN1 + 3 * HOUR)));
    // Strictly after: at 03:00 exactly the next firing is tomorrow's.
    assert_eq!(s.next_after(at(JAN1 + 3 * HOUR)), Some(at(JAN1 + DAY + 3 * HOUR)));
    assert_eq!(s.next_after(at(JAN1 + 3 * HOUR + 1)), Some(at(JAN1 + DAY + 3 * HOUR)));
    // Weekdays only, every 30 minutes from 08:00 to 20:59; Saturday 2024-01-06 jumps to Monday.
    let w = cron("*/30 8-20 * * 1-5");
    assert_eq!(w.next_after(at(JAN1)), Some(at(JAN1 + 8 * HOUR)));
    assert_eq!(w.next_after(at(JAN1 + 20 * HOUR + 30 * MIN)), Some(at(JAN1 + DAY + 8 * HOUR)));
    assert_eq!(w.next_after(at(JAN1 + 5 * DAY)), Some(at(JAN1 + 7 * DAY + 8 * HOUR)));
    // Six fields: seconds first.
    let s6 = cron("30 0 3 * * *");
    assert_eq!(s6.next_after(at(JAN1)), Some(at(JAN1 + 3 * HOUR + 30_000_000)));
}

#[test]
fn interval_never_run_runs_now() {
    let s = every(Duration::from_secs(6 * 3600));
    assert_eq!(s.next_run(None, at(JAN1)), Some(at(JAN1)));
}

#[test]
fn interval_not_yet_due_waits_for_the_slot() {
    let s = every(Duration::from_secs(6 * 3600));
    assert_eq!(s.next_run(Some(at(JAN1)), at(JAN1 + HOUR)), Some(at(JAN1 + 6 * HOUR)));
}

#[test]
fn interval_missed_window_runs_once_at_start() {
    let s = every(Duration::from_secs(6 * 3600));
    let last = at(JAN1);
    // The daemon was down for three days: twelve slots were missed; the item is due once, now.
    let start = at(JAN1 + 3 * DAY);
    assert_eq!(s.next_run(Some(last), start), Some(start));
    // After that run, the next one is one interval later, not a backlog of missed slots.
    assert_eq!(s.next_run(Some(start), start), Some(at(JAN1 + 3 * DAY + 6 * HOUR)));
    // Exactly on the slot counts as due.
    assert_eq!(s.next_run(Some(last), at(JAN1 + 6 * HOUR)), Some(at(JAN1 + 6 * HOUR)));
}

#[test]
fn cron_missed_window_runs_once_at_start() {
    let s = cron("0 3 * * *");
    // Last ran Jan 1 03:00, the machine was off until Jan 4 12:00: three firings missed, one run now.
    let start = at(JAN1 + 3 * DAY + 12 * HOUR);
    assert_eq!(s.next_run(Some(at(JAN1 + 3 * HOUR)), start), Some(start));
    // Then back to the calendar.
    assert_eq!(s.next_run(Some(start), start), Some(at(JAN1 + 4 * DAY + 3 * HOUR)));
    // Never ran: no slot is known to have been missed, so wait for the next firing.
    assert_eq!(s.next_run(None, at(JAN1 + 12 * HOUR)), Some(at(JAN1 + DAY + 3 * HOUR)));
}

#[test]
fn jitter_stays_within_bounds() {
    let s = Schedule { trigger: Trigger::Every(Duration::from_secs(3600)), jitter: Duration::from_secs(300) };
    let due = at(JAN1);
    assert_eq!(s.jittered(due, 0.0), due);
    assert_eq!(s.jittered(due, 1.0), at(JAN1 + 5 * MIN));
    assert_eq!(s.jittered(due, 0.5), at(JAN1 + 150_000_000));
    for r in [-3.0, f64::NAN, 0.25, 0.999, 42.0] {
        let t = s.jittered(due, r);
        assert!(t >= due && t <= at(JAN1 + 5 * MIN), "{r}: {t:?}");
    }
    assert_eq!(every(Duration::from_secs(60)).jittered(due, 0.7), due);
}

#[test]
fn schedule_from_the_file() {
    let src = "[[handler]]\nid = \"h\"\nname = \"H\"\nschedule = { every = \"1h30m\", jitter = \"5m\" }\n";
    let config = parse(src, Path::new("c.toml")).unwrap();
    let s = config.handlers[0].schedule.clone().unwrap();
    assert_eq!(s.trigger, Trigger::Every(Duration::from_secs(5400)));
    assert_eq!(s.jitter, Duration::from_secs(300));
}
