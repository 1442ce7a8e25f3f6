//! The `fleet.*` methods. This host's part comes from the hub's memory and its store, as `handler.list` and
//! `sessions.history` do; other hosts' parts come from their rows in the shared database (their live progress
//! is as fresh as their last store flush, and their handlers show no progress text).

use std::collections::{BTreeMap, BTreeSet};

use synccenter_core::{EventLevel, EventQuery, SessionQuery, Store};
use synccenter_protocol::fleet::{
    FleetConflict, FleetConflictsParams, FleetConflictsResult, FleetEvent, FleetEventsParams, FleetEventsResult,
    FleetHandler, FleetHandlersParams, FleetHandlersResult, FleetHostsResult, FleetSession, FleetSessionsParams,
    FleetSessionsResult, HostInfo,
};
use synccenter_protocol::methods::{ConflictInfo, HandlerInfo};
use synccenter_protocol::{DEFAULT_PAGE, MAX_PAGE};

use super::{error_count, event_filter, parse_cursor, store_err};
use crate::convert;
use crate::fleet::FleetLink;
use crate::outbox::{Reply, json};

fn wanted(filter: &Option<String>, host: &str) -> bool {
    filter.as_deref().is_none_or(|h| h == host)
}

/// `fleet.hosts`; `local` is this host as the hub sees it.
pub(crate) async fn hosts(fleet: FleetLink, local: HostInfo) -> Reply {
    let Some(shared) = fleet.shared else {
        return Ok(json(FleetHostsResult { host: fleet.host, shared: false, hosts: vec![local] }));
    };
    let pg = shared.pg();
    let records = pg.hosts(fleet.timings.down_after).await.map_err(store_err)?;
    let mut handlers: BTreeMap<String, usize> = BTreeMap::new();
    for h in pg.fleet_handlers().await.map_err(store_err)? {
        *handlers.entry(h.host).or_default() += 1;
    }
    let mut live: BTreeMap<String, usize> = BTreeMap::new();
    let query = SessionQuery { handler: None, started_before: None, limit: u32::MAX };
    for (host, _) in pg.fleet_sessions(&query, true).await.map_err(store_err)? {
        *live.entry(host).or_default() += 1;
    }
    let hosts = records
        .into_iter()
        .map(|r| {
            if r.host == fleet.host {
                return HostInfo {
                    started_at: convert::ts(r.started_at),
                    seen_at: convert::ts(r.seen_at),
                    ..local.clone()
                };
            }
            HostInfo {
                this_host: false,
                up: r.up,
                started_at: convert::ts(r.started_at),
                seen_at: convert::ts(r.seen_at),
                down_since: r.down_since.map(convert::ts),
                version: r.version,
                handlers: handlers.get(&r.host).copied().unwrap_or(0),
                live_sessions: live.get(&r.host).copied().unwrap_or(0),
                host: r.host,
            }
        })
        .collect();
    Ok(json(FleetHostsResult { host: fleet.host, shared: true, hosts }))
}

/// `fleet.handlers`; `local` is this host's `handler.list` before its error counts.
pub(crate) async fn handlers<S: Store>(
    fleet: FleetLink,
    store: std::sync::Arc<S>,
    mut local: Vec<HandlerInfo>,
    p: FleetHandlersParams,
) -> Reply {
    let mut out = Vec::new();
    if wanted(&p.host, &fleet.host) {
        for h in &mut local {
            h.error_count = error_count(&*store, &h.handler, None).await?;
        }
        out.extend(local.into_iter().map(|handler| FleetHandler { host: fleet.host.clone(), handler }));
    }
    if let Some(shared) = &fleet.shared {
        let pg = shared.pg();
        let others: Vec<_> = pg
            .fleet_handlers()
            .await
            .map_err(store_err)?
            .into_iter()
            .filter(|h| h.host != fleet.host && wanted(&p.host, &h.host) && (p.include_hidden || !h.handler.hidden))
            .collect();
        if !others.is_empty() {
            let query = SessionQuery { handler: None, started_before: None, limit: u32::MAX };
            let syncing: BTreeSet<(String, String)> = pg
                .fleet_sessions(&query, true)
                .await
                .map_err(store_err)?
                .into_iter()
                .map(|(host, s)| (host, s.handler.to_string()))
                .collect();
            let mut conflicts: BTreeMap<(String, String), u32> = BTreeMap::new();
            for (host, c) in pg.fleet_conflicts().await.map_err(store_err)? {
                *conflicts.entry((host, c.handler.to_string())).or_default() += 1;
            }
            let errors: BTreeMap<(String, String), u64> = pg
                .fleet_event_counts(EventLevel::Error)
                .await
                .map_err(store_err)?
                .into_iter()
                .map(|(host, handler, n)| ((host, handler.to_string()), n))
                .collect();
            for h in others {
                let key = (h.host.clone(), h.handler.id.to_string());
                let mut info = convert::stored_handler_info(&h.handler, h.items.len());
                info.syncing = syncing.contains(&key);
                info.conflict_count = conflicts.get(&key).copied().unwrap_or(0);
                info.error_count = errors.get(&key).copied().unwrap_or(0);
                out.push(FleetHandler { host: h.host, handler: info });
            }
        }
    }
    out.sort_by(|a, b| (&a.host, &a.handler.handler).cmp(&(&b.host, &b.handler.handler)));
    Ok(json(FleetHandlersResult { handlers: out }))
}

/// `fleet.sessions`.
pub(crate) async fn sessions<S: Store>(fleet: FleetLink, store: std::sync::Arc<S>, p: FleetSessionsParams) -> Reply {
    let query = SessionQuery {
        handler: p.handler.as_deref().map(convert::handler_id).transpose()?,
        started_before: convert::time("before", &p.before)?,
        limit: p.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE),
    };
    let records = match &fleet.shared {
        Some(shared) => {
            let mut records = shared.pg().fleet_sessions(&query, p.live).await.map_err(store_err)?;
            records.retain(|(host, _)| wanted(&p.host, host));
            records
        }
        None if wanted(&p.host, &fleet.host) => {
            let mut records = store.list_sessions(&query).await.map_err(store_err)?;
            if p.live {
                records.retain(|r| r.ended.is_none());
            }
            records.into_iter().map(|r| (fleet.host.clone(), r)).collect()
        }
        None => Vec::new(),
    };
    let sessions = records
        .iter()
        .map(|(host, r)| FleetSession { host: host.clone(), session: convert::session_record_info(r) })
        .collect();
    Ok(json(FleetSessionsResult { sessions }))
}

/// `fleet.events`.
pub(crate) async fn events<S: Store>(fleet: FleetLink, store: std::sync::Arc<S>, p: FleetEventsParams) -> Reply {
    let filter = event_filter(&p.filter)?;
    let limit = p.filter.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let after = p.filter.after.as_deref().map(parse_cursor).transpose()?;
    let query = EventQuery { filter, after, limit: limit + 1 };
    let events = match &fleet.shared {
        Some(shared) => shared.pg().fleet_events(&query, p.host.as_deref()).await.map_err(store_err)?,
        None if wanted(&p.host, &fleet.host) => {
            store.list_events(&query).await.map_err(store_err)?.into_iter().map(|e| (fleet.host.clone(), e)).collect()
        }
        None => Vec::new(),
    };
    let more = events.len() > limit as usize;
    let events: Vec<_> = events.into_iter().take(limit as usize).collect();
    let next = if more { events.last().map(|(_, e)| format!("{}.{}", e.time.as_micros(), e.id)) } else { None };
    let events =
        events.iter().map(|(host, e)| FleetEvent { host: host.clone(), event: convert::event_info(e) }).collect();
    Ok(json(FleetEventsResult { events, next }))
}

/// `fleet.conflicts`; `local` is this host's conflicts from memory.
pub(crate) async fn conflicts(fleet: FleetLink, local: Vec<ConflictInfo>, p: FleetConflictsParams) -> Reply {
    let mut out = Vec::new();
    if wanted(&p.host, &fleet.host) {
        out.extend(local.into_iter().map(|conflict| FleetConflict { host: fleet.host.clone(), conflict }));
    }
    if let Some(shared) = &fleet.shared {
        for (host, c) in shared.pg().fleet_conflicts().await.map_err(store_err)? {
            if host != fleet.host && wanted(&p.host, &host) {
                out.push(FleetConflict { host, conflict: convert::conflict_info(&c) });
            }
        }
    }
    Ok(json(FleetConflictsResult { conflicts: out }))
}
