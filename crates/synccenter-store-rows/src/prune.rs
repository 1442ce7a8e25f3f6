//! The part of pruning both SQL stores share: in which order one batch's IDs are chosen for one kind of
//! record (the events of one level, or ended sessions), matching `synccenter_core::retention::plan`. Each
//! store answers the three queries of [`Candidates`] in its dialect; nothing here touches a driver.

use std::future::Future;

use synccenter_core::{EventLevel, Keep, RetentionPolicy, Timestamp};

/// One kind of record: the events of one level (its number), or ended sessions (`None`), with the store's
/// three statements for it: by age, the per-handler totals, by count.
#[derive(Clone, Copy, Debug)]
pub struct Kind {
    /// The event level's number; `None` for sessions.
    pub level: Option<i64>,
    /// The statements, in the order of [`Candidates`]' methods.
    pub sql: [&'static str; 3],
}

/// The queries a store answers for a [`Kind`] of record. Times are stored microseconds.
pub trait Candidates {
    /// A record's ID as the store reads it.
    type Id;
    /// The driver's error.
    type Error;

    /// IDs of records created before `cutoff`, oldest first, at most `limit` (`kind.sql[0]`).
    fn older(
        &mut self,
        kind: Kind,
        cutoff: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Self::Id>, Self::Error>> + Send;

    /// Handlers with more than `max` records, with how many they have (`kind.sql[1]`).
    fn over(&mut self, kind: Kind, max: i64) -> impl Future<Output = Result<Vec<(String, i64)>, Self::Error>> + Send;

    /// The IDs of a handler's oldest records over its count (`kind.sql[2]`).
    fn oldest(&mut self, kind: Kind, of: Excess) -> impl Future<Output = Result<Vec<Self::Id>, Self::Error>> + Send;
}

/// Of `handler`'s oldest `excess` records, those not created before `from`, at most `limit`.
#[derive(Clone, Debug)]
pub struct Excess {
    /// The handler.
    pub handler: String,
    /// How many it has over the count.
    pub excess: i64,
    /// Older ones are past the age bound, listed already.
    pub from: i64,
    /// At most this many.
    pub limit: i64,
}

/// The IDs one batch removes.
#[derive(Debug)]
pub struct Chosen<Id> {
    /// Events.
    pub events: Vec<Id>,
    /// Ended sessions.
    pub sessions: Vec<Id>,
    /// Whether the limit cut the list short.
    pub more: bool,
}

/// The records past `policy` at `now`, at most `limit` in all, in the order of
/// `synccenter_core::retention::plan`: events level by level (`sql[0]`), then ended sessions (`sql[1]`).
pub async fn choose<C: Candidates>(
    c: &mut C,
    sql: [[&'static str; 3]; 2],
    policy: &RetentionPolicy,
    now: Timestamp,
    limit: u32,
) -> Result<Chosen<C::Id>, C::Error> {
    let mut chosen = Chosen { events: Vec::new(), sessions: Vec::new(), more: false };
    for level in [EventLevel::Info, EventLevel::Warning, EventLevel::Error] {
        let kind = Kind { level: Some(i64::from(level.number())), sql: sql[0] };
        let room = i64::from(limit) - chosen.events.len() as i64;
        let (ids, more) = past(c, kind, policy.events(level), now, room).await?;
        chosen.events.extend(ids);
        chosen.more |= more;
    }
    let kind = Kind { level: None, sql: sql[1] };
    let (ids, more) = past(c, kind, policy.sessions, now, i64::from(limit) - chosen.events.len() as i64).await?;
    chosen.sessions = ids;
    chosen.more |= more;
    Ok(chosen)
}

/// The IDs past `keep` at `now`, at most `room`: by age, then per handler over the count; and whether there
/// were more than `room`.
async fn past<C: Candidates>(
    c: &mut C,
    kind: Kind,
    keep: Keep,
    now: Timestamp,
    room: i64,
) -> Result<(Vec<C::Id>, bool), C::Error> {
    let mut ids = Vec::new();
    // One more than there is room for tells whether the limit cut the list short.
    let want = |ids: &Vec<C::Id>| room + 1 - ids.len() as i64;
    let cutoff = keep.cutoff(now);
    if let Some(cutoff) = cutoff {
        let found = c.older(kind, cutoff.as_micros(), want(&ids)).await?;
        ids.extend(found);
    }
    if let Some(max) = keep.max_count
        && want(&ids) > 0
    {
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let from = cutoff.map_or(i64::MIN, Timestamp::as_micros);
        for (handler, total) in c.over(kind, max).await? {
            if want(&ids) <= 0 {
                break;
            }
            let found = c.oldest(kind, Excess { handler, excess: total - max, from, limit: want(&ids) }).await?;
            ids.extend(found);
        }
    }
    let more = ids.len() as i64 > room;
    ids.truncate(room.max(0) as usize);
    Ok((ids, more))
}
