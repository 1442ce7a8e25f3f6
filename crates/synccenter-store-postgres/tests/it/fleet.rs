//! Many hosts on one database: each store sees only its host's rows, fleet-wide reads see all of them,
//! survivors end a silent host's sessions exactly once, and requests travel between hosts with a
//! notification.

use std::time::Duration;

use serde_json::json;
use synccenter_core::{
    Change, ENDED_WITHOUT_RESULT, EndReason, EventFilter, EventLevel, EventQuery, ItemProgress, ProgressStatus,
    SessionQuery, Store, Timestamp,
};
use synccenter_store_postgres::{DONE_CHANNEL, Liveness, PgStore, REQUESTS_CHANNEL};
use synccenter_store_tests::sample::{cid, conflict, eid, event, handler, hid, iid, item, sid, started, t};

use crate::support::{HANG_GUARD, fresh_database, raw};

/// Bounds far from any delay of a test machine: a heartbeat within ten minutes keeps a host's run unbroken.
const BOUNDS: Liveness = Liveness { down_after: Duration::from_secs(1_800), continuity: Duration::from_secs(600) };

/// Makes every host named a judge: its run of heartbeats began two hours ago (as if it had beaten since).
async fn judges_since_long(conn: &mut sqlx::PgConnection, hosts: &[&str]) {
    let hosts: Vec<String> = hosts.iter().map(|h| (*h).to_owned()).collect();
    sqlx::query("UPDATE hosts SET connected_since = now() - interval '2 hours' WHERE host = ANY($1)")
        .bind(&hosts)
        .execute(conn)
        .await
        .unwrap();
}

async fn two_hosts(url: &str) -> (PgStore, PgStore) {
    (PgStore::connect(url, "a").await.expect("host a"), PgStore::connect(url, "b").await.expect("host b"))
}

fn all_events() -> EventQuery {
    EventQuery { filter: EventFilter::default(), after: None, limit: 1_000 }
}

fn all_sessions() -> SessionQuery {
    SessionQuery { handler: None, started_before: None, limit: 1_000 }
}

/// The same handler and item IDs on two hosts are two registrations; each host's rows of every kind
/// are invisible to the other through the `Store` trait, and visible with their host through the fleet reads.
#[tokio::test]
async fn stores_see_only_their_host_and_fleet_reads_see_all() {
    let Some(url) = fresh_database().await else { return };
    let (a, b) = two_hosts(&url).await;
    let mut b_nas = handler("nas");
    b_nas.name = "b's nas".into();
    a.apply(&[
        Change::HandlerSaved(handler("nas")),
        Change::ItemSaved(hid("nas"), item("docs")),
        Change::ConflictSaved(conflict(1, "nas", Some("docs"))),
        started(1, "nas", &["docs"], 100),
        Change::EventAdded(event(1, "nas", Some("docs"), EventLevel::Error, 10)),
        Change::EventAdded(event(3, "nas", None, EventLevel::Info, 30)),
    ])
    .await
    .unwrap();
    b.apply(&[
        Change::HandlerSaved(b_nas.clone()),
        Change::ItemSaved(hid("nas"), item("photos")),
        Change::HandlerSaved(handler("phone")),
        Change::ConflictSaved(conflict(2, "nas", None)),
        started(2, "nas", &["photos"], 200),
        Change::EventAdded(event(2, "nas", None, EventLevel::Error, 20)),
    ])
    .await
    .unwrap();

    let sa = a.load().await.unwrap();
    assert_eq!(sa.handlers, vec![(handler("nas"), vec![item("docs")])]);
    assert_eq!(sa.conflicts, vec![conflict(1, "nas", Some("docs"))]);
    assert_eq!(sa.live_sessions.iter().map(|r| r.id).collect::<Vec<_>>(), vec![sid(1)]);
    let sb = b.load().await.unwrap();
    assert_eq!(sb.handlers, vec![(b_nas.clone(), vec![item("photos")]), (handler("phone"), vec![])]);
    assert_eq!(sb.conflicts, vec![conflict(2, "nas", None)]);
    assert_eq!(sb.live_sessions.iter().map(|r| r.id).collect::<Vec<_>>(), vec![sid(2)]);

    // Events and sessions: listed, counted, read, removed and cleared among the host's own rows only.
    let ids = |v: Vec<synccenter_core::Event>| v.into_iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(ids(a.list_events(&all_events()).await.unwrap()), vec![eid(3), eid(1)]);
    assert_eq!(ids(b.list_events(&all_events()).await.unwrap()), vec![eid(2)]);
    let errors = EventFilter { levels: vec![EventLevel::Error], ..Default::default() };
    assert_eq!(a.count_events(&errors).await.unwrap(), 1);
    assert_eq!(a.get_event(eid(2)).await.unwrap(), None);
    assert!(b.get_event(eid(2)).await.unwrap().is_some());
    assert_eq!(a.get_session(sid(2)).await.unwrap(), None);
    assert_eq!(a.list_sessions(&all_sessions()).await.unwrap().len(), 1);
    assert_eq!(a.remove_events(&[eid(2)]).await.unwrap(), 0, "another host's event is not removed");
    assert_eq!(a.clear_events(&errors).await.unwrap(), 1);
    assert!(b.get_event(eid(2)).await.unwrap().is_some(), "clearing stays within the host");
    // Changes name rows by ID; another host's rows are out of reach.
    a.apply(&[
        Change::ConflictRemoved(cid(2)),
        Change::SessionEnded { session: sid(2), at: t(300), reason: EndReason::Ended, status: ProgressStatus::Failed },
        Change::HandlerDeleted(hid("phone")),
        Change::EventsPurged { handler: hid("nas"), before: t(1_000) },
    ])
    .await
    .unwrap();
    let sb = b.load().await.unwrap();
    assert_eq!(sb.conflicts.len(), 1);
    assert_eq!(sb.live_sessions.len(), 1);
    assert_eq!(sb.handlers.len(), 2);
    assert_eq!(b.count_events(&EventFilter::default()).await.unwrap(), 1);

    // Fleet-wide reads see both hosts, each row with its host.
    let fleet = a.fleet_handlers().await.unwrap();
    let summary: Vec<(String, String, usize)> =
        fleet.iter().map(|f| (f.host.clone(), f.handler.id.as_str().to_owned(), f.items.len())).collect();
    assert_eq!(
        summary,
        vec![("a".into(), "nas".into(), 1), ("b".into(), "nas".into(), 1), ("b".into(), "phone".into(), 0)]
    );
    assert_eq!(fleet[1].handler, b_nas);
    assert_eq!(fleet[1].items, vec![item("photos")]);
    let sessions = b.fleet_sessions(&all_sessions(), false).await.unwrap();
    assert_eq!(
        sessions.iter().map(|(h, r)| (h.as_str(), r.id)).collect::<Vec<_>>(),
        vec![("b", sid(2)), ("a", sid(1))],
        "newest first"
    );
    assert_eq!(sessions[0].1, b.get_session(sid(2)).await.unwrap().unwrap());
    let live_nas = SessionQuery { handler: Some(hid("nas")), started_before: Some(t(150)), limit: 10 };
    assert_eq!(b.fleet_sessions(&live_nas, true).await.unwrap().len(), 1);
    let events = b.fleet_events(&all_events(), None).await.unwrap();
    assert_eq!(events.iter().map(|(h, e)| (h.as_str(), e.id)).collect::<Vec<_>>(), vec![("b", eid(2))]);
    b.apply(&[Change::EventAdded(event(4, "nas", None, EventLevel::Warning, 40))]).await.unwrap();
    a.apply(&[Change::EventAdded(event(5, "nas", None, EventLevel::Warning, 40))]).await.unwrap();
    let events = a.fleet_events(&all_events(), None).await.unwrap();
    assert_eq!(
        events.iter().map(|(h, e)| (h.as_str(), e.id)).collect::<Vec<_>>(),
        vec![("a", eid(5)), ("b", eid(4)), ("b", eid(2))]
    );
    // The same cursor semantics as list_events, across hosts.
    let first = a.fleet_events(&EventQuery { limit: 1, ..all_events() }, None).await.unwrap();
    let after = synccenter_core::EventCursor { time: first[0].1.time, id: first[0].1.id };
    let rest = a.fleet_events(&EventQuery { after: Some(after), ..all_events() }, None).await.unwrap();
    assert_eq!(rest.iter().map(|(_, e)| e.id).collect::<Vec<_>>(), vec![eid(4), eid(2)]);
    let only_b = a.fleet_events(&all_events(), Some("b")).await.unwrap();
    assert_eq!(only_b.iter().map(|(_, e)| e.id).collect::<Vec<_>>(), vec![eid(4), eid(2)]);
    let warnings =
        EventQuery { filter: EventFilter { levels: vec![EventLevel::Warning], ..Default::default() }, ..all_events() };
    assert_eq!(a.fleet_events(&warnings, None).await.unwrap().len(), 2);
    let counts = a.fleet_event_counts(EventLevel::Warning).await.unwrap();
    assert_eq!(counts, vec![("a".to_owned(), hid("nas"), 1), ("b".to_owned(), hid("nas"), 1)]);
    b.apply(&[Change::EventAdded(event(6, "phone", None, EventLevel::Warning, 41))]).await.unwrap();
    let counts = a.fleet_event_counts(EventLevel::Warning).await.unwrap();
    assert_eq!(
        counts.iter().map(|(h, id, n)| (h.as_str(), id.as_str(), *n)).collect::<Vec<_>>(),
        vec![("a", "nas", 1), ("b", "nas", 1), ("b", "phone", 1)]
    );
    assert!(a.fleet_event_counts(EventLevel::Error).await.unwrap().iter().all(|(h, _, _)| h == "b"));
    let conflicts = a.fleet_conflicts().await.unwrap();
    assert_eq!(
        conflicts.iter().map(|(h, c)| (h.as_str(), c.id)).collect::<Vec<_>>(),
        vec![("a", cid(1)), ("b", cid(2))]
    );
    assert_eq!(a.session_host(sid(2)).await.unwrap().as_deref(), Some("b"));
    assert_eq!(b.session_host(sid(1)).await.unwrap().as_deref(), Some("a"));
    assert_eq!(a.session_host(sid(99)).await.unwrap(), None);
    assert_eq!(a.conflict_host(cid(2)).await.unwrap().as_deref(), Some("b"));
    assert_eq!(a.conflict_host(cid(99)).await.unwrap(), None);
}

/// Hosts register, heartbeat and are reported up or down on the server's clock.
#[tokio::test]
async fn hosts_register_and_heartbeat() {
    let Some(url) = fresh_database().await else { return };
    let (a, b) = two_hosts(&url).await;
    a.register_host("1.2.3").await.unwrap();
    b.register_host("1.2.4").await.unwrap();
    let hosts = a.hosts(Duration::from_secs(60)).await.unwrap();
    assert_eq!(
        hosts.iter().map(|h| (h.host.as_str(), h.up, h.version.as_str())).collect::<Vec<_>>(),
        vec![("a", true, "1.2.3"), ("b", true, "1.2.4")]
    );
    assert_eq!(hosts[0].down_since, None);
    assert!(hosts[0].seen_at >= hosts[0].started_at);

    // b falls silent: its last heartbeat an hour ago.
    let mut conn = raw(&url).await;
    sqlx::query("UPDATE hosts SET seen_at = now() - interval '1 hour' WHERE host = 'b'")
        .execute(&mut conn)
        .await
        .unwrap();
    let hosts = a.hosts(Duration::from_secs(60)).await.unwrap();
    assert!(hosts[0].up);
    assert!(!hosts[1].up, "not seen within down_after");
    assert!(hosts[1].seen_at < hosts[0].seen_at);
    assert!(a.hosts(Duration::from_secs(7_200)).await.unwrap()[1].up, "seen within two hours");
    let before = hosts[1].seen_at;
    assert_eq!(b.heartbeat(BOUNDS).await.unwrap(), None, "b was never declared down");
    let hosts = a.hosts(Duration::from_secs(60)).await.unwrap();
    assert!(hosts[1].up);
    assert!(hosts[1].seen_at > before);

    // A heartbeat re-registers a host whose row is gone, with its version.
    sqlx::query("DELETE FROM hosts WHERE host = 'a'").execute(&mut conn).await.unwrap();
    assert_eq!(a.heartbeat(BOUNDS).await.unwrap(), None);
    let hosts = b.hosts(Duration::from_secs(60)).await.unwrap();
    assert_eq!((hosts[0].host.as_str(), hosts[0].up, hosts[0].version.as_str()), ("a", true, "1.2.3"));
}

/// Two survivors race to end the sessions of a silent host: each live session ends once as host_lost, with
/// its unfinished items failed and exactly one warning event; ended sessions and the survivors' own
/// sessions are untouched; the silent host comes back with down_since cleared.
#[tokio::test]
async fn survivors_end_a_silent_hosts_sessions_exactly_once() {
    let Some(url) = fresh_database().await else { return };
    let (a, b) = two_hosts(&url).await;
    let c = PgStore::connect(&url, "c").await.unwrap();
    for s in [&a, &b, &c] {
        s.register_host("test").await.unwrap();
    }
    let progress = |status| ItemProgress { status: Some(status), step: 2, max_step: 5, text: "work".into() };
    c.apply(&[
        Change::HandlerSaved(handler("nas")),
        started(1, "nas", &["docs", "photos", "music"], 100),
        Change::ItemProgressed { session: sid(1), item: iid("docs"), progress: progress(ProgressStatus::Succeeded) },
        Change::ItemProgressed { session: sid(1), item: iid("photos"), progress: progress(ProgressStatus::Updating) },
        started(2, "phone", &["a", "b"], 110),
        Change::ItemProgressed { session: sid(2), item: iid("a"), progress: progress(ProgressStatus::Succeeded) },
        Change::ItemProgressed { session: sid(2), item: iid("b"), progress: progress(ProgressStatus::Canceled) },
        started(3, "nas", &["docs"], 50),
        Change::SessionEnded {
            session: sid(3),
            at: t(60),
            reason: EndReason::Ended,
            status: ProgressStatus::Succeeded,
        },
    ])
    .await
    .unwrap();
    a.apply(&[started(4, "nas", &["docs"], 120)]).await.unwrap();
    let mut conn = raw(&url).await;
    sqlx::query("UPDATE hosts SET seen_at = now() - interval '1 hour' WHERE host = 'c'")
        .execute(&mut conn)
        .await
        .unwrap();
    judges_since_long(&mut conn, &["a", "b"]).await;

    let bounds = Liveness { down_after: Duration::from_millis(500), continuity: Duration::from_secs(600) };
    let at = Timestamp::from_micros(1_000);
    let (ra, rb) = tokio::join!(a.end_sessions_of_silent_hosts(bounds, at), b.end_sessions_of_silent_hosts(bounds, at));
    let mut lost: Vec<_> = ra.unwrap().expect("a judges").into_iter().chain(rb.unwrap().expect("b judges")).collect();
    assert_eq!(lost.len(), 1, "one survivor declared c down: {lost:?}");
    let lost = lost.remove(0);
    assert_eq!(lost.host, "c");
    assert_eq!(lost.sessions, vec![sid(1), sid(2)]);
    // Again: nothing left to do.
    assert_eq!(a.end_sessions_of_silent_hosts(bounds, at).await.unwrap(), Some(Vec::new()));

    let s1 = c.get_session(sid(1)).await.unwrap().unwrap();
    let end = s1.ended.unwrap();
    assert_eq!((end.at, end.reason, end.status), (at, EndReason::HostLost, ProgressStatus::Failed));
    assert_eq!(s1.items[0].progress, progress(ProgressStatus::Succeeded));
    for m in &s1.items[1..] {
        assert_eq!(m.progress.status, Some(ProgressStatus::Failed), "{m:?}");
        assert_eq!(m.progress.text, ENDED_WITHOUT_RESULT);
    }
    assert_eq!(s1.items[1].progress.step, 2, "progress made is kept");
    let s2 = c.get_session(sid(2)).await.unwrap().unwrap();
    assert_eq!(s2.ended.unwrap().status, ProgressStatus::Canceled, "the aggregate of finished members");
    let s3 = c.get_session(sid(3)).await.unwrap().unwrap();
    assert_eq!(s3.ended.unwrap().reason, EndReason::Ended, "an ended session is untouched");
    assert!(a.get_session(sid(4)).await.unwrap().unwrap().ended.is_none(), "survivors' sessions are untouched");
    assert!(c.load().await.unwrap().live_sessions.is_empty());

    for (session, unfinished) in [(sid(1), 2), (sid(2), 0)] {
        let filter = EventFilter { session: Some(session), ..Default::default() };
        let events = c.list_events(&EventQuery { filter, after: None, limit: 10 }).await.unwrap();
        assert_eq!(events.len(), 1, "one warning for {session}");
        let e = &events[0];
        assert_eq!(e.level, EventLevel::Warning);
        assert_eq!(e.name, "Sync interrupted: host lost");
        assert_eq!(e.time, at);
        assert_eq!(e.item, None);
        assert!(e.description.contains("Host c stopped answering"), "{}", e.description);
        assert!(e.description.contains(&session.to_string()), "{}", e.description);
        assert!(e.description.contains(&format!("{unfinished} unfinished item(s)")), "{}", e.description);
    }
    let c_events = a.fleet_events(&all_events(), Some("c")).await.unwrap();
    assert_eq!(c_events.len(), 2, "the warnings are c's events");
    assert_eq!(c_events.iter().filter(|(_, e)| e.handler == hid("phone")).count(), 1, "the session's handler");

    let hosts = a.hosts(bounds.down_after).await.unwrap();
    let hc = hosts.iter().find(|h| h.host == "c").unwrap();
    assert!(!hc.up);
    let down_since = hc.down_since.expect("declared down");
    // c returns: a replay of its buffered end must not overwrite the first end.
    c.apply(&[
        Change::ItemProgressed { session: sid(1), item: iid("music"), progress: progress(ProgressStatus::Succeeded) },
        Change::SessionItemAdded { session: sid(1), item: iid("late") },
        Change::SessionEnded {
            session: sid(1),
            at: t(2_000),
            reason: EndReason::Ended,
            status: ProgressStatus::Succeeded,
        },
    ])
    .await
    .unwrap();
    assert_eq!(c.get_session(sid(1)).await.unwrap().unwrap(), s1, "the first end wins");
    assert_eq!(c.heartbeat(BOUNDS).await.unwrap(), Some(down_since), "the heartbeat says c had been declared down");
    let hc = a.hosts(bounds.down_after).await.unwrap().into_iter().find(|h| h.host == "c").unwrap();
    assert!(hc.up);
    assert_eq!(hc.down_since, None);
    // Declared down again later, and back through register_host.
    sqlx::query("UPDATE hosts SET seen_at = now() - interval '1 hour' WHERE host = 'c'")
        .execute(&mut conn)
        .await
        .unwrap();
    let again = b.end_sessions_of_silent_hosts(bounds, at).await.unwrap().expect("b judges");
    assert_eq!(again.len(), 1);
    assert!(again[0].sessions.is_empty(), "nothing live any more");
    c.register_host("test").await.unwrap();
    let hc = a.hosts(bounds.down_after).await.unwrap().into_iter().find(|h| h.host == "c").unwrap();
    assert!(hc.up && hc.down_since.is_none());
    // A judge declares every other silent host lost, never itself.
    judges_since_long(&mut conn, &["a"]).await;
    sqlx::query("UPDATE hosts SET seen_at = now() - interval '1 hour' WHERE host <> 'a'")
        .execute(&mut conn)
        .await
        .unwrap();
    let lost = a.end_sessions_of_silent_hosts(bounds, at).await.unwrap().expect("a judges");
    assert_eq!(lost.iter().map(|l| l.host.as_str()).collect::<Vec<_>>(), vec!["b", "c"]);
}

/// After an outage every host looks silent: a host judges others only while its own heartbeats are unbroken
/// (the last within the continuity bound) and began a whole down bound ago; a heartbeat after a gap, or after
/// being declared down, begins a new run.
#[tokio::test]
async fn a_host_judges_only_after_a_whole_down_bound_of_unbroken_heartbeats() {
    let Some(url) = fresh_database().await else { return };
    let (a, b) = two_hosts(&url).await;
    for s in [&a, &b] {
        s.register_host("test").await.unwrap();
    }
    let mut conn = raw(&url).await;
    let b_silent = "UPDATE hosts SET seen_at = now() - interval '1 hour', down_since = NULL WHERE host = 'b'";
    let connected_since = "SELECT connected_since < now() - interval '1 hour' FROM hosts WHERE host = 'a'";
    let at = Timestamp::from_micros(1_000);
    let judged = |lost: Option<Vec<synccenter_store_postgres::LostHost>>| {
        lost.map(|lost| lost.into_iter().map(|l| l.host).collect::<Vec<_>>())
    };

    sqlx::query(b_silent).execute(&mut conn).await.unwrap();
    let bounds = Liveness { down_after: Duration::from_secs(60), continuity: Duration::from_secs(30) };
    assert_eq!(judged(a.end_sessions_of_silent_hosts(bounds, at).await.unwrap()), None, "a just connected");
    judges_since_long(&mut conn, &["a"]).await;
    assert_eq!(judged(a.end_sessions_of_silent_hosts(bounds, at).await.unwrap()), Some(vec!["b".to_owned()]));

    // a was cut off itself: its last heartbeat is older than the continuity bound.
    sqlx::query(b_silent).execute(&mut conn).await.unwrap();
    sqlx::query("UPDATE hosts SET seen_at = now() - interval '45 seconds' WHERE host = 'a'")
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(judged(a.end_sessions_of_silent_hosts(bounds, at).await.unwrap()), None, "a is cut off");
    // Its next heartbeat begins a new run, so it still waits a whole down bound.
    assert_eq!(a.heartbeat(bounds).await.unwrap(), None);
    let kept: bool = sqlx::query_scalar(connected_since).fetch_one(&mut conn).await.unwrap();
    assert!(!kept, "a heartbeat after a gap begins a new run");
    assert_eq!(judged(a.end_sessions_of_silent_hosts(bounds, at).await.unwrap()), None, "a new run");

    // Heartbeats within the bound keep the run.
    judges_since_long(&mut conn, &["a"]).await;
    sqlx::query("UPDATE hosts SET seen_at = now() - interval '20 seconds' WHERE host = 'a'")
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(a.heartbeat(bounds).await.unwrap(), None);
    let kept: bool = sqlx::query_scalar(connected_since).fetch_one(&mut conn).await.unwrap();
    assert!(kept, "an unbroken run is kept");
    assert_eq!(judged(a.end_sessions_of_silent_hosts(bounds, at).await.unwrap()), Some(vec!["b".to_owned()]));

    // A host declared down begins a new run when it is back, and learns which of its sessions were ended.
    b.apply(&[started(7, "nas", &["docs"], 100)]).await.unwrap();
    sqlx::query(b_silent).execute(&mut conn).await.unwrap();
    judges_since_long(&mut conn, &["b"]).await;
    assert_eq!(judged(a.end_sessions_of_silent_hosts(bounds, at).await.unwrap()), Some(vec!["b".to_owned()]));
    assert!(b.heartbeat(bounds).await.unwrap().is_some(), "b is told it was declared down");
    assert_eq!(b.sessions_lost_by(10).await.unwrap(), vec![sid(7)]);
    assert!(a.sessions_lost_by(10).await.unwrap().is_empty());
    let fresh: bool =
        sqlx::query_scalar("SELECT connected_since > now() - interval '1 minute' FROM hosts WHERE host = 'b'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert!(fresh, "a host declared down begins a new run");
}

/// A request enqueued on one host reaches the target's pending list and wakes its listener; the result
/// comes back to the asker with a notification of its own.
#[tokio::test]
async fn requests_round_trip_with_notifications() {
    let Some(url) = fresh_database().await else { return };
    let (a, b) = two_hosts(&url).await;
    let mut a_listens = a.listen().await.unwrap();
    let mut b_listens = b.listen().await.unwrap();

    let params = json!({"session": "123", "note": "nul\u{0}inside"});
    let id = b.enqueue_request("a", "session.stop", &params).await.unwrap();
    let n = tokio::time::timeout(HANG_GUARD, a_listens.recv()).await.expect("notified in time").unwrap();
    assert_eq!((n.channel.as_str(), n.payload.as_str()), (REQUESTS_CHANNEL, "a"));

    let pending = a.pending_requests().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!((pending[0].id, pending[0].from_host.as_str(), pending[0].method.as_str()), (id, "b", "session.stop"));
    assert_eq!(pending[0].params, json!({"session": "123", "note": "nul\u{FFFD}inside"}));
    assert!(b.pending_requests().await.unwrap().is_empty(), "requests are the target's");
    assert_eq!(b.request_result(id).await.unwrap(), None, "pending");

    assert!(!b.complete_request(id, &json!({"ok": false})).await.unwrap(), "only the target completes it");
    let result = json!({"ok": true, "stopped": [1, 2]});
    assert!(a.complete_request(id, &result).await.unwrap());
    // b's listener also heard the request for a; the completion follows it.
    let mut heard = Vec::new();
    while heard.last().is_none_or(|n: &synccenter_store_postgres::Notification| n.channel != DONE_CHANNEL) {
        heard.push(tokio::time::timeout(HANG_GUARD, b_listens.recv()).await.expect("notified in time").unwrap());
    }
    assert_eq!(heard.last().unwrap().payload, id.to_string());
    assert_eq!(b.request_result(id).await.unwrap(), Some(result.clone()));
    assert!(!a.complete_request(id, &json!("again")).await.unwrap(), "the first result stays");
    assert_eq!(b.request_result(id).await.unwrap(), Some(result));
    assert!(a.pending_requests().await.unwrap().is_empty());
    assert_eq!(a.request_result(id + 1_000).await.unwrap(), None, "unknown");

    // Several requests: pending oldest first.
    let first = b.enqueue_request("a", "m1", &json!(null)).await.unwrap();
    let second = b.enqueue_request("a", "m2", &json!([1])).await.unwrap();
    let pending = a.pending_requests().await.unwrap();
    assert_eq!(pending.iter().map(|r| r.id).collect::<Vec<_>>(), vec![first, second]);
    assert!(b.enqueue_request("not a host", "m", &json!({})).await.is_err(), "target names are checked");

    // Requests that waited too long are answered instead of run: only the target's, only old ones.
    let for_b = a.enqueue_request("b", "m3", &json!({})).await.unwrap();
    let mut conn = raw(&url).await;
    sqlx::query("UPDATE requests SET created_at = now() - interval '1 hour' WHERE id = $1")
        .bind(first)
        .execute(&mut conn)
        .await
        .unwrap();
    let expired = json!({"error": "expired"});
    assert_eq!(a.expire_requests(Duration::from_secs(60), &expired).await.unwrap(), 1);
    assert_eq!(a.pending_requests().await.unwrap().iter().map(|r| r.id).collect::<Vec<_>>(), vec![second]);
    assert_eq!(b.request_result(first).await.unwrap(), Some(expired.clone()));
    assert_eq!(b.pending_requests().await.unwrap().iter().map(|r| r.id).collect::<Vec<_>>(), vec![for_b]);
    assert_eq!(a.expire_requests(Duration::from_secs(60), &expired).await.unwrap(), 0);
}

/// A replayed batch (the daemon's buffer after an outage, or a commit whose acknowledgement was lost)
/// changes nothing the first application did not.
#[tokio::test]
async fn applying_a_batch_twice_is_harmless() {
    let Some(url) = fresh_database().await else { return };
    let s = PgStore::connect(&url, "a").await.unwrap();
    let mut resolved = conflict(1, "nas", Some("docs"));
    resolved.resolution = Some(synccenter_core::Resolution {
        choice: synccenter_core::ResolutionChoice::KeepRecent,
        requested_at: t(7),
        applied_from: None,
    });
    let batch = vec![
        Change::HandlerSaved(handler("nas")),
        Change::ItemSaved(hid("nas"), item("docs")),
        Change::ItemSaved(hid("nas"), item("photos")),
        started(1, "nas", &["docs", "photos"], 100),
        Change::SessionItemAdded { session: sid(1), item: iid("music") },
        Change::ItemProgressed {
            session: sid(1),
            item: iid("docs"),
            progress: ItemProgress { status: Some(ProgressStatus::Succeeded), step: 1, max_step: 1, text: "ok".into() },
        },
        Change::SessionMarkedManual(sid(1)),
        Change::EventAdded(event(1, "nas", Some("docs"), EventLevel::Error, 110)),
        Change::EventAdded(event(2, "nas", None, EventLevel::Info, 120)),
        Change::ConflictSaved(conflict(1, "nas", Some("docs"))),
        Change::ConflictSaved(resolved.clone()),
        Change::ItemDeleted(hid("nas"), iid("photos")),
        Change::SessionEnded {
            session: sid(1),
            at: t(200),
            reason: EndReason::Ended,
            status: ProgressStatus::Succeeded,
        },
        started(2, "nas", &["docs"], 300),
        Change::EventsPurged { handler: hid("nas"), before: t(115) },
    ];
    s.apply(&batch).await.unwrap();
    let snapshot = s.load().await.unwrap();
    let events = s.list_events(&all_events()).await.unwrap();
    let sessions = s.list_sessions(&all_sessions()).await.unwrap();
    s.apply(&batch).await.unwrap();
    assert_eq!(s.load().await.unwrap(), snapshot);
    assert_eq!(s.list_events(&all_events()).await.unwrap(), events);
    assert_eq!(s.list_sessions(&all_sessions()).await.unwrap(), sessions);
    assert_eq!(events.iter().map(|e| e.id).collect::<Vec<_>>(), vec![eid(2)], "event 1 was purged, and stays so");
    assert_eq!(snapshot.conflicts, vec![resolved]);
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[1].items.len(), 3, "no duplicate members");
    assert_eq!(sessions[1].ended.unwrap().at, t(200));
    // Every row counted directly: no duplicates anywhere.
    let mut conn = raw(&url).await;
    for (table, rows) in
        [("handlers", 1), ("items", 1), ("sessions", 2), ("session_items", 4), ("events", 1), ("conflicts", 1)]
    {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(&mut conn).await.unwrap();
        assert_eq!(n, rows, "{table}");
    }
}
