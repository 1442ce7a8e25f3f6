//! Bounded history: a background task that removes events and session history past the `[retention]` policy
//! (issue 20), so that nothing grows without bound and no person has to clear it.
//!
//! Each pass calls `Store::prune` for one small batch at a time and rests between batches (at least
//! `Pruning::pause`, and four times as long as the batch took), so pruning holds the store's write path for at
//! most one short transaction at a time: the writer's commits, and the acknowledgements behind them, wait at
//! most one batch. In SQLite a batch takes the same connection `apply` writes on, so the two never contend for
//! the file's lock; in PostgreSQL it is one short transaction of its own. The policy is read from the
//! configuration file at each pass (a reload applies at the next one); while the file is refused, the last
//! policy read is kept, and none is guessed.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use synccenter_core::{Clock, Pruned, RetentionPolicy, Store};
use tokio::sync::watch;

use crate::store::DaemonStore;

/// When and how the daemon prunes. The policy itself is the configuration file's `[retention]`.
#[derive(Clone, Debug)]
pub struct Pruning {
    /// Whether the task runs at all (the bench turns it off to measure a fixed history).
    pub enabled: bool,
    /// Time from the start to the first pass, so that the start is not slowed by it.
    pub first: Duration,
    /// Time between the end of a pass and the next.
    pub every: Duration,
    /// Records removed per batch at most (100: docs/performance.md, `history`, for why).
    pub batch: u32,
    /// Rest between batches at least.
    pub pause: Duration,
    /// Counts finished passes, for tests and the bench to wait on.
    pub passes: Option<watch::Sender<u64>>,
}

impl Default for Pruning {
    fn default() -> Self {
        Pruning {
            enabled: true,
            first: Duration::from_secs(30),
            every: Duration::from_secs(10 * 60),
            batch: 100,
            pause: Duration::from_millis(20),
            passes: None,
        }
    }
}

/// Starts the task; it stops when `stop` turns true (between two batches, so a shutdown waits at most one).
pub(crate) fn spawn(
    store: Arc<DaemonStore>,
    clock: Arc<dyn Clock>,
    config_file: Option<PathBuf>,
    settings: Pruning,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if !settings.enabled {
            return;
        }
        let mut policy = None;
        let mut wait = settings.first;
        let mut passes = 0u64;
        loop {
            if rest(wait, &mut stop).await {
                return;
            }
            wait = settings.every;
            policy = read_policy(config_file.as_deref(), policy);
            if let Some(policy) = &policy
                && pass(&store, policy, clock.now(), &settings, &mut stop).await
            {
                return;
            }
            passes += 1;
            if let Some(tx) = &settings.passes {
                tx.send_replace(passes);
            }
        }
    })
}

/// Waits `d`; true when `stop` turned true first.
async fn rest(d: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        () = tokio::time::sleep(d) => false,
        // A closed channel: the daemon is gone.
        _ = stop.wait_for(|s| *s) => true,
    }
}

/// The configured policy: the defaults without a file; the last one read (or none) while the file is refused.
fn read_policy(file: Option<&std::path::Path>, last: Option<RetentionPolicy>) -> Option<RetentionPolicy> {
    let Some(file) = file else { return Some(RetentionPolicy::default()) };
    match synccenter_config::load_if_exists(file) {
        Ok(config) => Some(config.map_or_else(RetentionPolicy::default, |c| c.retention)),
        Err(e) => {
            tracing::warn!(file = %file.display(), "retention: the configuration is refused; keeping the last policy read:\n{e}");
            last
        }
    }
}

/// One pass: batches until the store says nothing is left. True when `stop` turned true.
async fn pass(
    store: &DaemonStore,
    policy: &RetentionPolicy,
    now: synccenter_core::Timestamp,
    settings: &Pruning,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    let mut total = Pruned::default();
    let started = tokio::time::Instant::now();
    let stopped = loop {
        let t = tokio::time::Instant::now();
        match store.prune(policy, now, settings.batch).await {
            Ok(batch) => {
                total.events += batch.events;
                total.sessions += batch.sessions;
                if !batch.more {
                    break false;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "retention: pruning failed; trying again at the next pass");
                break false;
            }
        }
        if rest(settings.pause.max(t.elapsed() * 4), stop).await {
            break true;
        }
    };
    if total.removed() > 0 {
        let seconds = started.elapsed().as_secs_f64();
        tracing::info!(events = total.events, sessions = total.sessions, seconds, "retention: removed old history");
    }
    stopped
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use synccenter_core::{Keep, RetentionPolicy};

    use super::read_policy;

    #[test]
    fn the_policy_comes_from_the_file_or_the_defaults_and_a_refused_file_changes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("config.toml");
        assert_eq!(read_policy(None, None), Some(RetentionPolicy::default()), "no configuration file");
        assert_eq!(read_policy(Some(&file), None), Some(RetentionPolicy::default()), "a missing file");

        std::fs::write(&file, "[retention]\ninfo = { max_age = \"1d\" }\n").expect("write");
        let read = read_policy(Some(&file), None).expect("a valid file");
        let day = Keep { max_age: Some(Duration::from_secs(86_400)), ..RetentionPolicy::default().info };
        assert_eq!(read.info, day);

        std::fs::write(&file, "[retention]\ninfo = { max_age = \"soon\" }\n").expect("write");
        assert_eq!(read_policy(Some(&file), Some(read)), Some(read), "the last policy read is kept");
        assert_eq!(read_policy(Some(&file), None), None, "no policy is guessed");
    }
}
