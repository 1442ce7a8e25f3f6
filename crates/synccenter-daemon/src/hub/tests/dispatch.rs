//! What every call shares: replies and their order, refusals while the store fails, forwarding, the live feed,
//! store reads, progress coalescing, and what a closed connection leaves behind. Also `hello` and `status`.

use serde_json::json;
use synccenter_core::{Change, EndReason};
use synccenter_protocol::methods::{self as m, UpdateKind};
use synccenter_protocol::{MAX_LINE_BYTES, PROTOCOL_VERSION, StatusWire, error_codes};

use super::*;
use crate::calls::Progress;
use crate::hub::Deferred;
use crate::inbox::Entry;
use crate::queries::Query;
use std::collections::VecDeque;
use std::time::Duration;

/// The steps of the `ItemProgressed` changes in `changes`.
fn progressed_steps(changes: &[Change]) -> Vec<u32> {
    changes
        .iter()
        .filter_map(|c| match c {
            Change::ItemProgressed { progress, .. } => Some(progress.step),
            _ => None,
        })
        .collect()
}

#[test]
fn hello_negotiates_the_protocol_version() {
    let mut fx = Fixture::new();
    let mut c = fx.connect();
    let hello = |min, max| {
        Call::Hello(m::HelloParams { protocol: Some(m::VersionRange { min, max }), client: Some("hub tests".into()) })
    };
    let agreed = fx.ok(&mut c, hello(1, PROTOCOL_VERSION + 5));
    assert_eq!((&agreed["protocol"], &agreed["max_line_bytes"]), (&json!(PROTOCOL_VERSION), &json!(MAX_LINE_BYTES)));
    let error = fx.refused(&mut c, hello(PROTOCOL_VERSION + 1, PROTOCOL_VERSION + 2));
    assert_eq!(error["code"], error_codes::INVALID_PARAMS);
    assert!(error["message"].as_str().unwrap_or_default().contains("no common protocol version"), "{error}");
}

#[test]
fn status_counts_connections_sessions_and_every_report_taken_in() {
    let (mut fx, mut c, s) = Fixture::with_session(&["a"]);
    let _other = fx.connect();
    for step in 0..7 {
        fx.notify(&c, progress(&s, "a", StatusWire::Updating, step));
    }
    let status = fx.ok(&mut c, Call::Status(m::Empty {}));
    assert_eq!(status["reports_applied"], 7);
    assert_eq!(
        (&status["connections"], &status["live_sessions"], &status["handlers"]),
        (&json!(2), &json!(1), &json!(1))
    );
    assert_eq!((&status["host"], &status["socket"]), (&json!("host-a"), &json!(fx.hub.setup.whereabouts.socket)));
    assert_eq!(status["degraded"], json!(null), "not a fleet: {status}");
}

#[test]
fn a_subscriber_gets_updates_after_the_commit_of_what_they_follow() {
    let mut fx = Fixture::new();
    let (mut watcher, mut c) = (fx.connect(), fx.connect());
    fx.handler(&mut c, "h", &["a"], false);
    let state = fx.ok(&mut watcher, Call::Subscribe(m::Empty {}));
    assert_eq!((&state["handlers"][0]["handler"], &state["sessions"]), (&json!("h"), &json!([])));

    let id = fx.send(&c, register_item("h", "b"));
    assert_eq!(fx.hub.batch.after.len(), 1, "one update for the one watcher");
    assert!(watcher.pushes("update").is_empty(), "updates leave after the commit");
    fx.commit();
    c.result(&id);
    let seq = state["seq"].as_u64().expect("seq") + 1;
    assert_eq!(watcher.pushes("update"), vec![json!({ "seq": seq, "type": "registry_changed", "handler": "h" })]);
    assert!(c.pushes("update").is_empty(), "only subscribers get the feed");
}

#[test]
fn store_reads_are_deferred_behind_a_barrier_with_running_progress_flushed_first() {
    let (mut fx, mut c) = Fixture::with_handler(&["a"]);
    let id = fx.send(&c, Call::HandlerList(m::HandlerListParams::default()));
    assert!(!c.has_reply(&id), "the error counts come from the store");
    let Some(Deferred::Query { id: asked, query: Query::HandlerCounts(infos), mut written, .. }) =
        fx.hub.take_deferred().pop()
    else {
        panic!("handler.list reads the store");
    };
    assert_eq!((asked, infos.len(), infos[0].handler.as_str()), (id, 1, "h"));
    assert_eq!(fx.hub.batch.barriers.len(), 1);
    assert!(written.try_recv().is_err(), "the read waits for everything before it to be written");
    fx.commit();
    assert!(written.try_recv().is_ok());

    let s = fx.session(&mut c, "h", &["a"]);
    fx.notify(&c, progress(&s, "a", StatusWire::Updating, 3));
    fx.send(&c, Call::EventsList(m::EventsFilterParams::default()));
    let deferred = fx.hub.take_deferred();
    assert!(matches!(deferred.as_slice(), [Deferred::Query { query: Query::EventsList(_), .. }]), "{deferred:?}");
    assert_eq!(fx.hub.batch.barriers.len(), 1);
    assert_eq!(progressed_steps(&fx.hub.batch.changes), vec![3], "the read sees the running progress");
}

#[test]
fn a_call_for_another_host_is_refused_on_a_daemon_outside_a_fleet() {
    let (mut fx, mut c) = Fixture::with_handler(&["a"]);
    let on = |host: &str| m::ControlTargetParams { host: Some(host.into()), ..target("h", None) };
    let error = fx.refused(&mut c, Call::ControlStart(on("host-b")));
    assert_eq!(error["code"], error_codes::INVALID_PARAMS);
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("\"host-b\"") && message.contains("not part of a fleet"), "{message}");
    assert!(fx.hub.take_deferred().is_empty());
    assert!(fx.hub.center.requests().is_empty(), "nothing started here");
    // Naming this daemon's own host runs the call here.
    fx.ok(&mut c, Call::ControlStart(on("host-a")));
    assert_eq!(fx.hub.center.requests().len(), 1);
}

#[test]
fn while_the_store_fails_durable_requests_are_refused_and_nothing_changes() {
    let (mut fx, mut c, s) = Fixture::with_session(&["a"]);
    fx.hub.setup.health.failed("disk full".into());

    let id = fx.send(&c, Call::HandlerRegister(handler_params("g")));
    let error = c.error(&id);
    assert_eq!((&error["code"], hresult(&error)), (&json!(error_codes::INTERNAL_ERROR), "E_FAIL"));
    assert!(error["message"].as_str().unwrap_or_default().contains("disk full"), "{error}");
    assert!(fx.hub.center.handler(&synccenter_core::HandlerId::new("g").expect("id")).is_err());
    assert!(fx.hub.batch.changes.is_empty() && fx.hub.batch.acks.is_empty());
    let id = fx.send(&c, progress(&s, "a", StatusWire::Succeeded, 100));
    assert_eq!(hresult(&c.error(&id)), "E_FAIL", "a final status must be stored");

    // Non-durable requests are answered as usual.
    let id = fx.send(&c, Call::Status(m::Empty {}));
    c.result(&id);
    let id = fx.send(&c, progress(&s, "a", StatusWire::Updating, 50));
    assert_eq!(c.result(&id), json!({ "cancel": "none" }));
    // A notification has no reply to refuse with: it is applied, and stored once the store writes again.
    fx.notify(&c, progress(&s, "a", StatusWire::Failed, 50));
    assert!(fx.hub.batch.changes.iter().any(|ch| matches!(ch, Change::ItemProgressed { progress, .. }
        if progress.status == Some(synccenter_core::ProgressStatus::Failed))));
    fx.commit();
    // Housekeeping asks the writer to retry what it kept.
    fx.hub.housekeeping();
    assert_eq!(fx.hub.batch.barriers.len(), 1);

    fx.hub.setup.health.recovered();
    fx.ok(&mut c, Call::HandlerRegister(handler_params("g")));
}

#[test]
fn a_closed_connection_has_its_queue_applied_then_its_sessions_ended() {
    let mut fx = Fixture::new();
    let inbound = Arc::new(Inbound::new(64));
    let mut c = fx.connect_with(Some(inbound.clone()));
    let mut watcher = fx.connect();
    fx.handler(&mut c, "h", &["a"], false);
    let s = fx.session(&mut c, "h", &["a"]);
    fx.ok(&mut watcher, Call::Subscribe(m::Empty {}));
    let event = event(&s, EventLevelWire::Warning, "Last words", "queued before the close");
    let id = fx.next_id();
    inbound.push(Entry::Call(Some(id), Box::new(Call::SessionReportEvent(event))));

    fx.hub.close(c.conn);
    let written = fx.commit();
    let at = |want: fn(&Change) -> bool| written.iter().position(want);
    let event_at = at(|ch| matches!(ch, Change::EventAdded(e) if e.name == "Last words"));
    let ended_at = at(|ch| matches!(ch, Change::SessionEnded { reason: EndReason::OwnerLost, .. }));
    assert!(event_at.is_some() && ended_at.is_some() && event_at < ended_at, "{written:?}");
    assert_eq!(fx.hub.center.live_session_count(), 0);
    assert!(fx.hub.creators.is_empty() && !fx.hub.conns.contains_key(&c.conn));
    let ended: Vec<_> = watcher.pushes("update").into_iter().filter(|u| u["type"] == "session_ended").collect();
    assert_eq!((ended.len(), &ended[0]["reason"]), (1, &json!("owner_lost")), "{ended:?}");
}

#[test]
fn replies_keep_request_order_behind_one_waiting_for_a_commit() {
    let mut fx = Fixture::new();
    let (mut c, mut other) = (fx.connect(), fx.connect());
    fx.handler(&mut c, "h", &["a"], false);
    let created = fx.send(&c, create("h", &["a"]));
    let status = fx.send(&c, Call::Status(m::Empty {}));
    assert!(c.reply_ids().is_empty(), "the status waits behind the create");
    let acks: Vec<_> = fx.hub.batch.acks.iter().map(|a| a.acknowledges.clone()).collect();
    assert_eq!(acks, vec![Some(created.clone()), None], "only the create waits for the commit itself");
    let elsewhere = fx.send(&other, Call::Status(m::Empty {}));
    assert!(other.has_reply(&elsewhere), "another connection does not wait");

    fx.commit();
    assert_eq!(c.reply_ids(), vec![json!(created), json!(status)]);
    let after = fx.send(&c, Call::Status(m::Empty {}));
    assert!(c.has_reply(&after), "nothing waits any more");
}

#[test]
fn the_ledger_turns_many_running_reports_into_one_write_and_one_update() {
    let mut fx = Fixture::new();
    let (mut c, mut watcher) = (fx.connect(), fx.connect());
    fx.handler(&mut c, "h", &["a", "b"], false);
    let s = fx.session(&mut c, "h", &["a", "b"]);
    fx.ok(&mut watcher, Call::Subscribe(m::Empty {}));
    for step in 1..=50 {
        fx.notify(&c, progress(&s, "a", StatusWire::Updating, step));
    }
    assert!(!fx.hub.has_batch(), "running progress waits in the ledger");
    fx.hub.flush_progress();
    assert_eq!(progressed_steps(&fx.commit()), vec![50]);
    fx.hub.publish();
    fx.commit();
    let updates = watcher.pushes("update");
    let kinds: Vec<UpdateKind> =
        updates.iter().map(|u| serde_json::from_value(u.clone()).expect("an update")).collect();
    assert!(matches!(kinds.as_slice(), [UpdateKind::Progress { item, step: 50, .. }] if item == "a"), "{updates:?}");
    fx.hub.flush_progress();
    fx.hub.publish();
    assert!(!fx.hub.has_batch(), "nothing is written or published twice");

    // A final status goes out at once, and older running progress never follows it.
    fx.notify(&c, progress(&s, "b", StatusWire::Updating, 10));
    fx.notify(&c, progress(&s, "b", StatusWire::Succeeded, 100));
    assert_eq!(progressed_steps(&fx.commit()), vec![100]);
    fx.hub.publish();
    assert!(fx.hub.batch.after.is_empty(), "the final status was published with its commit");
}

#[test]
fn the_inbox_merges_queued_running_reports_and_counts_every_one() {
    let mut fx = Fixture::new();
    let inbound = Arc::new(Inbound::new(1000));
    let mut c = fx.connect_with(Some(inbound.clone()));
    fx.handler(&mut c, "h", &["a"], false);
    let s = fx.session(&mut c, "h", &["a"]);
    for step in 1..=40 {
        inbound.push_progress(
            Progress::new(&s, "a", StatusWire::Updating, None, Some(step), Some(100)).expect("valid IDs"),
        );
    }
    let mut turns = 0;
    while let Some(entry) = inbound.take() {
        turns += 1;
        fx.hub.take_entry(c.conn, &inbound, entry);
    }
    assert_eq!(turns, 1, "one run of progress, one value for the item");
    fx.hub.flush_progress();
    assert_eq!(progressed_steps(&fx.commit()), vec![40]);
    assert_eq!(fx.ok(&mut c, Call::Status(m::Empty {}))["reports_applied"], 40, "merged reports count as taken");
}

#[test]
fn a_round_ends_after_a_turn_that_took_a_call_and_the_rest_keep_their_places() {
    let mut fx = Fixture::new();
    let queues: Vec<Arc<Inbound>> = (0..3).map(|_| Arc::new(Inbound::new(1000))).collect();
    let mut clients: Vec<Client> = queues.iter().map(|q| fx.connect_with(Some(q.clone()))).collect();
    fx.handler(&mut clients[0], "h", &["a", "b"], true);
    let sessions = [fx.session(&mut clients[0], "h", &["a"]), fx.session(&mut clients[2], "h", &["b"])];
    for step in 1..=5 {
        queues[0].push_progress(
            Progress::new(&sessions[0], "a", StatusWire::Updating, None, Some(step), Some(9)).expect("valid IDs"),
        );
        queues[2].push_progress(
            Progress::new(&sessions[1], "b", StatusWire::Updating, None, Some(step), Some(9)).expect("valid IDs"),
        );
    }
    queues[1].push(Entry::Call(Some(RequestId::Number(77)), Box::new(Call::Status(m::Empty {}))));
    let mut ready: VecDeque<ConnId> = clients.iter().map(|c| c.conn).collect();
    let round = fx.hub.serve_round(&mut ready, Duration::MAX);
    assert!(round.took && round.calls);
    assert_eq!(ready, [clients[2].conn], "the third waits for the next round, first in line");
    assert!(clients[1].has_reply(&RequestId::Number(77)), "the call was answered in its turn");
    let round = fx.hub.serve_round(&mut ready, Duration::MAX);
    assert!(round.took && !round.calls && ready.is_empty(), "{ready:?}");
    fx.hub.flush_progress();
    let mut steps = progressed_steps(&fx.commit());
    steps.sort_unstable();
    assert_eq!(steps, [5, 5], "each item's last value, once");
}

#[test]
fn a_round_past_its_budget_ends_after_the_turn_and_the_line_keeps_its_order() {
    let mut fx = Fixture::new();
    let queues: Vec<Arc<Inbound>> = (0..3).map(|_| Arc::new(Inbound::new(1000))).collect();
    let mut clients: Vec<Client> = queues.iter().map(|q| fx.connect_with(Some(q.clone()))).collect();
    fx.handler(&mut clients[0], "h", &["a", "b", "c"], true);
    let sessions: Vec<String> =
        ["a", "b", "c"].iter().zip(clients.iter_mut()).map(|(item, c)| fx.session(c, "h", &[item])).collect();
    for ((queue, session), item) in queues.iter().zip(&sessions).zip(["a", "b", "c"]) {
        queue.push_progress(
            Progress::new(session, item, StatusWire::Updating, None, Some(1), Some(9)).expect("valid IDs"),
        );
    }
    let mut ready: VecDeque<ConnId> = clients.iter().map(|c| c.conn).collect();
    let round = fx.hub.serve_round(&mut ready, Duration::ZERO);
    assert!(round.took && round.cut && !round.calls, "{round:?}");
    assert_eq!(ready, [clients[1].conn, clients[2].conn], "the rest keep their places");
    let round = fx.hub.serve_round(&mut ready, Duration::ZERO);
    assert!(round.cut);
    assert_eq!(ready, [clients[2].conn]);
    let round = fx.hub.serve_round(&mut ready, Duration::ZERO);
    assert!(round.took && !round.cut && ready.is_empty(), "the last turn of the line is no cut: {round:?}");
    fx.hub.flush_progress();
    assert_eq!(progressed_steps(&fx.commit()), [1, 1, 1], "each connection's report applied once");
}
