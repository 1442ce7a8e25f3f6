//! Session creation and lifetime: behaviours 36–43 (`CreateSession` arguments, limits and handler state,
//! concurrency, calls after the end, loss of the owner).

use synccenter_core::{
    Change, Context, CoreError, EndReason, EventLevel, HResult, HandlerCapabilities, HandlerId, HandlerSpec, IdError,
    IdKind, IdProblem, ItemId, ItemSpec, NewEvent, Notice, OwnerId, ProgressStatus, SyncControlFlags,
};

use crate::support::{Fx, OWNER, assert_refused, handler_spec, hid, ids, iid, item_spec};

use ProgressStatus::{Failed, Updating};

#[test]
fn b36_create_session_makes_items_synchronizing() {
    let mut fx = Fx::new();
    let s = fx.c.create_session(OWNER, &fx.h(), &ids(&["A", "B"])).unwrap();
    let view = fx.c.session(s).unwrap();
    assert_eq!(view.handler, fx.h());
    assert_eq!(view.owner, OWNER);
    assert_eq!(view.items.iter().map(|(i, _)| i.as_str()).collect::<Vec<_>>(), ["A", "B"]);
    assert!(fx.c.item_display(&fx.h(), &iid("A")).unwrap().is_some());
    assert!(fx.c.item_display(&fx.h(), &iid("B")).unwrap().is_some());
    assert_eq!(fx.c.item_display(&fx.h(), &iid("C")).unwrap(), None);
    assert_eq!(fx.c.live_session_count(), 1);
    let changes = fx.c.take_changes();
    assert!(changes.iter().any(|ch| matches!(ch, Change::SessionStarted { session, items, .. }
        if *session == s && *items == ids(&["A", "B"]))));
}

#[test]
fn b37_create_session_without_items_is_invalidarg() {
    let mut fx = Fx::new();
    let h = fx.h();
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.create_session(OWNER, &h, &[]));
    assert_eq!(fx.c.live_session_count(), 0);
    // Unknown handler or item as well (§5.8).
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.create_session(OWNER, &hid("nope"), &ids(&["A"])));
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.create_session(OWNER, &h, &ids(&["A", "Z"])));
}

#[test]
fn b38_sixty_four_unit_ids_are_invalidarg() {
    // An ID reaches `create_session` only as a `HandlerId`/`ItemId`, so the core's length check (§5.7) is
    // their constructor. A handler and an item of 63 units are registered and each call differs from a valid
    // one by one unit only, so the refusal must come from the length check (not "unknown"), and say so.
    let mut fx = Fx::new();
    let (h63, i63) = ("h".repeat(63), "i".repeat(63));
    fx.c.register_handler(hid(&h63), handler_spec("Long IDs")).unwrap();
    fx.c.register_item(&hid(&h63), iid(&i63), item_spec("Long")).unwrap();
    for (kind, handler, item) in
        [(IdKind::Handler, format!("{h63}h"), i63.clone()), (IdKind::Item, h63.clone(), format!("{i63}i"))]
    {
        let err = assert_refused(&mut fx, HResult::E_INVALIDARG, |c| {
            c.create_session(OWNER, &HandlerId::new(handler.as_str())?, &[ItemId::new(item.as_str())?])
        });
        assert!(
            matches!(err, CoreError::InvalidId(IdError { kind: k, problem: IdProblem::TooLong { units: 64 }, .. }) if k == kind),
            "refused for its length: {err:?}"
        );
    }
    let s = fx.c.create_session(OWNER, &hid(&h63), &[iid(&i63)]).unwrap();
    assert_eq!(fx.c.session(s).unwrap().items.len(), 1, "63 units plus the terminator fit");
}

#[test]
fn b39_second_session_without_concurrency_is_error_busy() {
    let mut fx = Fx::new();
    fx.session(&["A"]);
    let h = fx.h();
    let err = assert_refused(&mut fx, HResult::ERROR_BUSY, |c| c.create_session(OwnerId(2), &h, &ids(&["B"])));
    assert_eq!(err.hresult().code, 0x8007_00AA);
    assert_eq!(fx.c.live_session_count(), 1);
}

#[test]
fn b40_item_in_two_concurrent_sessions_is_indeterminate() {
    let spec = HandlerSpec {
        capabilities: Some(HandlerCapabilities::SUPPORTS_CONCURRENT_SESSIONS),
        ..handler_spec("Handler H")
    };
    let mut fx = Fx::with_handler(spec);
    let s1 = fx.session(&["A"]);
    let s2 = fx.c.create_session(OwnerId(2), &fx.h(), &ids(&["A", "B"])).unwrap();
    fx.c.report_progress(s1, &iid("A"), Updating, None, 2, 10).unwrap();
    fx.c.report_progress(s2, &iid("A"), Updating, None, 3, 10).unwrap();
    let d = fx.c.item_display(&fx.h(), &iid("A")).unwrap().unwrap();
    assert!(d.indeterminate);
    assert_eq!(d.steps, None);
    // Once only one session remains, steps show again.
    fx.c.end_session(s1).unwrap();
    let d = fx.c.item_display(&fx.h(), &iid("A")).unwrap().unwrap();
    assert!(!d.indeterminate);
    assert_eq!(d.steps, Some((3, 10)));
}

#[test]
fn b41_every_callback_after_the_end_is_e_unexpected() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    fx.c.end_session(s).unwrap();
    fx.c.take_changes();
    fx.take_notices();
    let a = iid("A");
    let unexpected = HResult::E_UNEXPECTED;
    assert_eq!(unexpected.code, 0x8000_FFFF);
    assert_refused(&mut fx, unexpected, |c| c.report_progress(s, &a, Updating, None, 1, 2));
    assert_refused(&mut fx, unexpected, |c| c.set_handler_progress_text(s, Some("t")));
    assert_refused(&mut fx, unexpected, |c| {
        c.report_event(
            s,
            NewEvent {
                level: Some(EventLevel::Error),
                name: Some("n".into()),
                description: Some("d".into()),
                ..NewEvent::default()
            },
        )
    });
    assert_refused(&mut fx, unexpected, |c| c.can_continue(s, None));
    assert_refused(&mut fx, unexpected, |c| c.can_continue(s, Some(&a)));
    assert_refused(&mut fx, unexpected, |c| c.query_additional_items(s));
    assert_refused(&mut fx, unexpected, |c| c.add_item(s, &iid("B")));
    assert_refused(&mut fx, unexpected, |c| c.add_context(s, Some(Context("P".into()))));
    assert_refused(&mut fx, unexpected, |c| c.propose_item(s, iid("N"), item_spec("N")));
    assert_refused(&mut fx, unexpected, |c| c.commit_item(s, &iid("N")));
    assert_refused(&mut fx, unexpected, |c| c.report_manual_sync(s));
    // Ending again is idempotent and changes nothing.
    let before = fx.c.state_fingerprint();
    assert_eq!(fx.c.end_session(s).unwrap().session, s);
    assert_eq!(fx.c.state_fingerprint(), before);
    assert!(!fx.c.has_changes());
}

#[test]
fn b42_owner_loss_ends_session_fails_items_and_delivers_result() {
    let mut fx = Fx::new();
    let h = fx.h();
    let r = fx.c.start_items(&h, &ids(&["A", "B"]), SyncControlFlags::empty(), None).unwrap();
    let owner = OwnerId(7);
    let s = fx.c.create_session(owner, &h, &ids(&["A", "B"])).unwrap();
    fx.c.report_progress(s, &iid("A"), Updating, None, 1, 2).unwrap();
    fx.c.take_changes();
    fx.take_notices();
    fx.clock.advance(std::time::Duration::from_secs(30));
    let summaries = fx.c.end_owner(owner);
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].reason, EndReason::OwnerLost);
    assert_eq!(summaries[0].status, Failed);
    assert_eq!(fx.c.live_session_count(), 0);
    let changes = fx.c.take_changes();
    for i in ["A", "B"] {
        assert!(changes.iter().any(|ch| matches!(ch, Change::ItemProgressed { item, progress, .. }
            if item.as_str() == i && progress.status == Some(Failed))));
    }
    assert!(changes.iter().any(|ch| matches!(ch, Change::EventAdded(e)
        if e.level == EventLevel::Warning && e.item.is_none() && e.handler == h
            && e.time == crate::support::T0.plus(std::time::Duration::from_secs(30)))));
    let notices = fx.take_notices();
    let results: Vec<_> = notices
        .iter()
        .filter_map(|n| match n {
            Notice::RequestFinished { request, result, .. } if *request == r => Some(*result),
            _ => None,
        })
        .collect();
    assert_eq!(results.len(), 1, "{notices:?}");
    assert_eq!(results[0].status, Failed);
    assert!(notices.iter().any(|n| matches!(n, Notice::SessionEnded { summary, .. }
        if summary.reason == EndReason::OwnerLost)));
    // Calls on it now are E_UNEXPECTED.
    assert_refused(&mut fx, HResult::E_UNEXPECTED, |c| c.can_continue(s, None));
}

#[test]
fn b43_disabled_handler_or_disconnected_item_is_not_ready() {
    let spec = HandlerSpec { enabled: Some(false), ..handler_spec("Handler H") };
    let mut fx = Fx::with_handler(spec);
    let h = fx.h();
    let err = assert_refused(&mut fx, HResult::ERROR_NOT_READY, |c| c.create_session(OWNER, &h, &ids(&["A"])));
    assert_eq!(err.hresult().code, 0x8007_0015);
    assert_eq!(fx.c.live_session_count(), 0);

    let mut fx = Fx::new();
    let h = fx.h();
    fx.c.register_item(&h, iid("B"), ItemSpec { connected: Some(false), ..ItemSpec::default() }).unwrap();
    fx.c.take_changes();
    assert_refused(&mut fx, HResult::ERROR_NOT_READY, |c| c.create_session(OWNER, &h, &ids(&["A", "B"])));
    assert_eq!(fx.c.live_session_count(), 0);
    // Inactive and disconnected handlers as well.
    for spec in [
        HandlerSpec { active: Some(false), ..HandlerSpec::default() },
        HandlerSpec { active: Some(true), connected: Some(false), ..HandlerSpec::default() },
    ] {
        fx.c.register_handler(h.clone(), spec).unwrap();
        assert_refused(&mut fx, HResult::ERROR_NOT_READY, |c| c.create_session(OWNER, &h, &ids(&["A"])));
    }
}

/// A session another host of a fleet ended while this one was cut off ends here with the same outcome (host
/// lost, unfinished items failed) and no second warning; a session not live here is refused and nothing changes.
#[test]
fn a_session_ended_elsewhere_ends_here_without_a_second_warning() {
    let mut fx = Fx::new();
    let s = fx.c.create_session(OWNER, &fx.h(), &ids(&["A", "B"])).unwrap();
    fx.c.report_progress(s, &iid("A"), ProgressStatus::Succeeded, None, 1, 1).unwrap();
    fx.c.take_changes();
    let summary = fx.c.end_session_ended_elsewhere(s).unwrap();
    assert_eq!(summary.status, Failed);
    let changes = fx.c.take_changes();
    assert!(changes.iter().any(|ch| matches!(ch, Change::SessionEnded { session, reason: EndReason::HostLost, status: Failed, .. } if *session == s)), "{changes:?}");
    assert!(changes.iter().any(|ch| matches!(ch, Change::ItemProgressed { item, progress, .. } if item.as_str() == "B" && progress.status == Some(Failed))), "{changes:?}");
    assert!(!changes.iter().any(|ch| matches!(ch, Change::EventAdded(_))), "no second warning: {changes:?}");
    assert_eq!(fx.c.end_session(s).unwrap(), summary, "the owner's end learns the same outcome");
    assert_refused(&mut fx, HResult::E_UNEXPECTED, |c| c.end_session_ended_elsewhere(s));
}

/// §5.2: `CreateSession` with a NULL callback announces a sync: created and ended at once, with no item status
/// changes and no failures recorded; refused like any `CreateSession` when its arguments are bad.
#[test]
fn an_announced_session_ends_at_once_and_records_nothing_for_its_items() {
    let mut fx = Fx::new();
    fx.c.take_changes();
    let (created, summary) = fx.c.announce_session(OWNER, &fx.h(), &ids(&["A", "B"])).unwrap();
    assert_eq!((created.id, created.items.len()), (summary.session, 2));
    assert_eq!(summary.reason, EndReason::Ended);
    assert_eq!(summary.errors, 0);
    assert_eq!(fx.c.live_session_count(), 0, "nobody could end it later");
    let changes = fx.c.take_changes();
    assert!(
        changes.iter().any(|ch| matches!(ch, Change::SessionStarted { session, .. } if *session == summary.session))
    );
    assert!(changes.iter().any(|ch| matches!(ch, Change::SessionEnded { session, .. } if *session == summary.session)));
    let recorded: Vec<&Change> = changes
        .iter()
        .filter(|ch| matches!(ch, Change::ItemProgressed { .. } | Change::EventAdded(_) | Change::ItemSaved(..)))
        .collect();
    assert!(recorded.is_empty(), "no item status, no event, no last sync: {recorded:?}");
    assert_eq!(fx.c.item_display(&fx.h(), &iid("A")).unwrap(), None, "not synchronizing");
    let h = fx.h();
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.announce_session(OWNER, &h, &[]));
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.announce_session(OWNER, &h, &ids(&["Z"])));
    // A session the handler already runs makes an announcement busy like a second session.
    fx.session(&["A"]);
    assert_refused(&mut fx, HResult::ERROR_BUSY, |c| c.announce_session(OWNER, &h, &ids(&["B"])));
}
