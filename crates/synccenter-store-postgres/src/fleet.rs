//! The fleet: hosts that register and heartbeat, survivors that end the live sessions of a host gone silent,
//! and reads across every host's rows.
//!
//! Liveness is judged on the server's clock only (`now()` in SQL): the hosts' own clocks may disagree, the
//! database's is the one they share. The model's times (a session's end, an event's time) still come from
//! the caller, as everywhere else in the store.

use std::collections::BTreeMap;
use std::time::Duration;

use sqlx::{Postgres, QueryBuilder};
use synccenter_core::{
    Conflict, ConflictId, ENDED_WITHOUT_RESULT, EndReason, Event, EventLevel, EventQuery, Handler, HandlerId, Item,
    MAX_EVENT_DESCRIPTION_UNITS, ProgressStatus, SessionId, SessionQuery, SessionRecord, StoreError, Timestamp,
    truncate_marked,
};
use uuid::Uuid;

use synccenter_store_rows::read::{self, status};
use synccenter_store_rows::write::{CONFLICTS, HANDLERS, ITEMS};
use synccenter_store_rows::{Bad, Read};

use crate::codec::{hosted, num, ts};
use crate::{EVENT_SELECT, PgStore, push_filter, push_page, select};

/// A host of the fleet as the database knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostRecord {
    /// Its name.
    pub host: String,
    /// When its daemon last registered (server clock).
    pub started_at: Timestamp,
    /// Its last heartbeat (server clock).
    pub seen_at: Timestamp,
    /// True when it was not declared down and its last heartbeat is recent enough.
    pub up: bool,
    /// When a survivor declared it down (server clock), until it comes back.
    pub down_since: Option<Timestamp>,
    /// The synccenter version it registered with.
    pub version: String,
}

/// How hosts judge each other's liveness (both on the server's clock).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Liveness {
    /// A host whose last heartbeat is older than this is down.
    pub down_after: Duration,
    /// Heartbeats further apart than this break a host's run of heartbeats (it was cut off meanwhile). Must
    /// be shorter than `down_after`.
    pub continuity: Duration,
}

/// A host that went silent and the live sessions of it that were ended as `host_lost`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LostHost {
    /// The silent host.
    pub host: String,
    /// Its sessions that this call ended (possibly none).
    pub sessions: Vec<SessionId>,
}

/// A handler of some host, with its items.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FleetHandler {
    /// The host whose daemon registered it.
    pub host: String,
    /// The handler.
    pub handler: Handler,
    /// Its items, by ID.
    pub items: Vec<Item>,
}

/// A server-side interval of `d`, in microseconds, capped at a century so that `now() - d` stays in range.
fn micros(d: Duration) -> i64 {
    const CENTURY_US: i64 = 100 * 366 * 24 * 3600 * 1_000_000;
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX).min(CENTURY_US)
}

/// A `timestamptz` expression as microseconds since the epoch, as the model stores times.
macro_rules! epoch_us {
    ($col:literal) => {
        concat!("(extract(epoch FROM ", $col, ") * 1000000)::bigint")
    };
}

#[derive(Debug, sqlx::FromRow)]
struct HostRow {
    host: String,
    started_at: i64,
    seen_at: i64,
    up: bool,
    down_since: Option<i64>,
    version: String,
}

#[derive(Debug, sqlx::FromRow)]
struct LiveSessionRow {
    id: Uuid,
    handler_id: String,
}

#[derive(Debug, sqlx::FromRow)]
struct MemberRow {
    position: i32,
    item_id: String,
    status: Option<i64>,
}

impl PgStore {
    /// Records that this host's daemon (`version`) started: its row is created or refreshed, with its start,
    /// last sighting and run of heartbeats set to now (server clock) and no longer down.
    pub async fn register_host(&self, version: &str) -> Result<(), StoreError> {
        version.clone_into(&mut self.version.lock().unwrap_or_else(|p| p.into_inner()));
        sqlx::query(
            "INSERT INTO hosts (host, started_at, seen_at, down_since, version, connected_since) \
             VALUES ($1, now(), now(), NULL, $2, now()) \
             ON CONFLICT (host) DO UPDATE SET started_at = now(), seen_at = now(), down_since = NULL, \
             version = EXCLUDED.version, connected_since = now()",
        )
        .bind(&self.host)
        .bind(crate::codec::clean(version))
        .execute(&self.pool)
        .await
        .map_err(|e| self.sql_err(e))?;
        Ok(())
    }

    /// This host is alive: its last sighting becomes now (server clock) and it is no longer down. A missing
    /// row is registered again (with the version of the last [`register_host`](Self::register_host)). When
    /// the previous heartbeat is older than `bounds.continuity` (or the host had been declared down), this one
    /// begins a new run of heartbeats: the host must then stay connected for a whole down bound before it
    /// judges others again (see [`end_sessions_of_silent_hosts`](Self::end_sessions_of_silent_hosts)).
    ///
    /// Returns when the fleet had declared this host down, if it had: its live sessions were then ended by a
    /// survivor as `host_lost` ([`sessions_lost_by`](Self::sessions_lost_by) lists them).
    pub async fn heartbeat(&self, bounds: Liveness) -> Result<Option<Timestamp>, StoreError> {
        let was_down: Option<Option<i64>> = sqlx::query_scalar(concat!(
            "UPDATE hosts h SET seen_at = now(), down_since = NULL, connected_since = CASE \
             WHEN old.down_since IS NULL AND old.connected_since IS NOT NULL \
             AND old.seen_at >= now() - $2 * interval '1 microsecond' THEN old.connected_since ELSE now() END \
             FROM (SELECT host, down_since, seen_at, connected_since FROM hosts WHERE host = $1 FOR UPDATE) old \
             WHERE h.host = old.host RETURNING ",
            epoch_us!("old.down_since")
        ))
        .bind(&self.host)
        .bind(micros(bounds.continuity))
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.sql_err(e))?;
        match was_down {
            Some(down_since) => Ok(down_since.map(Timestamp::from_micros)),
            None => {
                let version = self.version.lock().unwrap_or_else(|p| p.into_inner()).clone();
                self.register_host(&version).await?;
                Ok(None)
            }
        }
    }

    /// This host's sessions that another host ended as `host_lost`, most recently ended first (at most
    /// `limit`): after [`heartbeat`](Self::heartbeat) says this host had been declared down, the daemon ends
    /// those still live in its memory the same way, so that the host and the database tell one story.
    pub async fn sessions_lost_by(&self, limit: u32) -> Result<Vec<SessionId>, StoreError> {
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM sessions WHERE host = $1 AND end_reason = $2 ORDER BY ended_at DESC LIMIT $3",
        )
        .bind(&self.host)
        .bind(EndReason::HostLost.name())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.sql_err(e))?;
        Ok(ids.into_iter().map(SessionId).collect())
    }

    /// Every host, by name. A host is up when it was not declared down and was seen within `down_after`
    /// (both on the server's clock).
    pub async fn hosts(&self, down_after: Duration) -> Result<Vec<HostRecord>, StoreError> {
        let rows = sqlx::query_as::<_, HostRow>(concat!(
            "SELECT host, ",
            epoch_us!("started_at"),
            " AS started_at, ",
            epoch_us!("seen_at"),
            " AS seen_at, (down_since IS NULL AND seen_at >= now() - $1 * interval '1 microsecond') AS up, ",
            epoch_us!("down_since"),
            " AS down_since, version FROM hosts ORDER BY host"
        ))
        .bind(micros(down_after))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.sql_err(e))?;
        Ok(rows
            .into_iter()
            .map(|r| HostRecord {
                host: r.host,
                started_at: Timestamp::from_micros(r.started_at),
                seen_at: Timestamp::from_micros(r.seen_at),
                up: r.up,
                down_since: r.down_since.map(Timestamp::from_micros),
                version: r.version,
            })
            .collect())
    }

    /// Declares down every other host not seen within `down_after` (server clock) and ends its live sessions
    /// as `host_lost` at `at`, all in one transaction.
    ///
    /// This host judges only while its own run of heartbeats is unbroken (its last one within
    /// `bounds.continuity`) and began a whole `down_after` ago: after an outage of the database every host
    /// looks silent until its next heartbeat, and a judge that was itself cut off cannot tell a silent host
    /// from one that could not reach the database either. A judgement thus rests only on heartbeats written
    /// while both hosts could reach the database. Otherwise it returns `None`: this host may not judge yet.
    ///
    /// Each such session ends as the core ends a session whose owner is gone: its members without a
    /// completion status become failed with the text [`ENDED_WITHOUT_RESULT`], its result is the aggregate of
    /// its members' statuses (so failed whenever a member was unfinished), and one warning event, written as
    /// the lost host's and attached to the session, says what happened. (Unlike the core it does not update
    /// last-sync times: the lost host's registry is its own.)
    ///
    /// Any number of survivors may call this at once: the hosts' rows are locked in name order and a host
    /// already declared down is skipped, so each silent host is handled exactly once. Returns the hosts this
    /// call declared down (also those without a live session), by name.
    pub async fn end_sessions_of_silent_hosts(
        &self,
        bounds: Liveness,
        at: Timestamp,
    ) -> Result<Option<Vec<LostHost>>, StoreError> {
        let down_after = bounds.down_after;
        let mut tx = self.pool.begin().await.map_err(|e| self.sql_err(e))?;
        let may_judge: Option<bool> = sqlx::query_scalar(
            "SELECT connected_since IS NOT NULL AND connected_since <= now() - $2 * interval '1 microsecond' \
             AND seen_at >= now() - $3 * interval '1 microsecond' AND down_since IS NULL \
             FROM hosts WHERE host = $1",
        )
        .bind(&self.host)
        .bind(micros(down_after))
        .bind(micros(bounds.continuity))
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| self.sql_err(e))?;
        if may_judge != Some(true) {
            return Ok(None);
        }
        // Locking in one order keeps concurrent survivors from deadlocking; a row another survivor marked
        // meanwhile is re-read after its lock is released and no longer matches.
        let silent: Vec<String> = sqlx::query_scalar(
            "SELECT host FROM hosts WHERE host <> $1 AND down_since IS NULL \
             AND seen_at < now() - $2 * interval '1 microsecond' ORDER BY host FOR UPDATE",
        )
        .bind(&self.host)
        .bind(micros(down_after))
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| self.sql_err(e))?;
        let mut lost = Vec::with_capacity(silent.len());
        for host in silent {
            let silent_for: i64 = sqlx::query_scalar(
                "UPDATE hosts SET down_since = now() WHERE host = $1 \
                 RETURNING floor(extract(epoch FROM now() - seen_at))::bigint",
            )
            .bind(&host)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| self.sql_err(e))?;
            let sessions = sqlx::query_as::<_, LiveSessionRow>(
                "SELECT id, handler_id FROM sessions WHERE host = $1 AND ended_at IS NULL ORDER BY id FOR UPDATE",
            )
            .bind(&host)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.sql_err(e))?;
            let mut ended = Vec::with_capacity(sessions.len());
            for session in sessions {
                self.end_lost_session(&mut tx, &host, silent_for, &session, at).await?;
                ended.push(SessionId(session.id));
            }
            lost.push(LostHost { host, sessions: ended });
        }
        tx.commit().await.map_err(|e| self.sql_err(e))?;
        Ok(Some(lost))
    }

    /// Ends one live session of the lost `host` (its row is locked by the caller's transaction).
    async fn end_lost_session(
        &self,
        conn: &mut sqlx::PgConnection,
        host: &str,
        silent_for: i64,
        session: &LiveSessionRow,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let members = sqlx::query_as::<_, MemberRow>(
            "SELECT position, item_id, status FROM session_items WHERE session_id = $1 ORDER BY position",
        )
        .bind(session.id)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| self.sql_err(e))?;
        let mut unfinished_positions = Vec::new();
        let mut unfinished_items = Vec::new();
        let mut statuses = Vec::with_capacity(members.len());
        for m in &members {
            let st = m.status.map(status).transpose().map_err(|b: Bad| self.bad(b))?;
            match st {
                Some(s) if s.is_final() => statuses.push(s),
                _ => {
                    unfinished_positions.push(m.position);
                    unfinished_items.push(m.item_id.as_str());
                    statuses.push(ProgressStatus::Failed);
                }
            }
        }
        if !unfinished_positions.is_empty() {
            sqlx::query("UPDATE session_items SET status = $1, text = $2 WHERE session_id = $3 AND position = ANY($4)")
                .bind(num(ProgressStatus::Failed.number()))
                .bind(ENDED_WITHOUT_RESULT)
                .bind(session.id)
                .bind(&unfinished_positions)
                .execute(&mut *conn)
                .await
                .map_err(|e| self.sql_err(e))?;
        }
        sqlx::query(
            "UPDATE sessions SET ended_at = $1, end_reason = $2, end_status = $3 WHERE id = $4 AND ended_at IS NULL",
        )
        .bind(ts(at))
        .bind(EndReason::HostLost.name())
        .bind(num(ProgressStatus::aggregate(statuses).number()))
        .bind(session.id)
        .execute(&mut *conn)
        .await
        .map_err(|e| self.sql_err(e))?;
        let description = format!(
            "Host {host} stopped answering (no heartbeat for {silent_for} s) while session {} was running; {} \
             unfinished item(s) were marked failed{}{}",
            SessionId(session.id),
            unfinished_items.len(),
            if unfinished_items.is_empty() { "" } else { ": " },
            unfinished_items.join(", "),
        );
        sqlx::query(
            "INSERT INTO events (id, host, handler_id, item_id, session_id, level, name, description, link_text, \
             link_reference, context, time) VALUES ($1, $2, $3, NULL, $4, $5, $6, $7, NULL, NULL, NULL, $8)",
        )
        .bind(Uuid::new_v4())
        .bind(host)
        .bind(&session.handler_id)
        .bind(session.id)
        .bind(num(EventLevel::Warning.number()))
        .bind("Sync interrupted: host lost")
        .bind(truncate_marked(&description, MAX_EVENT_DESCRIPTION_UNITS))
        .bind(ts(at))
        .execute(&mut *conn)
        .await
        .map_err(|e| self.sql_err(e))?;
        Ok(())
    }

    /// Every host's handlers with their items, ordered by host, then handler ID.
    pub async fn fleet_handlers(&self) -> Result<Vec<FleetHandler>, StoreError> {
        let mut tx = self.read_tx().await?;
        let handlers = sqlx::query(&select("handlers", HANDLERS.columns, "ORDER BY host, id"))
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.sql_err(e))?;
        let items = sqlx::query(&select("items", ITEMS.columns, "ORDER BY host, handler_id, id"))
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.sql_err(e))?;
        tx.commit().await.map_err(|e| self.sql_err(e))?;
        let fleet = || -> Read<Vec<FleetHandler>> {
            let mut by_handler: BTreeMap<(String, HandlerId), Vec<Item>> = BTreeMap::new();
            for (host, (handler, item)) in hosted(&items, read::item)? {
                by_handler.entry((host, handler)).or_default().push(item);
            }
            let handlers = hosted(&handlers, read::handler)?;
            Ok(handlers
                .into_iter()
                .map(|(host, handler)| {
                    let items = by_handler.remove(&(host.clone(), handler.id.clone())).unwrap_or_default();
                    FleetHandler { host, handler, items }
                })
                .collect())
        };
        fleet().map_err(|b| self.bad(b))
    }

    /// Every host's session history, newest first (ties by ID descending), each with its host; only live
    /// sessions when `live_only`. `query` filters and pages as [`Store::list_sessions`] does.
    ///
    /// [`Store::list_sessions`]: synccenter_core::Store::list_sessions
    pub async fn fleet_sessions(
        &self,
        query: &SessionQuery,
        live_only: bool,
    ) -> Result<Vec<(String, SessionRecord)>, StoreError> {
        self.query_sessions(None, query, live_only).await
    }

    /// Events of every host (or of `host` only), newest first, each with its host: the same filter, cursor
    /// and limit semantics as [`Store::list_events`] (event IDs are unique across the fleet, so the cursor
    /// is too).
    ///
    /// [`Store::list_events`]: synccenter_core::Store::list_events
    pub async fn fleet_events(
        &self,
        query: &EventQuery,
        host: Option<&str>,
    ) -> Result<Vec<(String, Event)>, StoreError> {
        let mut qb = QueryBuilder::<Postgres>::new(&*EVENT_SELECT);
        if let Some(host) = host {
            qb.push(" AND host = ").push_bind(host.to_owned());
        }
        push_filter(&mut qb, &query.filter);
        push_page(&mut qb, query);
        let rows = qb.build().fetch_all(&self.pool).await.map_err(|e| self.sql_err(e))?;
        hosted(&rows, read::event).map_err(|b| self.bad(b))
    }

    /// How many events of `level` each handler of each host has, ordered by host, then handler ID; handlers
    /// without such events are left out.
    pub async fn fleet_event_counts(&self, level: EventLevel) -> Result<Vec<(String, HandlerId, u64)>, StoreError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT host, handler_id, count(*) FROM events WHERE level = $1 GROUP BY host, handler_id \
             ORDER BY host, handler_id",
        )
        .bind(num(level.number()))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.sql_err(e))?;
        rows.into_iter()
            .map(|(host, handler, n)| {
                let handler = HandlerId::new(handler).map_err(|e| self.bad(Bad::new("handler ID", e)))?;
                Ok((host, handler, n.max(0) as u64))
            })
            .collect()
    }

    /// Every host's conflicts, ordered by host, then conflict ID.
    pub async fn fleet_conflicts(&self) -> Result<Vec<(String, Conflict)>, StoreError> {
        let rows = sqlx::query(&select("conflicts", CONFLICTS.columns, "ORDER BY host, id"))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.sql_err(e))?;
        hosted(&rows, read::conflict).map_err(|b| self.bad(b))
    }

    /// The host that runs (or ran) a session; `None` for an unknown session.
    pub async fn session_host(&self, id: SessionId) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT host FROM sessions WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.sql_err(e))
    }

    /// The host that holds a conflict; `None` for an unknown conflict.
    pub async fn conflict_host(&self, id: ConflictId) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT host FROM conflicts WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.sql_err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_stay_in_range() {
        assert_eq!(micros(Duration::from_millis(1500)), 1_500_000);
        assert_eq!(micros(Duration::ZERO), 0);
        assert!(micros(Duration::MAX) > 0);
        assert!(micros(Duration::MAX) < i64::MAX / 2);
    }

    #[test]
    fn epoch_expression() {
        assert_eq!(epoch_us!("seen_at"), "(extract(epoch FROM seen_at) * 1000000)::bigint");
    }
}
