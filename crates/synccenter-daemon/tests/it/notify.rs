//! `sd_notify` through the daemon: items of `config.toml` whose scripts use Debian's `systemd-notify`. A
//! silent run with a watchdog ends failed with an error event that says it hung; a failing run's `ERRNO=`
//! is in its failure event. Waits are on the feed and the run's result push.

use serde_json::{Value, json};
use synccenter_test_support::{RawConn, TestDaemon, program, require};

/// One item running `sh -c script`, with `extra` item lines.
fn config(script: &str, extra: &str) -> String {
    let command = json!(["sh", "-c", script]);
    format!(
        "[[handler]]\nid = \"n\"\nname = \"N\"\n\n[[handler.item]]\nid = \"i\"\nname = \"I\"\nkind = \"script\"\ncommand = {command}\n{extra}\n"
    )
}

/// Starts a daemon on `config`, runs its handler to the end; returns the ended session update and the item's
/// events.
async fn run_to_end(config: &str) -> (Value, Vec<Value>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config).expect("write config.toml");
    let d = TestDaemon::start_with(dir, |cfg| cfg.config_file = Some(path)).await;
    let mut watch: RawConn = d.raw().await;
    watch.ok("subscribe", json!({})).await;
    let mut ctl = d.raw().await;
    ctl.ok("control.start", json!({"handler": "n"})).await;
    let ended = loop {
        let u = watch.next_push_of("update").await["params"].clone();
        if u["type"] == "session_ended" && u["handler"] == "n" {
            break u;
        }
    };
    let _ = ctl.next_push_of("control.sync_result").await;
    let events = ctl.ok("events.list", json!({"handler": "n", "item": "i", "limit": 100})).await;
    (ended, events["events"].as_array().cloned().unwrap_or_default())
}

fn ready() -> bool {
    synccenter_platform::notify::SUPPORTED && require("systemd-notify", program("systemd-notify")).is_some()
}

fn errors(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["level"] == "error")
        .map(|e| e["description"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_item_with_a_watchdog_is_stopped_as_hung() {
    if !ready() {
        return;
    }
    let (ended, events) =
        run_to_end(&config("systemd-notify --status=started WATCHDOG=1 && exec sleep 1000", "watchdog = \"1s\"")).await;
    assert_eq!(ended["status"], "failed", "{ended}");
    let errors = errors(&events);
    assert!(errors.iter().any(|d| d.contains("stopped as hung: no WATCHDOG=1 or progress for 1s")), "{errors:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_errno_of_a_failing_item_is_in_its_failure_event() {
    if !ready() {
        return;
    }
    let (ended, events) = run_to_end(&config("systemd-notify ERRNO=28 && exit 3", "")).await;
    assert_eq!(ended["status"], "failed", "{ended}");
    let errors = errors(&events);
    assert!(errors.iter().any(|d| d.contains("the command reported ERRNO=28 (No space left on device)")), "{errors:?}");
}
