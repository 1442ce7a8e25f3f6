//! `session.*`: what a sync handler reports while it syncs.

use std::time::Duration;

use serde_json::json;
use synccenter_core::{Change, EndReason, HandlerId, ItemId, SessionId};
use synccenter_protocol::StatusWire;
use synccenter_protocol::error_codes;
use synccenter_protocol::methods::{self as m, ItemFields};

use super::*;

fn session_id(s: &str) -> SessionId {
    SessionId::parse(s).expect("a session ID")
}

#[test]
fn create_answers_after_the_commit_and_caps_the_sessions_of_one_connection() {
    let limits = Limits { max_sessions_per_connection: 2, ..Limits::default() };
    let mut fx = Fixture::with_limits(limits);
    let mut owner = fx.connect();
    fx.handler(&mut owner, "h", &["a"], true);

    let id = fx.send(&owner, create("h", &["a"]));
    assert!(!owner.has_reply(&id), "the reply waits for the commit of the session");
    assert!(fx.hub.batch.acks.iter().any(|a| a.acknowledges.as_ref() == Some(&id)));
    let written = fx.commit();
    assert!(written.iter().any(is_session_started));
    let first = owner.result(&id)["session"].as_str().expect("session").to_owned();

    fx.session(&mut owner, "h", &["a"]);
    let error = fx.refused(&mut owner, create("h", &["a"]));
    assert_eq!(hresult(&error), "E_OUTOFMEMORY", "{error}");
    assert!(error["message"].as_str().unwrap_or_default().contains("live sessions of one connection"), "{error}");
    assert_eq!(fx.hub.center.live_session_count(), 2, "the refused create changed nothing");

    // The cap is per connection, and an ended session no longer counts.
    let mut other = fx.connect();
    fx.session(&mut other, "h", &["a"]);
    fx.ok(&mut owner, end(&first));
    fx.session(&mut owner, "h", &["a"]);
}

#[test]
fn a_detached_session_has_a_lease_outlives_its_connection_and_ends_when_the_lease_runs_out() {
    let mut fx = Fixture::new();
    let mut c = fx.connect();
    fx.handler(&mut c, "h", &["a", "b"], true);
    let detach = |lease_seconds| {
        Call::SessionCreate(m::CreateSessionParams {
            handler: "h".into(),
            items: vec!["a".into()],
            detach: true,
            lease_seconds,
            announce: false,
        })
    };
    let error = fx.refused(&mut c, detach(Some(0)));
    assert_eq!(error["code"], error_codes::INVALID_PARAMS);
    assert!(error["message"].as_str().unwrap_or_default().contains("at least 1"), "{error}");

    let default = session_id(fx.ok(&mut c, detach(None))["session"].as_str().expect("session"));
    let short = session_id(fx.ok(&mut c, detach(Some(30)))["session"].as_str().expect("session"));
    assert_eq!(fx.hub.leases[&default].every, Intervals::default().detached_lease);
    assert_eq!(fx.hub.leases[&short].every, Duration::from_secs(30));
    let attached = fx.session(&mut c, "h", &["b"]);
    assert!(!fx.hub.leases.contains_key(&session_id(&attached)), "an attached session has no lease");

    fx.hub.close(c.conn);
    let written = fx.commit();
    let ended: Vec<_> = written.iter().filter(|ch| matches!(ch, Change::SessionEnded { .. })).collect();
    assert_eq!(ended.len(), 1, "only the attached session ends with its connection: {ended:?}");
    assert!(fx.hub.center.session(default).is_ok() && fx.hub.center.session(short).is_ok());

    // The short lease runs out (as if 31 s passed without a call into it); housekeeping ends it.
    let lease = fx.hub.leases.get_mut(&short).expect("lease");
    lease.last = lease.last.checked_sub(Duration::from_secs(31)).expect("an instant 31 s earlier");
    fx.hub.housekeeping();
    let written = fx.commit();
    assert!(
        written.iter().any(|ch| matches!(ch, Change::SessionEnded { session, reason: EndReason::LeaseExpired, .. }
            if *session == short)),
        "{written:?}"
    );
    assert!(fx.hub.center.session(short).is_err());
    assert!(fx.hub.center.session(default).is_ok(), "the default lease has not run out");
}

#[test]
fn running_progress_is_answered_at_once_and_a_final_status_after_its_commit() {
    let (mut fx, mut c, s) = Fixture::with_session(&["a"]);

    let running = fx.send(&c, progress(&s, "a", StatusWire::Updating, 10));
    assert_eq!(c.result(&running), json!({ "cancel": "none" }), "no commit needed for running progress");
    assert!(fx.hub.batch.changes.is_empty(), "running progress waits in the ledger");

    let id = fx.send(&c, progress(&s, "a", StatusWire::Succeeded, 100));
    assert!(!c.has_reply(&id), "a final status is acknowledged only once it is stored");
    let waiting: Vec<_> = fx.hub.batch.acks.iter().filter_map(|a| a.acknowledges.clone()).collect();
    assert_eq!(waiting, vec![id.clone()]);
    let written = fx.commit();
    let last = written.iter().rev().find_map(|ch| match ch {
        Change::ItemProgressed { progress, .. } => progress.status,
        _ => None,
    });
    assert_eq!(last, Some(synccenter_core::ProgressStatus::Succeeded), "{written:?}");
    assert_eq!(c.result(&id), json!({ "cancel": "none" }));

    let error = fx.refused(&mut c, progress(&s, "nope", StatusWire::Updating, 1));
    assert_eq!(hresult(&error), "E_INVALIDARG", "an item outside the session: {error}");
}

#[test]
fn handler_text_events_and_can_continue() {
    let mut fx = Fixture::new();
    let mut c = fx.connect();
    let mut watcher = fx.connect();
    fx.handler(&mut c, "h", &["a"], false);
    fx.ok(&mut watcher, Call::Subscribe(m::Empty {}));
    let s = fx.session(&mut c, "h", &["a"]);

    let text = |text: Option<&str>| {
        Call::SessionSetHandlerProgressText(m::SetHandlerProgressTextParams {
            session: s.clone(),
            text: text.map(str::to_owned),
        })
    };
    assert_eq!(fx.ok(&mut c, text(Some("Copying"))), json!({ "cancel": "none" }));
    assert!(fx.refused(&mut c, text(None))["message"].as_str().unwrap_or_default().contains("text"));
    fx.hub.publish();
    fx.commit();
    let texts: Vec<_> = watcher.pushes("update").into_iter().filter(|u| u["type"] == "handler_text").collect();
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert_eq!(texts[0]["text"], "Copying");

    let failed = event(&s, EventLevelWire::Error, "Copy failed", "The disk is full");
    let id = fx.send(&c, Call::SessionReportEvent(m::ReportEventParams { item: Some("a".into()), ..failed }));
    assert!(!c.has_reply(&id), "an event is acknowledged once stored");
    let written = fx.commit();
    let added = written.iter().find_map(|ch| match ch {
        Change::EventAdded(e) => Some(e.id.to_string()),
        _ => None,
    });
    assert_eq!(c.result(&id)["event"].as_str(), added.as_deref());

    let can_continue = |item: Option<&str>| {
        Call::SessionCanContinue(m::CanContinueParams { session: s.clone(), item: item.map(str::to_owned) })
    };
    assert_eq!(fx.ok(&mut c, can_continue(Some("a"))), json!({ "continue": true }));
    assert_eq!(fx.ok(&mut c, can_continue(None)), json!({ "continue": true }));
    let error = fx.refused(&mut c, can_continue(Some("b")));
    assert_eq!(error["code"], error_codes::SYNC_CENTER_ERROR, "not a member: {error}");
}

#[test]
fn additional_items_contexts_proposals_manual_conflicts_and_the_end() {
    let mut fx = Fixture::new();
    let mut c = fx.connect();
    fx.handler(&mut c, "h", &["a", "b"], false);
    let s = fx.session(&mut c, "h", &["a"]);
    // A start behind the live session: its item and context wait for the session to take them.
    let start = m::ControlTargetParams { context: Some(json!({ "folder": "/x" })), ..target("h", Some(&["b"])) };
    let request = fx.ok(&mut c, Call::ControlStart(start))["requests"][0].clone();

    let query = || Call::SessionQueryAdditionalItems(m::SessionParams { session: s.clone() });
    assert_eq!(fx.ok(&mut c, query()), json!({ "items": ["b"], "contexts": [{ "folder": "/x" }] }));
    fx.ok(&mut c, Call::SessionAddItem(m::SessionItemParams { session: s.clone(), item: "b".into() }));
    let add_context = |context| Call::SessionAddContext(m::AddContextParams { session: s.clone(), context });
    fx.ok(&mut c, add_context(Some(json!({ "folder": "/x" }))));
    assert_eq!(fx.ok(&mut c, query()), json!({ "items": [], "contexts": [] }));
    let error = fx.refused(&mut c, add_context(Some(json!({ "folder": "/y" }))));
    assert_eq!(error["code"], error_codes::SYNC_CENTER_ERROR, "a context nobody asked for: {error}");

    let fields = ItemFields { name: Some("c item".into()), ..Default::default() };
    let proposed = m::ProposedItem { id: "c".into(), fields };
    fx.ok(&mut c, Call::SessionProposeItem(m::ProposeItemParams { session: s.clone(), item: proposed }));
    let (h, item_c) = (HandlerId::new("h").expect("id"), ItemId::new("c").expect("id"));
    assert!(fx.hub.center.item(&h, &item_c).is_err(), "a proposed item is not registered yet");
    let id = fx.send(&c, Call::SessionCommitItem(m::SessionItemParams { session: s.clone(), item: "c".into() }));
    let written = fx.commit();
    c.result(&id);
    assert!(written.iter().any(|ch| matches!(ch, Change::ItemSaved(_, i) if i.id == item_c)), "{written:?}");
    assert!(fx.hub.center.item(&h, &item_c).is_ok());

    let id = fx.send(&c, Call::SessionReportManualSync(m::SessionParams { session: s.clone() }));
    assert!(fx.commit().contains(&Change::SessionMarkedManual(session_id(&s))));
    c.result(&id);
    assert!(fx.hub.center.session(session_id(&s)).expect("live").manual);

    let version = |at: &str| m::ConflictVersionWire {
        location_short: at.into(),
        location_full: format!("/data/{at}"),
        ..Default::default()
    };
    let conflict = |versions| {
        Call::SessionReportConflict(m::ReportConflictParams {
            session: s.clone(),
            item: Some("a".into()),
            key: None,
            name: "notes.txt".into(),
            description: "changed on both sides".into(),
            versions,
            abilities: vec![],
        })
    };
    let reported = fx.ok(&mut c, conflict(vec![version("here"), version("there")]));
    let conflicts = fx.hub.center.conflicts(None, None);
    assert_eq!(reported["conflict"].as_str(), conflicts.first().map(|c| c.id.to_string()).as_deref());
    assert_eq!(hresult(&fx.refused(&mut c, conflict(vec![version("alone")]))), "E_INVALIDARG");

    for item in ["a", "b", "c"] {
        fx.ok(&mut c, progress(&s, item, StatusWire::Succeeded, 100));
    }
    let id = fx.send(&c, end(&s));
    assert!(!c.has_reply(&id), "the end is acknowledged once stored");
    assert!(fx.commit().iter().any(|ch| matches!(ch, Change::SessionEnded { .. })));
    assert_eq!(c.result(&id), json!({ "status": "succeeded", "errors": 0, "conflicts": 1 }));
    let results = c.pushes("control.sync_result");
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!((&results[0]["request"], &results[0]["status"]), (&request, &json!("succeeded")));
    let late = fx.refused(&mut c, Call::SessionAddItem(m::SessionItemParams { session: s, item: "a".into() }));
    assert_eq!(hresult(&late), "E_UNEXPECTED", "the session has ended: {late}");
}

#[test]
fn a_burst_of_sessions_that_ended_gives_its_memory_back_once() {
    let mut fx = Fixture::new();
    let mut c = fx.connect();
    fx.handler(&mut c, "h", &["a", "b"], true);
    let released = |fx: &mut Fixture| {
        fx.hub.housekeeping();
        fx.hub.take_deferred().iter().filter(|d| matches!(d, crate::hub::Deferred::ReleaseMemory)).count()
    };
    let sessions: Vec<String> = (0..1_000).map(|_| fx.session(&mut c, "h", &["a", "b"])).collect();
    assert_eq!(released(&mut fx), 0, "while the sessions are live");
    for s in &sessions[..900] {
        fx.ok(&mut c, end(s));
    }
    assert_eq!(released(&mut fx), 0, "fewer than a thousand ended");
    for s in &sessions[900..] {
        fx.ok(&mut c, end(s));
    }
    assert_eq!(released(&mut fx), 1, "all of them ended");
    assert_eq!(released(&mut fx), 0, "once per burst");
}
