//! Order between syncs end to end (issue 20): `after` and exclusive groups on a real daemon running real
//! command runs (shell scripts), a failed predecessor among them.
//!
//! Every wait is on what the daemon pushes; where a script must hold a run open, it waits for a file the test
//! creates. Scripts check order for themselves (a marker that must, or must not, exist when they run), so an
//! overlap fails the run and the test, whatever the timing.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use synccenter_test_support::RawConn;

use super::commands::{
    PROBE, Y2030, arr, ended_sessions, is_session_ended, is_session_started, item_events, manual_clock, next_update,
    one_more_tick, path_str, q, start, until_update, wait_ended_sessions,
};

/// A `[[handler]]` with script items, each `(id, shell script, extra lines)`.
fn handler(id: &str, items: &[(&str, &str, &str)]) -> String {
    handler_with(id, "", items)
}

/// [`handler`] with `extra` lines in the `[[handler]]` table.
fn handler_with(id: &str, extra: &str, items: &[(&str, &str, &str)]) -> String {
    let mut s = format!("[[handler]]\nid = {h}\nname = {h}\n{extra}\n\n", h = q(id));
    for (item, script, extra) in items {
        s.push_str(&format!(
            "[[handler.item]]\nid = {i}\nname = {i}\nkind = \"script\"\ncommand = {c}\n{extra}\n\n",
            i = q(item),
            c = arr(&["sh", "-c", script]),
        ));
    }
    s
}

/// Feed updates until `done` accepts everything seen so far; returns them all.
async fn collect_until(w: &mut RawConn, mut done: impl FnMut(&[Value]) -> bool) -> Vec<Value> {
    let mut seen = Vec::new();
    while !done(&seen) {
        seen.push(next_update(w).await);
    }
    seen
}

fn is_skip_of(u: &Value, handler: &str, item: &str) -> bool {
    let e = &u["event"];
    u["type"] == "event_added" && e["handler"] == handler && e["item"] == item && e["name"] == "Run skipped"
}

fn count(seen: &[Value], pred: impl Fn(&Value) -> bool) -> usize {
    seen.iter().filter(|u| pred(u)).count()
}

/// `touch FILE` for a script.
fn touch(file: &Path) -> String {
    format!("touch '{}'", path_str(file))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_runs_once_per_cycle_when_its_predecessors_succeeded_and_skips_after_a_failure() {
    let clock = manual_clock(Y2030);
    let dir = tempfile::tempdir().expect("tempdir");
    let (copied, guarded) = (dir.path().join("copied"), dir.path().join("guarded-ran"));
    let config = [
        handler("local", &[("ok", "exit 0", ""), ("bad", "echo disk full >&2; exit 1", "retry = { attempts = 1 }")]),
        handler(
            "offsite",
            &[
                ("copy", &format!("echo >> '{}'", path_str(&copied)), "after = [\"local/ok\"]"),
                ("guarded", &touch(&guarded), "after = [\"local/ok\", \"local/bad\"]"),
            ],
        ),
        PROBE.to_owned(),
    ]
    .concat();
    let mut rig = start(dir, &config, Some(&clock)).await;

    for cycle in 1..=2 {
        rig.ctl.ok("control.start", json!({"handler": "local"})).await;
        let seen = collect_until(&mut rig.watch, |seen| {
            count(seen, |u| is_session_ended(u, "offsite")) == 1
                && count(seen, |u| is_skip_of(u, "offsite", "guarded")) == 1
        })
        .await;
        let started: Vec<&Value> = seen.iter().filter(|u| is_session_started(u, "offsite")).collect();
        assert_eq!(started.len(), 1, "cycle {cycle}: {seen:#?}");
        let session = &started[0]["session"];
        assert_eq!(session["manual"], false, "{session}");
        let items: Vec<&Value> = session["items"].as_array().expect("items").iter().map(|i| &i["item"]).collect();
        assert_eq!(items, [&json!("copy")], "only the item whose predecessors succeeded runs: {session}");
        let ended = seen.iter().find(|u| is_session_ended(u, "offsite")).expect("ended");
        assert_eq!(ended["status"], "succeeded", "{ended}");
        // The copy started after its predecessor's end.
        let ok_end =
            seen.iter().position(|u| u["type"] == "progress" && u["item"] == "ok" && u["status"] == "succeeded");
        let copy_start = seen.iter().position(|u| is_session_started(u, "offsite"));
        assert!(ok_end.expect("local/ok ended") < copy_start.expect("copy started"), "cycle {cycle}: {seen:#?}");
        let skip = seen.iter().find(|u| is_skip_of(u, "offsite", "guarded")).expect("skip");
        assert_eq!(skip["event"]["level"], "warning", "{skip}");
        let why = skip["event"]["description"].as_str().unwrap_or_default();
        assert!(why.contains("local/bad failed") && !why.contains("local/ok"), "{why}");
        assert_eq!(std::fs::read_to_string(&copied).expect("copied").lines().count(), cycle, "once per cycle");
    }
    assert!(!guarded.exists(), "an item after a failed one never ran");

    // A later housekeeping tick starts nothing more: each cycle is used up.
    let between = one_more_tick(&mut rig, &clock, Duration::from_secs(31 * 60)).await;
    assert!(!between.iter().any(|u| is_session_started(u, "offsite")), "{between:#?}");
    assert_eq!(ended_sessions(&mut rig.ctl, "offsite").await.len(), 2);
    let skips = item_events(&mut rig.ctl, "offsite", "guarded").await;
    assert_eq!(skips.iter().filter(|e| e["name"] == "Run skipped").count(), 2, "{skips:#?}");

    // A manual start of an item with `after` runs at once, whatever its predecessors did.
    rig.ctl.ok("control.start", json!({"handler": "offsite", "items": ["guarded"]})).await;
    let (ended, _) = until_update(&mut rig.watch, |u| is_session_ended(u, "offsite")).await;
    assert_eq!(ended["status"], "succeeded", "{ended}");
    assert!(guarded.exists(), "the manual start ran it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cycle_in_after_is_refused_at_reload_naming_it_and_the_last_good_configuration_stays() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    let good =
        [handler("a", &[("one", "exit 0", "")]), handler("b", &[("two", "exit 0", "after = [\"a/one\"]")])].concat();
    let mut rig = start(dir, &good, None).await;
    let cyclic = good.replace("[[handler.item]]\nid = \"one\"", "[[handler.item]]\nafter = [\"b/two\"]\nid = \"one\"");
    std::fs::write(&path, &cyclic).expect("rewrite config.toml");
    let refused = rig.ctl.call("control.reload", json!({})).await;
    assert_eq!(refused["error"]["data"]["name"], "E_INVALIDARG", "{refused}");
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("handler[0].item[0].after"), "{message}");
    assert!(message.contains("\"a/one\" → \"b/two\" → \"a/one\" is a cycle"), "{message}");
    // The good configuration still orders runs: two follows one.
    rig.ctl.ok("control.start", json!({"handler": "a"})).await;
    let (ended, _) = until_update(&mut rig.watch, |u| is_session_ended(u, "b")).await;
    assert_eq!(ended["status"], "succeeded", "{ended}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_of_one_exclusive_group_queue_in_order_never_overlap_and_survive_a_reload() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_path_buf();
    let (running, go, go_b) = (d.join("a-running"), d.join("go"), d.join("go-b"));
    let (b_ran, c_ran, d_ran) = (d.join("b-ran"), d.join("c-ran"), d.join("d-ran"));
    let p = |f: &Path| path_str(f).to_owned();
    // a holds the group until the test lets it go; b and c fail if they overlap a or run out of order.
    let a = format!("touch '{r}'; while [ ! -e '{g}' ]; do sleep 0.05; done; rm '{r}'", r = p(&running), g = p(&go));
    let b = format!(
        "[ ! -e '{}' ] && [ ! -e '{}' ] && {}; while [ ! -e '{}' ]; do sleep 0.05; done",
        p(&running),
        p(&c_ran),
        touch(&b_ran),
        p(&go_b)
    );
    let c = format!("[ ! -e '{}' ] && [ -e '{}' ] && {}", p(&running), p(&b_ran), touch(&c_ran));
    let group = "exclusive = \"disk\"";
    let config = [
        handler("a", &[("one", &a, group)]),
        // b is in the group by its handler's key.
        handler_with("b", group, &[("two", &b, "")]),
        handler("c", &[("three", &c, group)]),
        handler("d", &[("four", &touch(&d_ran), group)]),
        handler("free", &[("five", "exit 0", "")]),
    ]
    .concat();
    let mut rig = start(dir, &config, None).await;

    rig.ctl.ok("control.start", json!({"handler": "a"})).await;
    until_update(&mut rig.watch, |u| {
        u["type"] == "progress" && u["text"].as_str().is_some_and(|t| t.starts_with("sh -c"))
    })
    .await;
    for h in ["b", "c", "d"] {
        rig.ctl.ok("control.start", json!({"handler": h})).await;
        let (started, _) = until_update(&mut rig.watch, |u| is_session_started(u, h)).await;
        assert!(started["session"]["session"].is_string(), "a queued run has its session at once: {started}");
        let (queued, _) = until_update(&mut rig.watch, |u| {
            u["type"] == "progress" && u["text"].as_str().is_some_and(|t| t.starts_with("waiting for exclusive group"))
        })
        .await;
        assert_eq!(queued["text"], "waiting for exclusive group \"disk\": a/one is running", "{queued}");
    }
    // A run outside the group is not held back.
    let free = rig.ctl.ok("control.start", json!({"handler": "free"})).await;
    assert!(free["requests"][0].is_string(), "{free}");
    until_update(&mut rig.watch, |u| is_session_ended(u, "free") && u["status"] == "succeeded").await;

    // Stopping a queued run ends it canceled at once, without running it.
    rig.ctl.ok("control.stop", json!({"handler": "d"})).await;
    let (stopped, _) = until_update(&mut rig.watch, |u| is_session_ended(u, "d")).await;
    assert_eq!(stopped["status"], "canceled", "{stopped}");
    // A reload keeps the queue.
    assert_eq!(rig.ctl.ok("control.reload", json!({})).await["handlers"], 5);
    assert!(!b_ran.exists() && !c_ran.exists(), "nothing overtook a");

    std::fs::write(&go, "").expect("let a finish");
    let (a_ended, mut seen) = until_update(&mut rig.watch, |u| is_session_ended(u, "a")).await;
    seen.push(a_ended);
    // b holds the group now; c, still queued, says so.
    let live = rig.ctl.ok("sessions.list", json!({})).await;
    let c_session = live["sessions"].as_array().and_then(|s| s.iter().find(|s| s["handler"] == "c")).cloned();
    let c_text = c_session.as_ref().map(|s| s["items"][0]["text"].clone());
    assert_eq!(c_text, Some(json!("waiting for exclusive group \"disk\": b/two is running")), "{live}");
    std::fs::write(&go_b, "").expect("let b finish");
    seen.extend(collect_until(&mut rig.watch, |seen| count(seen, |u| is_session_ended(u, "c")) == 1).await);
    let ends: Vec<(&str, &str)> = seen
        .iter()
        .filter(|u| u["type"] == "session_ended")
        .map(|u| (u["handler"].as_str().unwrap_or_default(), u["status"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(ends, [("a", "succeeded"), ("b", "succeeded"), ("c", "succeeded")], "in order, none overlapping");
    assert!(b_ran.exists() && c_ran.exists() && !d_ran.exists());
    for h in ["a", "b", "c", "d"] {
        assert_eq!(ended_sessions(&mut rig.ctl, h).await.len(), 1, "{h} ran once, never twice");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_predecessor_that_fails_and_will_be_retried_has_not_finished_its_cycle() {
    let clock = manual_clock(Y2030);
    let dir = tempfile::tempdir().expect("tempdir");
    let tried = dir.path().join("tried");
    // Fails retryably (75) the first time, succeeds the second.
    let flaky = format!("if [ -e '{t}' ]; then exit 0; fi; touch '{t}'; exit 75", t = path_str(&tried));
    let config = [
        handler("p", &[("flaky", &flaky, "retry = { attempts = 2, initial = \"1s\", jitter = 0.0 }")]),
        handler("n", &[("next", "exit 0", "after = [\"p/flaky\"]")]),
    ]
    .concat();
    let mut rig = start(dir, &config, Some(&clock)).await;

    rig.ctl.ok("control.start", json!({"handler": "p"})).await;
    let (first, _) = until_update(&mut rig.watch, |u| is_session_ended(u, "p")).await;
    assert_eq!(first["status"], "failed", "{first}");
    clock.advance(Duration::from_secs(1));
    let seen = collect_until(&mut rig.watch, |seen| count(seen, |u| is_session_ended(u, "n")) == 1).await;
    let retried = seen.iter().find(|u| is_session_ended(u, "p")).expect("the retry ended first");
    assert_eq!(retried["status"], "succeeded", "{retried}");
    let ended = seen.iter().find(|u| is_session_ended(u, "n")).expect("n ended");
    assert_eq!(ended["status"], "succeeded", "the successor ran after the successful retry: {ended}");
    assert!(!seen.iter().any(|u| is_skip_of(u, "n", "next")), "not skipped while a retry was pending: {seen:#?}");
    let events = item_events(&mut rig.ctl, "n", "next").await;
    assert!(!events.iter().any(|e| e["name"] == "Run skipped"), "{events:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_predecessors_success_before_a_restart_still_leads_to_its_successor_once() {
    let clock = manual_clock(Y2030);
    let dir = tempfile::tempdir().expect("tempdir");
    let first = handler("p", &[("src", "exit 0", "")]);
    let rig = {
        let mut rig = start(dir, &first, Some(&clock)).await;
        rig.ctl.ok("control.start", json!({"handler": "p"})).await;
        let (ended, _) = until_update(&mut rig.watch, |u| is_session_ended(u, "p")).await;
        assert_eq!(ended["status"], "succeeded", "{ended}");
        rig
    };
    // Down before the successor ran (here: before it was configured).
    let dir = rig.daemon.stop().await;
    clock.advance(Duration::from_secs(60));
    let second = [first, handler("n", &[("dst", "exit 0", "after = [\"p/src\"]")]), PROBE.to_owned()].concat();
    let mut rig = start(dir, &second, Some(&clock)).await;
    let ran = wait_ended_sessions(&mut rig, "n", 1).await;
    assert_eq!(ran[0]["status"], "succeeded", "{ran:#?}");
    let dir = rig.daemon.stop().await;

    // Started again: the successor's run is newer than its predecessor's end; nothing runs.
    clock.advance(Duration::from_secs(60));
    let mut rig = start(dir, &second, Some(&clock)).await;
    let between = one_more_tick(&mut rig, &clock, Duration::from_secs(31 * 60)).await;
    assert!(!between.iter().any(|u| is_session_started(u, "n")), "{between:#?}");
    assert_eq!(ended_sessions(&mut rig.ctl, "n").await.len(), 1);
}
