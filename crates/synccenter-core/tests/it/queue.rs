//! The per-handler queue of start requests (§1.4, §5.19–5.21): a handler without concurrent sessions is
//! busy while it has a live session or a dispatched request no session took yet; requests behind it wait in
//! order and are dispatched one at a time when it stops being busy; a dispatched request no session serves
//! within the hand-off timeout ends failed at `tick`.

use std::time::Duration;

use synccenter_core::{
    AlwaysConfirm, ControlFlags, EventLevel, HResult, ItemCapabilities, ItemSpec, Notice, ProgressStatus, RequestId,
    SyncControlFlags, SyncResult,
};

use crate::support::{Fx, assert_refused, handler_spec, hid, ids, iid, sync_requests};

fn start(fx: &mut Fx, handler: &str, items: &[&str]) -> RequestId {
    fx.c.start_items(&hid(handler), &ids(items), SyncControlFlags::empty(), None).expect("start")
}

fn finished(notices: &[Notice]) -> Vec<(RequestId, SyncResult)> {
    notices
        .iter()
        .filter_map(|n| match n {
            Notice::RequestFinished { request, result, .. } => Some((*request, *result)),
            _ => None,
        })
        .collect()
}

/// (request, dispatched) for every unfinished request.
fn waiting(fx: &Fx) -> Vec<(RequestId, bool)> {
    fx.c.requests().into_iter().map(|r| (r.id, r.dispatched)).collect()
}

fn req(h: &str, items: &[&str]) -> (String, Vec<String>) {
    (h.to_owned(), items.iter().map(|s| (*s).to_owned()).collect())
}

/// A session of `OWNER` over `items` of handler "H" that ends with every item succeeded.
fn serve(fx: &mut Fx, items: &[&str]) {
    let s = fx.session(items);
    for i in items {
        fx.c.report_progress(s, &iid(i), ProgressStatus::Succeeded, None, 0, 0).expect("progress");
    }
    fx.c.end_session(s).expect("end");
}

#[test]
fn a_request_waits_while_an_earlier_one_has_no_session_yet_then_they_go_one_at_a_time() {
    let mut fx = Fx::new();
    let r1 = start(&mut fx, "H", &["A"]);
    let r2 = start(&mut fx, "H", &["B"]);
    let r3 = start(&mut fx, "H", &["C"]);
    assert_eq!(sync_requests(&fx.take_notices()), [req("H", &["A"])], "only the first is handed to the handler");
    assert_eq!(waiting(&fx), [(r1, true), (r2, false), (r3, false)]);

    serve(&mut fx, &["A"]);
    let notices = fx.take_notices();
    assert_eq!(sync_requests(&notices), [req("H", &["B"])], "the next one, and only it");
    assert_eq!(finished(&notices).iter().map(|(r, _)| *r).collect::<Vec<_>>(), [r1]);
    assert_eq!(waiting(&fx), [(r2, true), (r3, false)]);

    serve(&mut fx, &["B"]);
    assert_eq!(sync_requests(&fx.take_notices()), [req("H", &["C"])]);
    assert_eq!(waiting(&fx), [(r3, true)]);
}

#[test]
fn a_live_session_keeps_the_queue_waiting_even_when_its_request_is_fully_served() {
    let mut fx = Fx::new();
    let r1 = start(&mut fx, "H", &["A"]);
    let s = fx.session(&["A"]);
    let r2 = start(&mut fx, "H", &["B"]);
    let r3 = start(&mut fx, "H", &["C"]);
    fx.take_notices();
    assert_eq!(waiting(&fx), [(r1, true), (r2, false), (r3, false)]);

    // Stopping C ends r3 (canceled) and looks at the queue again: B must still wait for the session.
    fx.c.stop_items(&fx.h(), &[iid("C")]).expect("stop C");
    let notices = fx.take_notices();
    assert_eq!(finished(&notices).iter().map(|(r, _)| *r).collect::<Vec<_>>(), [r3]);
    assert!(sync_requests(&notices).is_empty(), "nothing dispatched while a session is live: {notices:?}");
    assert_eq!(waiting(&fx), [(r1, true), (r2, false)]);

    fx.c.report_progress(s, &iid("A"), ProgressStatus::Succeeded, None, 0, 0).expect("progress");
    fx.c.end_session(s).expect("end");
    assert_eq!(sync_requests(&fx.take_notices()), [req("H", &["B"])]);
}

#[test]
fn another_handlers_queue_neither_holds_nor_is_dispatched_by_this_one() {
    let mut fx = Fx::new();
    fx.add_handler("H2", handler_spec("Handler H2"), &["X", "Y"]);
    let x = start(&mut fx, "H2", &["X"]);
    let y = start(&mut fx, "H2", &["Y"]);
    assert_eq!(waiting(&fx), [(x, true), (y, false)]);
    fx.take_notices();

    let a = start(&mut fx, "H", &["A"]);
    assert_eq!(sync_requests(&fx.take_notices()), [req("H", &["A"])], "H is not busy because H2 is");
    assert_eq!(waiting(&fx), [(x, true), (y, false), (a, true)]);

    serve(&mut fx, &["A"]);
    let notices = fx.take_notices();
    assert!(sync_requests(&notices).is_empty(), "H's session ending dispatches nothing of H2: {notices:?}");
    assert_eq!(waiting(&fx), [(x, true), (y, false)]);
}

#[test]
fn a_failed_synchronize_fails_the_request_with_an_error_and_dispatches_the_next() {
    let mut fx = Fx::new();
    let r1 = start(&mut fx, "H", &["A", "B"]);
    let r2 = start(&mut fx, "H", &["C"]);
    fx.take_notices();
    fx.c.take_changes();

    fx.c.fail_request(r1, "the server refused").expect("fail");
    let notices = fx.take_notices();
    let results = finished(&notices);
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].0, r1);
    assert_eq!(results[0].1.status, ProgressStatus::Failed);
    assert_eq!(results[0].1.errors, 1, "the failure counts as one error");
    assert_eq!(sync_requests(&notices), [req("H", &["C"])]);
    assert_eq!(waiting(&fx), [(r2, true)]);

    let events: Vec<_> =
        fx.c.take_changes()
            .into_iter()
            .filter_map(|c| match c {
                synccenter_core::Change::EventAdded(e) => Some(e),
                _ => None,
            })
            .collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].level, EventLevel::Error);
    assert!(events[0].description.contains("A, B") && events[0].description.contains("the server refused"));

    let err = assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.fail_request(r1, "again"));
    assert!(err.to_string().contains(&r1.to_string()), "{err}");
}

#[test]
fn a_request_no_session_serves_within_the_handoff_timeout_fails_at_tick() {
    let mut fx = Fx::new();
    let timeout = fx.c.config().handoff_timeout;
    assert_eq!(fx.c.next_deadline(), None, "nothing to wait for");
    let start_time = fx.c.now();
    let r1 = start(&mut fx, "H", &["A"]);
    assert_eq!(fx.c.next_deadline(), Some(start_time.plus(timeout)));
    let r2 = start(&mut fx, "H", &["B"]);
    assert_eq!(fx.c.next_deadline(), Some(start_time.plus(timeout)), "a queued request has no deadline");
    fx.take_notices();
    fx.c.take_changes();

    fx.clock.advance(timeout - Duration::from_secs(1));
    fx.c.tick();
    assert!(finished(&fx.take_notices()).is_empty(), "not yet due");
    fx.clock.advance(Duration::from_secs(1));
    fx.c.tick();
    let notices = fx.take_notices();
    let results = finished(&notices);
    assert_eq!(results.iter().map(|(r, res)| (*r, res.status)).collect::<Vec<_>>(), [(r1, ProgressStatus::Failed)]);
    assert_eq!(sync_requests(&notices), [req("H", &["B"])], "the next request goes");
    let warnings =
        fx.c.take_changes()
            .into_iter()
            .filter(|c| matches!(c, synccenter_core::Change::EventAdded(e) if e.level == EventLevel::Warning))
            .count();
    assert_eq!(warnings, 1);
    assert_eq!(waiting(&fx), [(r2, true)]);
}

#[test]
fn a_request_a_session_took_or_one_still_queued_never_times_out() {
    let mut fx = Fx::new();
    let r1 = start(&mut fx, "H", &["A"]);
    let s = fx.session(&["A"]);
    let r2 = start(&mut fx, "H", &["B"]);
    let timeout = fx.c.config().handoff_timeout;
    assert_eq!(fx.c.next_deadline(), None, "the served request waits for its session, not a deadline");
    fx.take_notices();
    fx.c.take_changes();

    fx.clock.advance(timeout * 3);
    fx.c.tick();
    assert!(finished(&fx.take_notices()).is_empty());
    assert!(!fx.c.has_changes(), "no warning: {:?}", fx.c.take_changes());
    assert_eq!(waiting(&fx), [(r1, true), (r2, false)]);
    assert!(fx.c.session(s).is_ok());
}

#[test]
fn start_items_keeps_each_enabled_connected_item_once() {
    let mut fx = Fx::new();
    let h = fx.h();
    fx.c.register_item(&h, iid("B"), ItemSpec { enabled: Some(false), ..ItemSpec::default() }).expect("disable B");
    fx.c.register_item(&h, iid("C"), ItemSpec { connected: Some(false), ..ItemSpec::default() }).expect("unplug C");
    fx.take_notices();
    start(&mut fx, "H", &["A", "B", "C", "A"]);
    assert_eq!(sync_requests(&fx.take_notices()), [req("H", &["A"])]);

    for only in ["B", "C"] {
        assert_refused(&mut fx, HResult::ERROR_NOT_READY, |c| {
            c.start_items(&h, &[iid(only)], SyncControlFlags::empty(), None)
        });
    }
}

#[test]
fn deleting_the_item_a_request_waits_for_lets_the_next_request_go() {
    let mut fx = Fx::new();
    let h = fx.h();
    fx.c.register_item(
        &h,
        iid("A"),
        ItemSpec { capabilities: Some(ItemCapabilities::CAN_DELETE), ..ItemSpec::default() },
    )
    .expect("deletable A");
    let r1 = start(&mut fx, "H", &["A"]);
    let r2 = start(&mut fx, "H", &["B"]);
    fx.take_notices();
    fx.c.delete_item(&h, &iid("A"), ControlFlags::empty(), &mut AlwaysConfirm).expect("delete A");
    let notices = fx.take_notices();
    assert_eq!(
        finished(&notices).iter().map(|(r, res)| (*r, res.status)).collect::<Vec<_>>(),
        [(r1, ProgressStatus::Failed)]
    );
    assert_eq!(sync_requests(&notices), [req("H", &["B"])], "B must not wait for a session that will never come");
    let r3 = start(&mut fx, "H", &["C"]);
    assert_eq!(waiting(&fx), [(r2, true), (r3, false)]);
}

#[test]
fn a_new_session_takes_only_its_own_handlers_dispatched_requests() {
    let mut fx = Fx::new();
    fx.add_handler("H2", handler_spec("Handler H2"), &["A"]);
    let theirs = start(&mut fx, "H2", &["A"]);
    let mine = start(&mut fx, "H", &["A"]);
    let queued = start(&mut fx, "H", &["B"]);
    fx.session(&["A", "B"]);
    let pending: Vec<(RequestId, Vec<String>)> =
        fx.c.requests().into_iter().map(|r| (r.id, r.pending.iter().map(ToString::to_string).collect())).collect();
    assert_eq!(
        pending,
        [(theirs, vec!["A".to_owned()]), (mine, vec![]), (queued, vec!["B".to_owned()])],
        "H2's A is another item, and a queued request waits for its own turn"
    );
}

#[test]
fn a_requests_result_counts_the_serving_sessions_handler_errors() {
    let mut fx = Fx::new();
    let r = start(&mut fx, "H", &["A"]);
    let s = fx.session(&["A"]);
    fx.c.report_event(s, crate::support::error_event(None)).expect("event");
    fx.c.report_progress(s, &iid("A"), ProgressStatus::Succeeded, None, 0, 0).expect("progress");
    fx.c.end_session(s).expect("end");
    let results = finished(&fx.take_notices());
    assert_eq!(results.len(), 1);
    assert_eq!((results[0].0, results[0].1.errors), (r, 1));
}

#[test]
fn a_stop_while_waiting_does_not_hide_a_failure() {
    let mut fx = Fx::new();
    let r = start(&mut fx, "H", &["A", "B"]);
    let s = fx.session(&["A"]);
    fx.c.stop_items(&fx.h(), &[iid("B")]).expect("stop B, still waiting");
    fx.c.report_progress(s, &iid("A"), ProgressStatus::Failed, None, 0, 0).expect("progress");
    fx.c.end_session(s).expect("end");
    let results = finished(&fx.take_notices());
    assert_eq!(results.iter().map(|(id, res)| (*id, res.status)).collect::<Vec<_>>(), [(r, ProgressStatus::Failed)]);
}
