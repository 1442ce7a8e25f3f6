//! The amount beside the steps (issue 20): its spec steps, and how reports keep or replace it.

use proptest::prelude::*;

use super::*;
use crate::enums::ProgressStatus;
use crate::model::{Amount, HandlerSpec, ItemSpec, ProgressUnit};
use crate::time::{ManualClock, SequentialIds};

fn center() -> (Center, SessionId, ItemId) {
    let mut c = Center::new(
        CenterConfig::default(),
        Box::new(ManualClock::new(Timestamp(1_000_000))),
        Box::new(SequentialIds::new(1)),
        Box::new(crate::notice::IgnoreNotices),
    );
    let h = HandlerId::new("h").expect("valid");
    c.register_handler(h.clone(), HandlerSpec { name: Some("H".into()), ..Default::default() }).expect("handler");
    let a = ItemId::new("a").expect("valid");
    c.register_item(&h, a.clone(), ItemSpec { name: Some("A".into()), ..Default::default() }).expect("item");
    let s = c.create_session(OwnerId(1), &h, std::slice::from_ref(&a)).expect("session");
    (c, s, a)
}

fn bytes(done: u64, total: u64) -> Amount {
    Amount { unit: ProgressUnit::Bytes, done, total }
}

#[test]
fn steps_are_the_amount_when_it_fits_and_scaled_when_it_does_not() {
    assert_eq!(bytes(5, 10).steps(), (5, 10));
    assert_eq!(bytes(12, 10).steps(), (10, 10));
    assert_eq!(bytes(7, 0).steps(), (7, 0));
    assert_eq!(bytes(1 << 33, 1 << 34).steps(), (1 << 30, 1 << 31));
    assert_eq!(bytes(0, u64::MAX).steps(), (0, u32::MAX));
    assert_eq!(bytes(u64::MAX, 0).steps(), (u32::MAX, 0));
}

proptest! {
    /// The steps keep the amount's fraction (to the scale's rounding), never exceed their maximum, and a known
    /// total stays known.
    #[test]
    fn steps_keep_the_fraction(done in any::<u64>(), total in any::<u64>()) {
        let (step, max) = bytes(done, total).steps();
        prop_assert_eq!(max == 0, total == 0);
        if total > 0 {
            prop_assert!(step <= max);
            let exact = done.min(total) as f64 / total as f64;
            let scaled = f64::from(step) / f64::from(max);
            prop_assert!((exact - scaled).abs() <= 2.0 / f64::from(max) + 1e-9, "{} vs {}", exact, scaled);
        }
    }
}

#[test]
fn a_report_replaces_the_amount_and_an_indeterminate_one_keeps_it() {
    let (mut c, s, a) = center();
    let h = HandlerId::new("h").expect("valid");
    c.report_progress_amount(s, &a, ProgressStatus::Updating, None, (3, 9), Some(bytes(30, 90))).expect("report");
    assert_eq!(c.session(s).expect("live").amounts.get(&a), Some(&bytes(30, 90)));
    assert_eq!(c.item_display(&h, &a).expect("item").expect("shown").amount, Some(bytes(30, 90)));
    assert_eq!(c.amount(s, &a), Some(bytes(30, 90)));
    c.report_progress_amount(s, &a, ProgressStatus::UpdatingIndeterminate, None, (0, 0), None).expect("report");
    assert_eq!(c.session(s).expect("live").amounts.get(&a), Some(&bytes(30, 90)));
    c.report_progress_amount(s, &a, ProgressStatus::Updating, None, (9, 9), Some(bytes(100, 90))).expect("report");
    assert_eq!(c.session(s).expect("live").amounts.get(&a), Some(&bytes(90, 90)), "clamped like the steps");
    c.report_progress(s, &a, ProgressStatus::Updating, None, 1, 2).expect("report");
    assert!(c.session(s).expect("live").amounts.is_empty(), "a plain report is steps again");
    assert_eq!(c.amount(s, &a), None);
    assert_eq!(c.item_display(&h, &a).expect("item").expect("shown").amount, None);
}
