//! The part of pruning both SQL stores share: in which order one batch's IDs are chosen for one kind of
//! record (the events of one level, or ended sessions), matching `synccenter_core::retention::plan`. Each
//! store answers the three queries of [`Candidates`] in its dialect; nothing here touches a driver.

use std::future::Future;

use synccenter_core::{EventLevel, Keep, RetentionPolicy, Timestamp};

/// The queries a store answers for one kind of record. Times are stored microseconds.
pub trait Candidates {
    /// A record's ID as the store reads it.
    type Id;
    /// The driver's error.
    type Error;

    /// Switches the queries to events of `level`, or to ended sessions (`None`).
    fn kind(&mut self, level: Option<EventLevel>);

    /// IDs of records created before `cutoff`, oldest first, at most `limit`.
    fn older(&mut self, cutoff: i64, limit: i64) -> impl Future<Output = Result<Vec<Self::Id>, Self::Error>> + Send;

    /// Handlers with more than `max` records, with how many they have.
    fn over(&mut self, max: i64) -> impl Future<Output = Result<Vec<(String, i64)>, Self::Error>> + Send;

    /// Of `handler`'s oldest `excess` records, the IDs of those not created before `from`, at most `limit`.
    fn oldest(
        &mut self,
        handler: String,
        excess: i64,
        from: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Self::Id>, Self::Error>> + Send;
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
/// `synccenter_core::retention::plan`: events level by level, then ended sessions.
pub async fn choose<C: Candidates>(
    c: &mut C,
    policy: &RetentionPolicy,
    now: Timestamp,
    limit: u32,
) -> Result<Chosen<C::Id>, C::Error> {
    let mut chosen = Chosen { events: Vec::new(), sessions: Vec::new(), more: false };
    for level in [EventLevel::Info, EventLevel::Warning, EventLevel::Error] {
        c.kind(Some(level));
        let (ids, more) = past(c, policy.events(level), now, i64::from(limit) - chosen.events.len() as i64).await?;
        chosen.events.extend(ids);
        chosen.more |= more;
    }
    c.kind(None);
    let (ids, more) = past(c, policy.sessions, now, i64::from(limit) - chosen.events.len() as i64).await?;
    chosen.sessions = ids;
    chosen.more |= more;
    Ok(chosen)
}

/// The IDs past `keep` at `now`, at most `room`: by age, then per handler over the count; and whether there
/// were more than `room`.
async fn past<C: Candidates>(c: &mut C, keep: Keep, now: Timestamp, room: i64) -> Result<(Vec<C::Id>, bool), C::Error> {
    let mut ids = Vec::new();
    // One more than there is room for tells whether the limit cut the list short.
    let want = |ids: &Vec<C::Id>| room + 1 - ids.len() as i64;
    let cutoff = keep.cutoff(now);
    if let Some(cutoff) = cutoff {
        let found = c.older(cutoff.as_micros(), want(&ids)).await?;
        ids.extend(found);
    }
    if let Some(max) = keep.max_count
        && want(&ids) > 0
    {
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let from = cutoff.map_or(i64::MIN, Timestamp::as_micros);
        for (handler, total) in c.over(max).await? {
            if want(&ids) <= 0 {
                break;
            }
            let found = c.oldest(handler, total - max, from, want(&ids)).await?;
            ids.extend(found);
        }
    }
    let more = ids.len() as i64 > room;
    ids.truncate(room.max(0) as usize);
    Ok((ids, more))
}
