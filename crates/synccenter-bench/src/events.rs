//! `events.list` with a large history: events written straight into a store file through the store's own
//! batched `apply`, then a daemon started on that file and filtered pages timed through the protocol.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use serde_json::{Value, json};
use synccenter_core::{Change, Event, EventId, EventLevel, HandlerId, ItemId, SessionId, Store, Timestamp};

use crate::raw::Raw;
use crate::report::Lat;

/// Events per session in the generated history (so `session` filters match this many).
pub(crate) const PER_SESSION: u64 = 1_000;
/// Handlers and items per handler in the generated history.
pub(crate) const HANDLERS: u64 = 10;
pub(crate) const ITEMS: u64 = 10;

/// Event `i` of the generated history: sessions of [`PER_SESSION`] events take turns among the handlers;
/// items rotate; 1% errors, 4% warnings; a millisecond apart; IDs ordered by time with random-looking low
/// bits, like the daemon's version-7 UUIDs.
fn event(i: u64) -> anyhow::Result<Event> {
    let session = i / PER_SESSION;
    let level = if i.is_multiple_of(100) {
        EventLevel::Error
    } else if i.is_multiple_of(25) {
        EventLevel::Warning
    } else {
        EventLevel::Info
    };
    Ok(Event {
        id: EventId(ordered(i)),
        handler: HandlerId::new(format!("h{}", session % HANDLERS))?,
        item: Some(ItemId::new(format!("i{}", i % ITEMS))?),
        session: Some(SessionId(uuid::Uuid::from_u128(u128::from(session) + 1))),
        level,
        name: "Copied".into(),
        description: format!("Copied file {i} to the backup"),
        link_text: None,
        link_reference: None,
        context: None,
        time: Timestamp::from_micros(1_700_000_000_000_000 + i as i64 * 1_000),
    })
}

/// Unique, increasing with `i`, with mixed low bits.
fn ordered(i: u64) -> uuid::Uuid {
    let low = u128::from(i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    uuid::Uuid::from_u128(((u128::from(i) + 1) << 64) | low)
}

/// Writes `n` events to a new store file at `path` in batches of `batch`; returns events per second.
pub(crate) async fn fill(path: &Path, n: u64, batch: usize) -> anyhow::Result<f64> {
    fill_range(path, 0, n, batch).await
}

/// Writes events `from..to` of the generated history to the store file at `path` (created if missing) in
/// batches of `batch`, then closes it cleanly (so a daemon's open need not read it whole); returns events per
/// second.
pub(crate) async fn fill_range(path: &Path, from: u64, to: u64, batch: usize) -> anyhow::Result<f64> {
    let store = synccenter_store_sqlite::SqliteStore::open(path).await?;
    let start = Instant::now();
    let mut changes = Vec::with_capacity(batch);
    for i in from..to {
        changes.push(Change::EventAdded(event(i)?));
        if changes.len() == batch {
            store.apply(&changes).await?;
            changes.clear();
        }
    }
    store.apply(&changes).await?;
    let rate = (to - from) as f64 / start.elapsed().as_secs_f64();
    store.close().await?;
    Ok(rate)
}

/// A filter of `events.list`, named for the report.
pub(crate) struct Query {
    pub(crate) name: &'static str,
    pub(crate) params: Value,
}

/// The filters timed: each matches a different share of the history.
pub(crate) fn queries(n: u64) -> Vec<Query> {
    let middle_session = uuid::Uuid::from_u128(u128::from(n / PER_SESSION / 2) + 1).to_string();
    vec![
        Query { name: "no filter (newest page)", params: json!({}) },
        Query { name: "handler (1/10 of events)", params: json!({"handler": "h3"}) },
        Query { name: "handler + item (1/100)", params: json!({"handler": "h3", "item": "i5"}) },
        Query { name: "level error (1/100)", params: json!({"levels": ["error"]}) },
        Query {
            name: "handler + levels warning, error (1/200)",
            params: json!({"handler": "h3", "levels": ["warning", "error"]}),
        },
        Query { name: "session (1,000 events, mid-history)", params: json!({"session": middle_session}) },
    ]
}

/// Latency of `events.list` with `params` (a page of `limit`), `reps` times, on one connection.
pub(crate) async fn time_page(c: &mut Raw, params: &Value, limit: u32, reps: usize) -> anyhow::Result<(Lat, u64)> {
    let mut p = params.clone();
    p["limit"] = json!(limit);
    let mut lat = Vec::with_capacity(reps);
    let mut total = 0;
    for _ in 0..reps + 2 {
        let t = Instant::now();
        let r = c.call("events.list", p.clone()).await?;
        lat.push(t.elapsed());
        total = r["total"].as_u64().context("total")?;
        anyhow::ensure!(!r["events"].as_array().context("events")?.is_empty(), "an empty page for {params}");
    }
    // The first two warm the cache.
    Ok((Lat::new(lat.split_off(2)), total))
}

/// Latency of following `next` through `pages` pages of `params`, page by page (keyset paging): the deeper
/// pages cost what the first does.
pub(crate) async fn time_deep(c: &mut Raw, params: &Value, limit: u32, pages: usize) -> anyhow::Result<Lat> {
    let mut p = params.clone();
    p["limit"] = json!(limit);
    let mut lat = Vec::with_capacity(pages);
    for _ in 0..pages {
        let t = Instant::now();
        let r = c.call("events.list", p.clone()).await?;
        lat.push(t.elapsed());
        let Some(next) = r["next"].as_str() else { break };
        p["after"] = json!(next);
    }
    Ok(Lat::new(lat))
}
