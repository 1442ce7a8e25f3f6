//! Retention conformance cases: `Store::prune` removes what `synccenter_core::retention::plan` lists, in
//! batches no larger than asked, never a live session, and says when it is done.

use std::time::Duration;

use synccenter_core::{
    Change, EndReason, EventFilter, EventLevel, EventQuery, Keep, ProgressStatus, Pruned, RetentionPolicy,
    SessionQuery, Store, Timestamp,
};

use crate::StoreFixture;
use crate::sample::{event, hid, sid, started, t};

/// Calls `prune` with `limit` until it says nothing is left; checks every batch keeps to the limit and
/// returns the totals.
async fn prune_all<S: Store>(store: &S, policy: &RetentionPolicy, now: Timestamp, limit: u32) -> Pruned {
    let mut total = Pruned::default();
    for _ in 0..10_000 {
        let batch = store.prune(policy, now, limit).await.expect("prune");
        assert!(batch.removed() <= u64::from(limit), "a batch of {limit} removed {batch:?}");
        total.events += batch.events;
        total.sessions += batch.sessions;
        if !batch.more {
            return total;
        }
    }
    panic!("prune never said it was done");
}

async fn event_ids<S: Store>(store: &S) -> Vec<u128> {
    let query = EventQuery { filter: EventFilter::default(), after: None, limit: 1_000 };
    let mut ids: Vec<u128> =
        store.list_events(&query).await.expect("list").iter().map(|e| e.id.0.as_u128() & 0xFFFF).collect();
    ids.sort_unstable();
    ids
}

fn micros(us: u64) -> Option<Duration> {
    Some(Duration::from_micros(us))
}

/// Events older than their level's `max_age` go, oldest first and in batches; other levels keep theirs.
pub async fn prune_removes_events_by_age_per_level<F: StoreFixture>() {
    let f = F::fresh().await;
    let s = f.open().await;
    let mut changes = Vec::new();
    for (n, level) in [(1, EventLevel::Info), (2, EventLevel::Warning), (3, EventLevel::Error)] {
        for time in [100, 400, 800, 950] {
            changes.push(Change::EventAdded(event(n * 100 + time as u128 / 50, "nas", None, level, time)));
        }
    }
    s.apply(&changes).await.expect("apply");
    let policy = RetentionPolicy {
        info: Keep { max_age: micros(100), max_count: None },
        warning: Keep { max_age: micros(500), max_count: None },
        ..RetentionPolicy::FOREVER
    };
    let done = prune_all(&s, &policy, t(1_000), 2).await;
    assert_eq!(done, Pruned { events: 5, sessions: 0, more: false });
    let s = f.reopen(s).await;
    // Info kept from 900 on, warnings from 500 on, errors all.
    assert_eq!(event_ids(&s).await, vec![119, 216, 219, 302, 308, 316, 319]);
    assert_eq!(s.prune(&policy, t(1_000), 100).await.expect("again"), Pruned::default(), "nothing left");
}

/// Beyond `max_count` per handler and level, the oldest go; an event past both bounds is counted once.
pub async fn prune_keeps_the_newest_per_handler_and_level<F: StoreFixture>() {
    let f = F::fresh().await;
    let s = f.open().await;
    let mut changes = Vec::new();
    for (base, handler) in [(0, "nas"), (100, "cloud")] {
        for i in 0..5u128 {
            changes.push(Change::EventAdded(event(base + i, handler, Some("docs"), EventLevel::Info, 10 * i as i64)));
        }
        for i in 5..8u128 {
            changes.push(Change::EventAdded(event(base + i, handler, None, EventLevel::Error, 10 * i as i64)));
        }
    }
    s.apply(&changes).await.expect("apply");
    let policy = RetentionPolicy {
        info: Keep { max_age: micros(985), max_count: Some(2) },
        error: Keep { max_age: None, max_count: Some(5) },
        ..RetentionPolicy::FOREVER
    };
    // At 1,000 the events at 0 and 10 are past both bounds.
    let done = prune_all(&s, &policy, t(1_000), 1).await;
    assert_eq!(done, Pruned { events: 6, sessions: 0, more: false });
    assert_eq!(event_ids(&s).await, vec![3, 4, 5, 6, 7, 103, 104, 105, 106, 107]);
    let errors = EventFilter { levels: vec![EventLevel::Error], ..EventFilter::default() };
    assert_eq!(s.count_events(&errors).await.expect("count"), 6, "errors under their count stay");
    let nas_info = EventFilter { handler: Some(hid("nas")), levels: vec![EventLevel::Info], ..EventFilter::default() };
    assert_eq!(s.count_events(&nas_info).await.expect("count"), 2, "totals follow the removals");
}

/// Ended sessions go by age and by count per handler, with their items; a live session stays however old.
pub async fn prune_removes_ended_sessions_never_live_ones<F: StoreFixture>() {
    let f = F::fresh().await;
    let s = f.open().await;
    let end = |n, at| Change::SessionEnded {
        session: sid(n),
        at: t(at),
        reason: EndReason::Ended,
        status: ProgressStatus::Succeeded,
    };
    s.apply(&[
        started(1, "nas", &["docs"], 10),
        started(2, "nas", &["docs"], 20),
        end(2, 25),
        started(3, "nas", &["docs"], 600),
        end(3, 610),
        started(4, "nas", &[], 700),
        end(4, 710),
        started(5, "nas", &[], 800),
        end(5, 810),
        started(6, "cloud", &["docs"], 300),
        end(6, 310),
    ])
    .await
    .expect("apply");
    let policy =
        RetentionPolicy { sessions: Keep { max_age: micros(500), max_count: Some(2) }, ..RetentionPolicy::FOREVER };
    let done = prune_all(&s, &policy, t(1_000), 1).await;
    // 2 and 6 by age; 3 beyond the two newest ended sessions of nas.
    assert_eq!(done, Pruned { events: 0, sessions: 3, more: false });
    let s = f.reopen(s).await;
    let all = SessionQuery { handler: None, started_before: None, limit: 100 };
    let mut left: Vec<u128> =
        s.list_sessions(&all).await.expect("list").iter().map(|r| r.id.0.as_u128() & 0xFFFF).collect();
    left.sort_unstable();
    assert_eq!(left, vec![1, 4, 5], "the live session 1 stays");
    assert_eq!(s.get_session(sid(2)).await.expect("get"), None);
    let live = s.get_session(sid(1)).await.expect("get").expect("live session");
    assert_eq!(live.items.len(), 1, "a live session keeps its items");
}

/// A policy that keeps everything removes nothing, and a limit of 0 removes nothing but says what is left.
pub async fn prune_forever_and_zero_limit_remove_nothing<F: StoreFixture>() {
    let f = F::fresh().await;
    let s = f.open().await;
    let changes: Vec<Change> =
        (1..=3).map(|n| Change::EventAdded(event(n, "nas", None, EventLevel::Info, n as i64))).collect();
    s.apply(&changes).await.expect("apply");
    let far_future = t(i64::MAX / 2);
    assert_eq!(s.prune(&RetentionPolicy::FOREVER, far_future, 100).await.expect("prune"), Pruned::default());
    let strict = RetentionPolicy { info: Keep { max_age: micros(1), max_count: Some(0) }, ..RetentionPolicy::FOREVER };
    assert_eq!(s.prune(&strict, far_future, 0).await.expect("prune"), Pruned { events: 0, sessions: 0, more: true });
    assert_eq!(event_ids(&s).await, vec![1, 2, 3]);
    assert_eq!(prune_all(&s, &strict, far_future, 2).await.events, 3);
    assert_eq!(event_ids(&s).await, Vec::<u128>::new());
}
