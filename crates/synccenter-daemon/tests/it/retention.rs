//! Bounded history (issue 20): the daemon prunes events and ended sessions past `[retention]` in the
//! background, by count at once and by age as the (injected) clock moves on; errors outlive information, and
//! a live session is never removed.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use synccenter_core::{Clock, ManualClock, Timestamp};
use synccenter_daemon::Pruning;
use synccenter_test_support::{RawConn, TestDaemon};
use tokio::sync::watch;

const DAY: u64 = 24 * 60 * 60;

const CONFIG: &str = r#"
[retention]
info = { max_age = "30d", max_count = 3 }
error = { max_age = "365d" }
sessions = { max_age = "90d" }
"#;

/// Waits until two more passes have finished than had when called, so that one whole pass began after
/// everything acknowledged before the call.
async fn two_passes(passes: &mut watch::Receiver<u64>) {
    let seen = *passes.borrow_and_update();
    let waited = tokio::time::timeout(Duration::from_secs(60), passes.wait_for(|n| *n >= seen + 2)).await;
    assert!(matches!(waited, Ok(Ok(_))), "no pruning pass finished within 60 s");
}

async fn total(c: &mut RawConn, filter: Value) -> u64 {
    c.ok("events.list", filter).await["total"].as_u64().expect("total")
}

async fn history(c: &mut RawConn) -> usize {
    c.ok("sessions.history", json!({})).await["sessions"].as_array().expect("sessions").len()
}

#[tokio::test]
async fn history_past_the_configured_retention_is_pruned_in_the_background() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, CONFIG).expect("write config.toml");
    let clock = Arc::new(ManualClock::new(Timestamp::from_micros(1_800_000_000_000_000)));
    let (tx, mut passes) = watch::channel(0);
    let injected: Arc<dyn Clock> = clock.clone();
    let daemon = TestDaemon::start_with(dir, |cfg| {
        cfg.config_file = Some(config);
        cfg.clock = Some(injected);
        cfg.pruning = Pruning {
            first: Duration::ZERO,
            every: Duration::from_millis(5),
            batch: 2,
            pause: Duration::ZERO,
            passes: Some(tx),
            ..Pruning::default()
        };
    })
    .await;
    let mut c = daemon.raw().await;
    c.setup("nas", &["docs"], json!({})).await;
    let ended = c.session("nas", &["docs"]).await;
    for i in 0..5 {
        let event = json!({"session": ended, "level": "info", "name": "copied", "description": format!("file {i}")});
        c.ok("session.report_event", event).await;
    }
    let error = json!({"session": ended, "level": "error", "name": "failed", "description": "disk full"});
    c.ok("session.report_event", error).await;
    c.ok("session.end", json!({"session": ended})).await;
    let live = c.session("nas", &["docs"]).await;

    two_passes(&mut passes).await;
    assert_eq!(total(&mut c, json!({"levels": ["info"]})).await, 3, "the newest 3 informational events stay");
    let newest = c.ok("events.list", json!({"levels": ["info"], "limit": 1})).await;
    assert_eq!(newest["events"][0]["description"], "file 4", "{newest}");
    assert_eq!(total(&mut c, json!({"levels": ["error"]})).await, 1);

    clock.advance(Duration::from_secs(31 * DAY));
    two_passes(&mut passes).await;
    assert_eq!(total(&mut c, json!({"levels": ["info"]})).await, 0, "past 30 days");
    assert_eq!(total(&mut c, json!({"levels": ["error"]})).await, 1, "errors are kept a year");
    assert_eq!(history(&mut c).await, 2, "sessions are kept 90 days");

    clock.advance(Duration::from_secs(60 * DAY));
    two_passes(&mut passes).await;
    let left = c.ok("sessions.history", json!({})).await;
    assert_eq!(left["sessions"].as_array().map(Vec::len), Some(1), "{left}");
    assert_eq!(left["sessions"][0]["session"], live.as_str(), "the live session stays: {left}");
    daemon.stop().await;
}
