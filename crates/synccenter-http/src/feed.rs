//! The live feed's memory: the last [`FEED_CAPACITY`] updates of the daemon's `subscribe`, each with the id
//! `<epoch>-<seq>`, so a stream that reconnects gets exactly what it missed. The epoch names one connection to
//! the daemon (the daemon's start time and a reconnect counter), so an id from before a daemon restart or a
//! reconnect never resumes into the wrong sequence.

use std::collections::VecDeque;
use std::sync::Arc;

/// How many updates the ring buffer keeps for resuming streams.
pub const FEED_CAPACITY: usize = 10_000;

/// One update as kept and sent.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) seq: u64,
    pub(crate) data: Arc<str>,
}

/// What live streams hear.
#[derive(Clone, Debug)]
pub(crate) enum Live {
    /// A new update and its `<epoch>-<seq>` id.
    Update { id: String, entry: Entry },
    /// The daemon connection dropped; a reset follows once it is back.
    Down,
    /// A new epoch started: reload from a snapshot.
    Reset { epoch: String },
}

/// The ring buffer and its epoch.
#[derive(Debug)]
pub(crate) struct Feed {
    pub(crate) epoch: String,
    /// Every update with a larger seq than this is in `buf` (up to `head`).
    floor: u64,
    pub(crate) head: u64,
    buf: VecDeque<Entry>,
    generation: u64,
}

impl Feed {
    /// The first epoch of a connection to a daemon started at `started_at`, whose snapshot reflects `seq`.
    pub(crate) fn new(started_at: &str, seq: u64) -> Feed {
        Feed { epoch: epoch_of(started_at, 0), floor: seq, head: seq, buf: VecDeque::new(), generation: 0 }
    }

    /// Keeps one update (dropping the oldest beyond [`FEED_CAPACITY`]) and says what live streams hear of it.
    pub(crate) fn push(&mut self, seq: u64, data: Arc<str>) -> Live {
        let entry = Entry { seq, data };
        self.head = seq;
        self.buf.push_back(entry.clone());
        while self.buf.len() > FEED_CAPACITY {
            if let Some(old) = self.buf.pop_front() {
                self.floor = old.seq;
            }
        }
        Live::Update { id: self.id(seq), entry }
    }

    /// Starts a new epoch after a reconnect, forgetting the buffer, and says what live streams hear of it.
    pub(crate) fn restart(&mut self, started_at: &str, seq: u64) -> Live {
        self.generation += 1;
        self.epoch = epoch_of(started_at, self.generation);
        self.floor = seq;
        self.head = seq;
        self.buf.clear();
        Live::Reset { epoch: self.epoch.clone() }
    }

    /// The buffered updates after `seq`, when `id` names this epoch and a seq the buffer covers.
    pub(crate) fn missed_since(&self, id: &str) -> Option<Vec<(String, Entry)>> {
        let (epoch, seq) = parse_id(id)?;
        if epoch != self.epoch || seq < self.floor || seq > self.head {
            return None;
        }
        Some(self.buf.iter().filter(|e| e.seq > seq).map(|e| (self.id(e.seq), e.clone())).collect())
    }

    fn id(&self, seq: u64) -> String {
        format!("{}-{seq}", self.epoch)
    }
}

/// Splits `<epoch>-<seq>`.
fn parse_id(id: &str) -> Option<(&str, u64)> {
    let (epoch, seq) = id.trim().rsplit_once('-')?;
    Some((epoch, seq.parse().ok()?))
}

fn epoch_of(started_at: &str, generation: u64) -> String {
    let digits: String = started_at.chars().filter(char::is_ascii_digit).collect();
    format!("{digits}.{generation}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(floor: u64, seqs: &[u64]) -> Feed {
        Feed {
            epoch: "20250101.0".into(),
            floor,
            head: seqs.last().copied().unwrap_or(floor),
            buf: seqs.iter().map(|&seq| Entry { seq, data: Arc::from("{}") }).collect(),
            generation: 0,
        }
    }

    #[test]
    fn ids_parse() {
        assert_eq!(parse_id("20250101.3-17"), Some(("20250101.3", 17)));
        assert_eq!(parse_id("nonsense"), None);
        assert_eq!(epoch_of("2025-01-01T10:00:00Z", 2), "20250101100000.2");
    }

    #[test]
    fn resume_only_within_the_epoch_and_buffer() {
        let f = feed(5, &[6, 7, 9]);
        let missed = f.missed_since("20250101.0-7").expect("resumable");
        assert_eq!(missed.iter().map(|(_, e)| e.seq).collect::<Vec<_>>(), vec![9]);
        assert_eq!(missed[0].0, "20250101.0-9");
        assert!(f.missed_since("20250101.0-5").is_some_and(|m| m.len() == 3));
        assert!(f.missed_since("20250101.0-4").is_none(), "before the buffer");
        assert!(f.missed_since("20250101.0-10").is_none(), "from the future");
        assert!(f.missed_since("20250101.1-7").is_none(), "another epoch");
    }

    #[test]
    fn a_restart_is_a_new_epoch_with_an_empty_buffer() {
        let mut f = Feed::new("2025-01-01T00:00:00Z", 3);
        assert!(matches!(f.push(4, Arc::from("{}")), Live::Update { ref id, .. } if id == "20250101000000.0-4"));
        assert!(f.missed_since("20250101000000.0-3").is_some_and(|m| m.len() == 1));
        assert!(
            matches!(f.restart("2025-01-02T00:00:00Z", 9), Live::Reset { ref epoch } if epoch == "20250102000000.1")
        );
        assert!(f.missed_since("20250101000000.0-4").is_none(), "the old epoch");
        assert!(f.missed_since("20250102000000.1-9").is_some_and(|m| m.is_empty()));
    }
}
