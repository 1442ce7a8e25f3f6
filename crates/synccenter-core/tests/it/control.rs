//! Control surface, state changes and policies: behaviours 65–70 and 72–76 (start eligibility, activation
//! and its confirmations, item enable/delete policies, `PREVENT_START_SYNC`, results of start requests,
//! `SCF_IGNORE_IF_ALREADY_SYNCING`, `UpdateHandler`).

use synccenter_core::{
    Action, AlwaysConfirm, ConflictItemType, ConflictVersion, ControlFlags, EventLevel, HResult, HandlerCapabilities,
    HandlerPolicies, HandlerSpec, ItemCapabilities, ItemPolicies, ItemSpec, NewConflict, NewEvent, Notice,
    ProgressStatus, RequestId, SyncControlFlags, SyncResult, Target,
};

use crate::support::{Fx, OWNER, assert_refused, handler_spec, hid, ids, iid, sync_requests};

use ProgressStatus::{Canceled, Succeeded};

fn results_for(notices: &[Notice], r: RequestId) -> Vec<SyncResult> {
    notices
        .iter()
        .filter_map(|n| match n {
            Notice::RequestFinished { request, result, .. } if *request == r => Some(*result),
            _ => None,
        })
        .collect()
}

fn state_changes(notices: &[Notice]) -> Vec<(Target, Action)> {
    notices
        .iter()
        .filter_map(|n| match n {
            Notice::StateChanged { target, action } => Some((target.clone(), *action)),
            _ => None,
        })
        .collect()
}

#[test]
fn b65_only_synchronizable_targets_are_passed_to_synchronize() {
    // Inactive handler: refused, nothing requested.
    let mut fx = Fx::with_handler(HandlerSpec { active: Some(false), ..handler_spec("Handler H") });
    let h = fx.h();
    assert_refused(&mut fx, HResult::ERROR_NOT_READY, |c| c.start_handler(&h, SyncControlFlags::empty(), None));

    // Disabled handler: StartSyncAll skips it.
    let mut fx = Fx::new();
    fx.add_handler("H2", HandlerSpec { enabled: Some(false), ..handler_spec("Handler H2") }, &["X"]);
    let reqs = fx.c.start_all();
    assert_eq!(reqs.len(), 1);
    assert_eq!(sync_requests(&fx.take_notices()), [("H".to_owned(), vec!["A".into(), "B".into(), "C".into()])]);

    // Disabled item B: only A and C.
    let mut fx = Fx::new();
    let h = fx.h();
    fx.c.register_item(&h, iid("B"), ItemSpec { enabled: Some(false), ..ItemSpec::default() }).unwrap();
    fx.c.start_handler(&h, SyncControlFlags::empty(), None).unwrap();
    assert_eq!(sync_requests(&fx.take_notices()), [("H".to_owned(), vec!["A".into(), "C".into()])]);
}

#[test]
fn b66_prevent_activate_refuses_without_calling_activate() {
    let spec = HandlerSpec {
        active: Some(false),
        policies: Some(HandlerPolicies::PREVENT_ACTIVATE),
        capabilities: Some(HandlerCapabilities::QUERY_BEFORE_ACTIVATE),
        ..handler_spec("Handler H")
    };
    let mut fx = Fx::with_handler(spec);
    let h = fx.h();
    let mut asked = 0;
    let mut confirm = |_: &Target, _: Action| {
        asked += 1;
        true
    };
    assert_refused(&mut fx, HResult::E_ACCESSDENIED, |c| {
        c.activate_handler(&h, true, ControlFlags::WAIT, &mut confirm)
    });
    assert_eq!(asked, 0, "no confirmation for a forbidden action");
    assert!(!fx.c.handler(&h).unwrap().active);
}

#[test]
fn b67_query_before_activate_veto_and_consent() {
    let spec = HandlerSpec {
        active: Some(false),
        capabilities: Some(HandlerCapabilities::QUERY_BEFORE_ACTIVATE),
        ..handler_spec("Handler H")
    };
    let mut fx = Fx::with_handler(spec);
    let h = fx.h();
    let mut asked = Vec::new();
    assert_refused(&mut fx, HResult::E_ACCESSDENIED, |c| {
        c.activate_handler(&h, true, ControlFlags::WAIT, &mut |t: &Target, a: Action| {
            asked.push((t.clone(), a));
            false
        })
    });
    assert_eq!(asked, [(Target { handler: h.clone(), item: None }, Action::Activate)]);
    assert!(!fx.c.handler(&h).unwrap().active);

    fx.c.activate_handler(&h, true, ControlFlags::WAIT, &mut |_: &Target, _: Action| true).unwrap();
    assert!(fx.c.handler(&h).unwrap().active);
    assert_eq!(state_changes(&fx.take_notices()), [(Target { handler: h, item: None }, Action::Activate)]);
}

#[test]
fn b68_noui_skips_the_confirmation_and_activates() {
    let spec = HandlerSpec {
        active: Some(false),
        capabilities: Some(HandlerCapabilities::QUERY_BEFORE_ACTIVATE),
        ..handler_spec("Handler H")
    };
    let mut fx = Fx::with_handler(spec);
    let h = fx.h();
    let mut asked = 0;
    fx.c.activate_handler(&h, true, ControlFlags::NOUI, &mut |_: &Target, _: Action| {
        asked += 1;
        false
    })
    .unwrap();
    assert_eq!(asked, 0);
    assert!(fx.c.handler(&h).unwrap().active);
    assert_eq!(state_changes(&fx.take_notices()), [(Target { handler: h, item: None }, Action::Activate)]);
}

#[test]
fn b69_item_prevent_disable_refuses_enable_item_false() {
    let mut fx = Fx::new();
    let h = fx.h();
    fx.c.register_item(&h, iid("A"), ItemSpec { policies: Some(ItemPolicies::PREVENT_DISABLE), ..ItemSpec::default() })
        .unwrap();
    assert_refused(&mut fx, HResult::E_ACCESSDENIED, |c| {
        c.enable_item(&h, &iid("A"), false, ControlFlags::WAIT, &mut AlwaysConfirm)
    });
    assert!(fx.c.item(&h, &iid("A")).unwrap().enabled);
    // Another item without the policy can be disabled (and `Enable` is "called").
    fx.c.enable_item(&h, &iid("B"), false, ControlFlags::WAIT, &mut AlwaysConfirm).unwrap();
    assert_eq!(state_changes(&fx.take_notices()), [(Target { handler: h, item: Some(iid("B")) }, Action::Disable)]);
}

#[test]
fn b70_delete_needs_can_delete_and_confirmation() {
    let mut fx = Fx::new();
    let h = fx.h();
    assert_refused(&mut fx, HResult::E_ACCESSDENIED, |c| {
        c.delete_item(&h, &iid("A"), ControlFlags::WAIT, &mut AlwaysConfirm)
    });
    let caps = ItemCapabilities::CAN_DELETE | ItemCapabilities::QUERY_BEFORE_DELETE;
    fx.c.register_item(&h, iid("B"), ItemSpec { capabilities: Some(caps), ..ItemSpec::default() }).unwrap();
    let mut asked = 0;
    assert_refused(&mut fx, HResult::E_ACCESSDENIED, |c| {
        c.delete_item(&h, &iid("B"), ControlFlags::WAIT, &mut |_: &Target, a: Action| {
            assert_eq!(a, Action::Delete);
            asked += 1;
            false
        })
    });
    assert_eq!(asked, 1);
    assert_eq!(fx.c.item_count(&h).unwrap(), 3);
    fx.c.delete_item(&h, &iid("B"), ControlFlags::WAIT, &mut |_: &Target, _: Action| true).unwrap();
    assert_eq!(fx.c.item_count(&h).unwrap(), 2);
    assert_eq!(state_changes(&fx.take_notices()), [(Target { handler: h, item: Some(iid("B")) }, Action::Delete)]);
}

#[test]
fn b72_prevent_start_sync_refuses_start_but_not_create_session() {
    let spec = HandlerSpec { policies: Some(HandlerPolicies::PREVENT_START_SYNC), ..handler_spec("Handler H") };
    let mut fx = Fx::with_handler(spec);
    let h = fx.h();
    assert_refused(&mut fx, HResult::E_ACCESSDENIED, |c| c.start_handler(&h, SyncControlFlags::empty(), None));
    assert_refused(&mut fx, HResult::E_ACCESSDENIED, |c| {
        c.start_items(&h, &ids(&["A"]), SyncControlFlags::empty(), None)
    });
    assert!(fx.c.start_all().is_empty());
    assert!(sync_requests(&fx.take_notices()).is_empty());
    let s = fx.c.create_session(OWNER, &h, &ids(&["A"])).unwrap();
    assert_eq!(fx.c.session(s).unwrap().items.len(), 1);
}

fn two_item_handler() -> Fx {
    let mut fx = Fx::empty();
    fx.add_handler("H", handler_spec("Handler H"), &["A", "B"]);
    fx.c.take_changes();
    fx
}

fn conflict() -> NewConflict {
    NewConflict {
        item: Some(iid("A")),
        name: "doc.txt".into(),
        versions: vec![
            ConflictVersion {
                location_short: "here".into(),
                item_type: ConflictItemType::UPDATED,
                ..Default::default()
            },
            ConflictVersion {
                location_short: "there".into(),
                item_type: ConflictItemType::UPDATED,
                ..Default::default()
            },
        ],
        ..NewConflict::default()
    }
}

#[test]
fn b73_result_is_delivered_once_after_the_end_with_errors_and_conflicts() {
    let mut fx = two_item_handler();
    let h = fx.h();
    fx.c.add_conflict(&h, conflict()).unwrap();
    let r = fx.c.start_handler(&h, SyncControlFlags::empty(), None).unwrap();
    assert_eq!(sync_requests(&fx.take_notices()), [("H".to_owned(), vec!["A".into(), "B".into()])]);
    let s = fx.c.create_session(OWNER, &h, &ids(&["A", "B"])).unwrap();
    let event = NewEvent {
        item: Some(iid("A")),
        level: Some(EventLevel::Error),
        name: Some("e".into()),
        description: Some("d".into()),
        ..NewEvent::default()
    };
    fx.c.report_event(s, event).unwrap();
    fx.c.report_progress(s, &iid("A"), Succeeded, None, 0, 0).unwrap();
    fx.c.report_progress(s, &iid("B"), Succeeded, None, 0, 0).unwrap();
    assert!(results_for(&fx.take_notices(), r).is_empty(), "not before the session ends");
    fx.c.end_session(s).unwrap();
    let notices = fx.take_notices();
    assert_eq!(results_for(&notices, r), [SyncResult { status: Succeeded, errors: 1, conflicts: 1 }]);
    assert!(notices.iter().any(|n| matches!(n, Notice::SessionEnded { summary, .. } if summary.session == s)));
    // Never again.
    fx.c.start_handler(&h, SyncControlFlags::empty(), None).unwrap();
    assert!(results_for(&fx.take_notices(), r).is_empty());
}

#[test]
fn b74_stopped_and_canceled_items_give_a_canceled_result() {
    let mut fx = two_item_handler();
    let h = fx.h();
    let r = fx.c.start_handler(&h, SyncControlFlags::empty(), None).unwrap();
    let s = fx.c.create_session(OWNER, &h, &ids(&["A", "B"])).unwrap();
    fx.c.stop_all();
    for i in ["A", "B"] {
        assert_eq!(
            fx.c.report_progress(s, &iid(i), Canceled, Some(""), 0, 0).unwrap(),
            synccenter_core::CancelRequest::CancelAll
        );
    }
    fx.take_notices();
    fx.c.end_session(s).unwrap();
    assert_eq!(results_for(&fx.take_notices(), r), [SyncResult { status: Canceled, errors: 0, conflicts: 0 }]);
}

#[test]
fn b75_ignore_if_already_syncing_drops_live_items_from_the_queued_request() {
    let mut fx = Fx::new();
    let h = fx.h();
    let s = fx.session(&["A"]);
    fx.c.start_items(&h, &ids(&["A", "C"]), SyncControlFlags::IGNORE_IF_ALREADY_SYNCING, None).unwrap();
    assert_eq!(fx.c.query_additional_items(s).unwrap().items, ids(&["C"]));
    fx.c.report_progress(s, &iid("A"), Succeeded, None, 0, 0).unwrap();
    fx.take_notices();
    fx.c.end_session(s).unwrap();
    assert_eq!(sync_requests(&fx.take_notices()), [("H".to_owned(), vec!["C".into()])]);

    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    fx.c.start_items(&h, &ids(&["A", "C"]), SyncControlFlags::empty(), None).unwrap();
    assert_eq!(fx.c.query_additional_items(s).unwrap().items, ids(&["A", "C"]));
    fx.c.report_progress(s, &iid("A"), Succeeded, None, 0, 0).unwrap();
    fx.take_notices();
    fx.c.end_session(s).unwrap();
    assert_eq!(sync_requests(&fx.take_notices()), [("H".to_owned(), vec!["A".into(), "C".into()])]);
}

#[test]
fn b76_update_handler_takes_effect_when_it_returns() {
    let mut fx = Fx::new();
    let h = fx.h();
    let spec = HandlerSpec {
        name: Some("Renamed".into()),
        policies: Some(HandlerPolicies::PREVENT_START_SYNC),
        ..HandlerSpec::default()
    };
    let updated = fx.c.register_handler(h.clone(), spec).unwrap();
    assert_eq!(updated.name, "Renamed");
    assert_eq!(fx.c.handler(&h).unwrap().name, "Renamed");
    assert_eq!(fx.c.handler(&h).unwrap().policies, HandlerPolicies::PREVENT_START_SYNC);
    assert_eq!(fx.c.handler(&h).unwrap().comment, crate::support::H_COMMENT);
    assert_refused(&mut fx, HResult::E_ACCESSDENIED, |c| c.start_handler(&h, SyncControlFlags::empty(), None));
    assert_eq!(hid("H"), h);
}
