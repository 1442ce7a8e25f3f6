//! Progress and completion: behaviours 1–12 (`ReportProgress`, the per-item state machine, session-end
//! finalization, text limits, membership and range checks, `SetHandlerProgressText`).

use synccenter_core::{
    CancelRequest, Change, CoreError, ENDED_WITHOUT_RESULT, HResult, Notice, ProgressStatus, ValueError,
};

use crate::support::{Fx, H_COMMENT, assert_refused, ids, iid};

use ProgressStatus::{Canceled, Failed, Succeeded, Updating, UpdatingIndeterminate};

#[test]
fn b01_report_progress_stores_text_and_steps_and_returns_cr_none() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    let cr = fx.c.report_progress(s, &iid("A"), Updating, Some("x"), 1, 10).unwrap();
    assert_eq!(cr, CancelRequest::None);
    assert_eq!(cr.number(), 0);
    let p = fx.progress(s, "A");
    assert_eq!(p.status, Some(Updating));
    assert_eq!((p.step, p.max_step), (1, 10));
    assert_eq!(p.text, "x");
    let d = fx.c.item_display(&fx.h(), &iid("A")).unwrap().unwrap();
    assert_eq!(d.steps, Some((1, 10)));
    assert!(!d.indeterminate);
    assert_eq!(d.text, "x");
}

#[test]
fn b02_update_after_success_is_refused_and_marks_failed() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    fx.c.report_progress(s, &iid("A"), Succeeded, None, 0, 0).unwrap();
    fx.c.take_changes();
    // The one documented refusal that leaves a trace: the item becomes FAILED.
    let err = fx.c.report_progress(s, &iid("A"), Updating, None, 1, 10).unwrap_err();
    assert_eq!(err.hresult(), HResult::E_ACCESSDENIED);
    assert_eq!(err.hresult().code, 0x8007_0005);
    assert_eq!(fx.progress(s, "A").status, Some(Failed));
    let changes = fx.c.take_changes();
    assert!(
        changes.iter().any(|ch| matches!(ch, Change::ItemProgressed { item, progress, .. }
            if item.as_str() == "A" && progress.status == Some(Failed))),
        "the FAILED status must be persisted: {changes:?}"
    );
}

#[test]
fn b03_failed_is_accepted_after_any_completion_status() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    assert_eq!(fx.c.report_progress(s, &iid("A"), Succeeded, None, 0, 0).unwrap(), CancelRequest::None);
    assert_eq!(fx.c.report_progress(s, &iid("A"), Failed, None, 0, 0).unwrap(), CancelRequest::None);
    assert_eq!(fx.progress(s, "A").status, Some(Failed));
    fx.c.end_session(s).unwrap();

    let s2 = fx.session(&["A"]);
    fx.c.report_progress(s2, &iid("A"), Failed, None, 0, 0).unwrap();
    fx.c.report_progress(s2, &iid("A"), Failed, None, 0, 0).unwrap();
    assert_eq!(fx.progress(s2, "A").status, Some(Failed));
}

#[test]
fn b04_leaving_canceled_or_failed_is_refused_and_item_ends_failed() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    fx.c.report_progress(s, &iid("A"), Canceled, None, 0, 0).unwrap();
    let err = fx.c.report_progress(s, &iid("A"), Succeeded, None, 0, 0).unwrap_err();
    assert_eq!(err.hresult(), HResult::E_ACCESSDENIED);
    assert_eq!(fx.progress(s, "A").status, Some(Failed));
    fx.c.end_session(s).unwrap();

    let s2 = fx.session(&["A"]);
    fx.c.report_progress(s2, &iid("A"), Failed, None, 0, 0).unwrap();
    let err = fx.c.report_progress(s2, &iid("A"), Canceled, None, 0, 0).unwrap_err();
    assert_eq!(err.hresult().code, 0x8007_0005);
    assert_eq!(fx.progress(s2, "A").status, Some(Failed));
}

#[test]
fn b05_indeterminate_ignores_steps() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    assert_eq!(fx.c.report_progress(s, &iid("A"), UpdatingIndeterminate, None, 7, 3).unwrap(), CancelRequest::None);
    let p = fx.progress(s, "A");
    assert_eq!(p.status, Some(UpdatingIndeterminate));
    assert_eq!((p.step, p.max_step), (0, 0), "no step values are stored");
    let d = fx.c.item_display(&fx.h(), &iid("A")).unwrap().unwrap();
    assert!(d.indeterminate);
    assert_eq!(d.steps, None);
}

#[test]
fn b06_non_final_statuses_alternate_freely() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    let a = iid("A");
    fx.c.report_progress(s, &a, Updating, None, 1, 10).unwrap();
    assert_eq!((fx.progress(s, "A").step, fx.progress(s, "A").max_step), (1, 10));
    fx.c.report_progress(s, &a, UpdatingIndeterminate, None, 0, 0).unwrap();
    assert_eq!(fx.progress(s, "A").status, Some(UpdatingIndeterminate));
    fx.c.report_progress(s, &a, Updating, None, 5, 10).unwrap();
    let p = fx.progress(s, "A");
    assert_eq!(p.status, Some(Updating));
    assert_eq!((p.step, p.max_step), (5, 10));
}

#[test]
fn b07_final_report_whose_cancel_request_is_not_read_succeeds() {
    // A NULL `pnCancelRequest` is a caller that ignores the returned value: here the item was stopped, and
    // the handler's final `CANCELED` report succeeds whatever it would have been told.
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    fx.c.report_progress(s, &iid("A"), Updating, Some("working"), 1, 2).unwrap();
    fx.c.stop_items(&fx.h(), &ids(&["A"])).unwrap();
    let cancel = fx.c.report_progress(s, &iid("A"), Canceled, Some(""), 0, 0).unwrap();
    assert_eq!(cancel, CancelRequest::CancelItem, "the request in force, for a caller that reads it");
    let p = fx.progress(s, "A");
    assert_eq!(p.status, Some(Canceled));
    assert_eq!(p.text, "", "Some(\"\") clears the text");
}

#[test]
fn b08_members_without_final_status_fail_at_session_end() {
    let mut fx = Fx::new();
    let s = fx.session(&["A", "B"]);
    fx.c.report_progress(s, &iid("A"), Succeeded, Some("done"), 0, 0).unwrap();
    fx.c.take_changes();
    let summary = fx.c.end_session(s).unwrap();
    assert_eq!(summary.status, Failed);
    let changes = fx.c.take_changes();
    let b = changes
        .iter()
        .find_map(|ch| match ch {
            Change::ItemProgressed { item, progress, .. } if item.as_str() == "B" => Some(progress.clone()),
            _ => None,
        })
        .expect("B finalized");
    assert_eq!(b.status, Some(Failed));
    assert_eq!(b.text, ENDED_WITHOUT_RESULT);
    assert!(
        !changes.iter().any(|ch| matches!(ch, Change::ItemProgressed { item, .. } if item.as_str() == "A")),
        "A keeps SUCCEEDED"
    );
    let ended = fx.take_notices();
    assert!(ended.iter().any(|n| matches!(n, Notice::SessionEnded { summary, .. } if summary.status == Failed)));
}

#[test]
fn b09_progress_text_is_truncated_to_259_units() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    let long: String = (0..300).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    fx.c.report_progress(s, &iid("A"), Updating, Some(&long), 1, 2).unwrap();
    let p = fx.progress(s, "A");
    assert_eq!(p.text.len(), 259);
    assert_eq!(p.text, long[..259]);
    // None keeps the text.
    fx.c.report_progress(s, &iid("A"), Updating, None, 2, 2).unwrap();
    assert_eq!(fx.progress(s, "A").text, long[..259]);
}

#[test]
fn b10_report_for_item_not_in_session_is_invalidarg() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    let err = assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.report_progress(s, &iid("C"), Updating, None, 1, 2));
    assert_eq!(err.hresult().code, 0x8007_0057);
}

#[test]
fn b11_status_outside_1_to_6_is_invalidarg() {
    // A status reaches `report_progress` only as a `ProgressStatus`, so the core's range check (§5.5) is
    // `ProgressStatus::from_number`: each number goes through it and then to the core, as a wire number would.
    let mut fx = Fx::new();
    let s = fx.session(&["A", "B", "C"]);
    for n in [0, 7, u32::MAX] {
        let err = assert_refused(&mut fx, HResult::E_INVALIDARG, |c| {
            let status = ProgressStatus::from_number(n)?;
            c.report_progress(s, &iid("A"), status, Some("x"), 1, 2)
        });
        assert!(
            matches!(err, CoreError::Value(ValueError::OutOfRange { what: "progress status", value }) if value == i64::from(n)),
            "refused by the range check, not by the session: {err:?}"
        );
    }
    assert_eq!(fx.progress(s, "A").status, None);
    // The same path accepts each defined number (after a final status only FAILED is, so the other final ones
    // go to their own items).
    for (n, item) in [(1, "A"), (2, "A"), (3, "A"), (4, "A"), (5, "B"), (6, "C")] {
        let status = ProgressStatus::from_number(n).unwrap();
        assert_eq!(status.number(), n);
        fx.c.report_progress(s, &iid(item), status, Some("x"), 1, 2).unwrap();
        assert_eq!(fx.progress(s, item).status, Some(status));
    }
}

#[test]
fn b12_handler_progress_text_shows_while_syncing_then_comment_returns() {
    let mut fx = Fx::new();
    assert_eq!(fx.c.handler_display_text(&fx.h()).unwrap(), H_COMMENT);
    let s = fx.session(&["A"]);
    let cr = fx.c.set_handler_progress_text(s, Some("Copying 3 of 9")).unwrap();
    assert_eq!(cr, CancelRequest::None);
    assert_eq!(fx.c.handler_display_text(&fx.h()).unwrap(), "Copying 3 of 9");
    assert_eq!(fx.c.session(s).unwrap().handler_text.as_deref(), Some("Copying 3 of 9"));
    fx.c.end_session(s).unwrap();
    assert_eq!(fx.c.handler_display_text(&fx.h()).unwrap(), H_COMMENT);
}

#[test]
fn b12_handler_progress_text_requires_a_string() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    assert_refused(&mut fx, HResult::E_POINTER, |c| c.set_handler_progress_text(s, None));
}
