//! Session membership: behaviours 24–35 (`AddItemToSession`, `QueryForAdditionalItems`, queued requests and
//! their absorption, `ProposeItem`/`CommitItem`, `ReportManualSync`).

use synccenter_core::{
    CancelRequest, Change, Context, HResult, Notice, PendingItems, ProgressStatus, SyncControlFlags,
};

use crate::support::{Fx, assert_refused, ids, iid, item_spec};

use ProgressStatus::{Failed, Succeeded, Updating};

fn item_ids(fx: &Fx) -> Vec<String> {
    fx.c.items(&fx.h()).unwrap().iter().map(|i| i.id.as_str().to_owned()).collect()
}

#[test]
fn b24_adding_an_existing_member_is_invalidarg() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.add_item(s, &iid("A")));
}

#[test]
fn b25_added_item_reports_and_needs_its_own_final_status() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    fx.c.add_item(s, &iid("B")).unwrap();
    assert_eq!(fx.c.report_progress(s, &iid("B"), Updating, Some("b"), 1, 4).unwrap(), CancelRequest::None);
    assert_eq!(fx.progress(s, "B").step, 1);
    fx.c.report_progress(s, &iid("A"), Succeeded, None, 0, 0).unwrap();
    fx.c.take_changes();
    fx.c.end_session(s).unwrap();
    let changes = fx.c.take_changes();
    assert!(changes.iter().any(|ch| matches!(ch, Change::ItemProgressed { item, progress, .. }
        if item.as_str() == "B" && progress.status == Some(Failed))));
}

#[test]
fn b26_nothing_queued_means_s_false() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    let pending = fx.c.query_additional_items(s).unwrap();
    assert!(pending.is_empty());
    assert_eq!(pending, PendingItems::default());
}

#[test]
fn b27_queued_start_request_is_visible_to_the_running_session() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    fx.c.start_items(&fx.h(), &ids(&["C"]), SyncControlFlags::empty(), Some(Context("P".into()))).unwrap();
    let pending = fx.c.query_additional_items(s).unwrap();
    assert!(!pending.is_empty());
    assert_eq!(pending.items, ids(&["C"]));
    assert_eq!(pending.contexts, vec![Context("P".into())]);
}

#[test]
fn b28_absorbed_item_is_not_synchronized_again_after_the_session() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    let r = fx.c.start_items(&fx.h(), &ids(&["C"]), SyncControlFlags::empty(), Some(Context("P".into()))).unwrap();
    fx.c.add_item(s, &iid("C")).unwrap();
    fx.c.add_context(s, Some(Context("P".into()))).unwrap();
    assert!(fx.c.query_additional_items(s).unwrap().is_empty());
    assert_eq!(fx.c.session(s).unwrap().contexts, vec![Context("P".into())]);
    fx.c.report_progress(s, &iid("A"), Succeeded, None, 0, 0).unwrap();
    fx.c.report_progress(s, &iid("C"), Succeeded, None, 0, 0).unwrap();
    fx.take_notices();
    fx.c.end_session(s).unwrap();
    let after = fx.take_notices();
    assert!(!after.iter().any(|n| matches!(n, Notice::SyncRequested { .. })), "{after:?}");
    let finished: Vec<_> = after
        .iter()
        .filter_map(|n| match n {
            Notice::RequestFinished { request, result, .. } if *request == r => Some(*result),
            _ => None,
        })
        .collect();
    assert_eq!(finished.len(), 1);
    assert_eq!(finished[0].status, Succeeded);
    assert!(fx.c.requests().is_empty());
}

#[test]
fn b29_proposed_item_is_not_listed_yet() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    fx.c.propose_item(s, iid("N"), item_spec("New")).unwrap();
    assert_eq!(item_ids(&fx), ["A", "B", "C"]);
    assert!(fx.c.item(&fx.h(), &iid("N")).is_err());
    // A provisional member accepts reports but is not displayed.
    fx.c.report_progress(s, &iid("N"), Updating, None, 1, 2).unwrap();
    assert!(fx.c.session(s).unwrap().items.iter().all(|(i, _)| i.as_str() != "N"));
}

#[test]
fn b30_proposing_an_existing_id_is_invalidarg() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.propose_item(s, iid("A"), item_spec("dup")));
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.propose_item(s, iid("B"), item_spec("dup")));
}

#[test]
fn b31_committing_a_never_proposed_id_is_invalidarg() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.commit_item(s, &iid("never-proposed")));
}

#[test]
fn b32_committed_item_is_listed_and_survives_the_session() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    fx.c.propose_item(s, iid("N"), item_spec("New")).unwrap();
    fx.c.commit_item(s, &iid("N")).unwrap();
    assert_eq!(item_ids(&fx), ["A", "B", "C", "N"]);
    assert_eq!(fx.c.item(&fx.h(), &iid("N")).unwrap().name, "New");
    assert!(fx.c.session(s).unwrap().items.iter().any(|(i, _)| i.as_str() == "N"));
    fx.c.report_progress(s, &iid("N"), Succeeded, None, 0, 0).unwrap();
    fx.c.end_session(s).unwrap();
    assert_eq!(item_ids(&fx), ["A", "B", "C", "N"]);
}

#[test]
fn b33_second_commit_is_invalidarg() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    fx.c.propose_item(s, iid("N"), item_spec("New")).unwrap();
    fx.c.commit_item(s, &iid("N")).unwrap();
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.commit_item(s, &iid("N")));
}

#[test]
fn b34_uncommitted_proposal_is_discarded_at_session_end() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    fx.c.propose_item(s, iid("N"), item_spec("New")).unwrap();
    fx.c.report_progress(s, &iid("N"), Updating, None, 1, 2).unwrap();
    fx.c.take_changes();
    fx.c.end_session(s).unwrap();
    assert_eq!(item_ids(&fx), ["A", "B", "C"]);
    let changes = fx.c.take_changes();
    assert!(!changes.iter().any(|ch| matches!(ch, Change::ItemSaved(_, i) if i.id.as_str() == "N")));
    assert!(!changes.iter().any(|ch| matches!(ch, Change::ItemProgressed { item, .. } if item.as_str() == "N")));
    // The ID is free again.
    let s2 = fx.session(&["A"]);
    fx.c.propose_item(s2, iid("N"), item_spec("New again")).unwrap();
}

#[test]
fn b35_report_manual_sync_marks_the_session_user_requested() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    assert!(!fx.c.session(s).unwrap().manual);
    fx.c.take_changes();
    fx.c.report_manual_sync(s).unwrap();
    assert!(fx.c.session(s).unwrap().manual);
    assert_eq!(fx.c.take_changes(), vec![Change::SessionMarkedManual(s)]);
    fx.c.report_manual_sync(s).unwrap();
    assert!(!fx.c.has_changes(), "idempotent");
}
