//! Order between syncs as plain state, so the rules are tested without a runtime: [`After`] decides when an
//! item with `after` runs or is skipped, [`Gate`] keeps runs of one exclusive group from overlapping.
//!
//! Neither reads a clock. `After` counts with its own sequence numbers, not times: a run that ends in the same
//! microsecond as another starts (a test's frozen clock, a coarse clock) must still be ordered.

use std::collections::{BTreeSet, HashMap, VecDeque};

use synccenter_config::ItemRef;
use synccenter_core::{HandlerId, ItemId, ProgressStatus, SessionId};

/// An item of a handler.
pub(crate) type Key = (HandlerId, ItemId);

/// What `after` makes of an item now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Some item it runs after has not finished a run since its own last run.
    Wait,
    /// All of them finished and succeeded: it runs.
    Run,
    /// All of them finished, not all succeeded: it does not run; why, in words.
    Skip(String),
}

/// The cycle of each item with `after`: which runs ended, and where each item's current cycle began.
#[derive(Debug, Default)]
pub(crate) struct After {
    seq: u64,
    /// The last final end of each item (a failure still to be retried is not one), with its number.
    ends: HashMap<Key, (u64, ProgressStatus)>,
    /// Where each item's cycle began: its last start or skip, or when it appeared.
    since: HashMap<Key, u64>,
}

impl After {
    fn next(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// The configuration lists exactly `keys`: new items count ends from now on, gone ones are forgotten.
    pub(crate) fn configured(&mut self, keys: &BTreeSet<Key>) {
        self.ends.retain(|k, _| keys.contains(k));
        self.since.retain(|k, _| keys.contains(k));
        let now = self.next();
        for k in keys {
            self.since.entry(k.clone()).or_insert(now);
        }
    }

    /// An item's run ended for good (no retry pending) with `status`.
    pub(crate) fn ended(&mut self, key: Key, status: ProgressStatus) {
        let n = self.next();
        self.ends.insert(key, (n, status));
    }

    /// An item started (or was skipped): a new cycle begins for it.
    pub(crate) fn started(&mut self, key: Key) {
        let n = self.next();
        self.since.insert(key, n);
    }

    /// What `after` makes of `key` now.
    pub(crate) fn verdict(&self, key: &Key, after: &[ItemRef]) -> Verdict {
        if after.is_empty() {
            return Verdict::Wait;
        }
        let since = self.since.get(key).copied().unwrap_or(0);
        let mut failed = Vec::new();
        for p in after {
            match self.ends.get(&(p.handler.clone(), p.item.clone())) {
                Some((n, status)) if *n > since => {
                    if *status != ProgressStatus::Succeeded {
                        failed.push(format!("{p} {}", ended_how(*status)));
                    }
                }
                _ => return Verdict::Wait,
            }
        }
        if failed.is_empty() { Verdict::Run } else { Verdict::Skip(failed.join(", ")) }
    }
}

fn ended_how(status: ProgressStatus) -> &'static str {
    match status {
        ProgressStatus::Canceled => "was stopped",
        ProgressStatus::Disconnected => "was disconnected",
        _ => "failed",
    }
}

/// A run that waits for its exclusive groups.
#[derive(Debug)]
struct Queued<L> {
    session: SessionId,
    groups: BTreeSet<String>,
    label: String,
    launch: L,
}

/// The runs holding exclusive groups and those waiting for them, first come first served. `L` is what starts
/// a run.
#[derive(Debug)]
pub(crate) struct Gate<L> {
    /// Runs going, with their groups and a label for messages (`handler/item, ...`).
    running: Vec<(SessionId, BTreeSet<String>, String)>,
    queue: VecDeque<Queued<L>>,
}

impl<L> Default for Gate<L> {
    fn default() -> Self {
        Self { running: Vec::new(), queue: VecDeque::new() }
    }
}

impl<L> Gate<L> {
    /// A run with `groups` wants to start: `Ok` hands `launch` back to start it now (it holds its groups until
    /// [`Gate::release`]), `Err` says what it waits for (it is queued).
    pub(crate) fn admit(
        &mut self,
        session: SessionId,
        groups: BTreeSet<String>,
        label: String,
        launch: L,
    ) -> Result<L, String> {
        if groups.is_empty() {
            return Ok(launch);
        }
        if let Some(why) = self.busy(&groups, self.queue.len()) {
            self.queue.push_back(Queued { session, groups, label, launch });
            return Err(why);
        }
        self.running.push((session, groups, label));
        Ok(launch)
    }

    /// Why a run with `groups` cannot start, behind the first `ahead` queued runs; `None` when it can.
    fn busy(&self, groups: &BTreeSet<String>, ahead: usize) -> Option<String> {
        for (_, held, label) in &self.running {
            if let Some(g) = held.intersection(groups).next() {
                return Some(format!("waiting for exclusive group {g:?}: {label} is running"));
            }
        }
        for q in self.queue.iter().take(ahead) {
            if let Some(g) = q.groups.intersection(groups).next() {
                return Some(format!("waiting for exclusive group {g:?}: behind {}", q.label));
            }
        }
        None
    }

    /// `session` ended (or never ran): its groups are free. Returns the queued runs that start now, in order.
    pub(crate) fn release(&mut self, session: SessionId) -> Vec<(SessionId, L)> {
        self.running.retain(|(s, _, _)| *s != session);
        self.queue.retain(|q| q.session != session);
        let mut started = Vec::new();
        let mut i = 0;
        while i < self.queue.len() {
            if self.busy(&self.queue[i].groups, i).is_some() {
                i += 1;
                continue;
            }
            let Some(q) = self.queue.remove(i) else { break };
            self.running.push((q.session, q.groups, q.label));
            started.push((q.session, q.launch));
        }
        started
    }

    /// Every queued run, in order, with what it waits for now.
    pub(crate) fn waiting(&self) -> Vec<(SessionId, String)> {
        let why = |(i, q): (usize, &Queued<L>)| Some((q.session, self.busy(&q.groups, i)?));
        self.queue.iter().enumerate().filter_map(why).collect()
    }

    /// The queued run of `session`, if it waits.
    pub(crate) fn queued(&self, session: SessionId) -> Option<&L> {
        self.queue.iter().find(|q| q.session == session).map(|q| &q.launch)
    }

    /// Takes `session` out of the queue (it was stopped: it starts outside the groups, to end at once).
    pub(crate) fn take(&mut self, session: SessionId) -> Option<L> {
        let at = self.queue.iter().position(|q| q.session == session)?;
        self.queue.remove(at).map(|q| q.launch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(h: &str, i: &str) -> Key {
        (HandlerId::new(h).unwrap(), ItemId::new(i).unwrap())
    }

    fn r(h: &str, i: &str) -> ItemRef {
        let (handler, item) = key(h, i);
        ItemRef { handler, item }
    }

    fn groups(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    fn session(n: u128) -> SessionId {
        SessionId(uuid_v4::Uuid::from_u128(n))
    }

    /// `o/x` after `l/p1` and `l/p2`, all configured: the state, the three keys, and x's `after`.
    fn two_predecessors() -> (After, [Key; 3], [ItemRef; 2]) {
        let mut a = After::default();
        let keys = [key("o", "x"), key("l", "p1"), key("l", "p2")];
        a.configured(&keys.iter().cloned().collect());
        (a, keys, [r("l", "p1"), r("l", "p2")])
    }

    #[test]
    fn an_item_runs_once_per_cycle_when_all_its_predecessors_succeeded() {
        let (mut a, [x, p1, p2], after) = two_predecessors();
        assert_eq!(a.verdict(&x, &after), Verdict::Wait, "nothing finished yet");
        a.ended(p1.clone(), ProgressStatus::Succeeded);
        assert_eq!(a.verdict(&x, &after), Verdict::Wait, "p2 has not finished");
        a.ended(p1.clone(), ProgressStatus::Succeeded);
        a.ended(p2.clone(), ProgressStatus::Succeeded);
        assert_eq!(a.verdict(&x, &after), Verdict::Run);
        a.started(x.clone());
        assert_eq!(a.verdict(&x, &after), Verdict::Wait, "once per cycle");
        a.ended(p2.clone(), ProgressStatus::Succeeded);
        assert_eq!(a.verdict(&x, &after), Verdict::Wait, "p1 has not finished again");
        a.ended(p1, ProgressStatus::Succeeded);
        assert_eq!(a.verdict(&x, &after), Verdict::Run);
        assert_eq!(a.verdict(&x, &[]), Verdict::Wait, "an item without after is never run by it");
    }

    #[test]
    fn a_failed_or_stopped_predecessor_skips_the_cycle_naming_it() {
        let (mut a, [x, p1, p2], after) = two_predecessors();
        a.ended(p1.clone(), ProgressStatus::Failed);
        assert_eq!(a.verdict(&x, &after), Verdict::Wait, "skipped only once all finished");
        a.ended(p2.clone(), ProgressStatus::Canceled);
        assert_eq!(a.verdict(&x, &after), Verdict::Skip("l/p1 failed, l/p2 was stopped".into()));
        a.started(x.clone());
        assert_eq!(a.verdict(&x, &after), Verdict::Wait, "a skip uses the cycle up");
        a.ended(p1, ProgressStatus::Succeeded);
        a.ended(p2, ProgressStatus::Disconnected);
        assert_eq!(a.verdict(&x, &after), Verdict::Skip("l/p2 was disconnected".into()));
    }

    #[test]
    fn ends_before_an_item_appeared_do_not_count_and_gone_items_are_forgotten() {
        let mut a = After::default();
        let (x, p) = (key("o", "x"), key("l", "p"));
        a.configured(&[p.clone()].into());
        a.ended(p.clone(), ProgressStatus::Succeeded);
        a.configured(&[x.clone(), p.clone()].into());
        assert_eq!(a.verdict(&x, &[r("l", "p")]), Verdict::Wait, "x came with a reload after p's end");
        a.ended(p.clone(), ProgressStatus::Succeeded);
        a.configured(&[x.clone()].into());
        assert_eq!(a.verdict(&x, &[r("l", "p")]), Verdict::Wait, "p's end left with p");
    }

    #[test]
    fn runs_of_one_group_never_overlap_and_start_in_order() {
        let mut g: Gate<u32> = Gate::default();
        assert_eq!(g.admit(session(1), groups(&["disk"]), "a/1".into(), 1), Ok(1));
        assert_eq!(g.admit(session(9), groups(&[]), "z/9".into(), 9), Ok(9), "no group: never waits");
        assert_eq!(g.admit(session(5), groups(&["net"]), "n/5".into(), 5), Ok(5), "another group is free");
        let why = g.admit(session(2), groups(&["disk", "net"]), "b/2".into(), 2).unwrap_err();
        assert_eq!(why, "waiting for exclusive group \"disk\": a/1 is running");
        let why = g.admit(session(3), groups(&["net"]), "c/3".into(), 3).unwrap_err();
        assert!(why.contains("n/5 is running"), "{why}");
        let why = g.admit(session(4), groups(&["disk"]), "d/4".into(), 4).unwrap_err();
        assert!(why.contains("a/1 is running"), "{why}");
        // net frees first, but 3 may not overtake 2, which waits for net too.
        assert!(g.release(session(5)).is_empty(), "2 still waits for disk; 3 stays behind it");
        assert_eq!(g.release(session(1)), vec![(session(2), 2)], "2 first, holding disk and net");
        let now: Vec<(SessionId, String)> = vec![
            (session(3), "waiting for exclusive group \"net\": b/2 is running".into()),
            (session(4), "waiting for exclusive group \"disk\": b/2 is running".into()),
        ];
        assert_eq!(g.waiting(), now, "what the queued runs wait for now");
        assert_eq!(g.release(session(2)), vec![(session(3), 3), (session(4), 4)], "then both, in order");
        assert!(g.release(session(3)).is_empty() && g.release(session(4)).is_empty());
        assert_eq!(g.admit(session(6), groups(&["disk"]), "e/6".into(), 6), Ok(6), "all free again");
    }

    #[test]
    fn a_queued_run_that_ends_or_is_taken_leaves_the_queue() {
        let mut g: Gate<u32> = Gate::default();
        assert_eq!(g.admit(session(1), groups(&["g"]), "a/1".into(), 1), Ok(1));
        assert!(g.admit(session(2), groups(&["g"]), "b/2".into(), 2).is_err());
        let why = g.admit(session(3), groups(&["g"]), "c/3".into(), 3).unwrap_err();
        assert!(why.contains("a/1 is running"), "{why}");
        assert_eq!(g.queued(session(2)), Some(&2));
        assert_eq!(g.take(session(2)), Some(2));
        assert_eq!(g.queued(session(2)), None);
        assert!(g.release(session(3)).is_empty(), "a queued run's end starts nothing");
        assert!(g.release(session(1)).is_empty(), "nothing is left");
    }
}
