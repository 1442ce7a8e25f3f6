//! `synccenter logs`: a command run's whole output read back as the daemon kept it, while it runs
//! (`--follow`) and after; bounded (a 100 MB line, binary garbage); removed by retention; pointed to by a
//! failed run's event. Runs are waited for on the live feed, never on the clock.

use std::os::unix::fs::PermissionsExt;

use serde_json::{Value, json};
use synccenter_test_support::{RawConn, TestDaemon};

use super::{cli, cli_json, code, finish, spawn, stderr, stdout};

/// Prints 2000 lines on each stream, 100 kB of random bytes, a 100 MB line, then a line on each stream, and
/// fails.
const NOISY: &str = r#"i=0
while [ $i -lt 2000 ]; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); done
head -c 100000 /dev/urandom
echo
head -c 100000000 /dev/zero | tr '\0' x
echo
echo "after the long line" >&2
echo "last line"
exit 3
"#;

fn config(script: &str) -> String {
    let command = Value::from(vec!["sh", "-c", script]).to_string();
    format!(
        "[[handler]]\nid = \"logs\"\nname = \"Logs\"\n\n[[handler.item]]\nid = \"noisy\"\nname = \"Noisy\"\nkind = \"script\"\ncommand = {command}\n"
    )
}

async fn daemon(script: &str, limits: synccenter_daemon::LogLimits) -> (TestDaemon, RawConn) {
    daemon_with(&config(script), limits).await
}

async fn daemon_with(config_toml: &str, limits: synccenter_daemon::LogLimits) -> (TestDaemon, RawConn) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config_toml).expect("write config.toml");
    let d = TestDaemon::start_with(dir, |cfg| {
        cfg.config_file = Some(path);
        cfg.logs = limits;
    })
    .await;
    let mut watch = d.raw().await;
    watch.ok("subscribe", json!({})).await;
    (d, watch)
}

/// Starts the handler; returns the run's session once it started.
async fn start_run(d: &TestDaemon, watch: &mut RawConn) -> String {
    let o = cli(d, &["start", "logs"]).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    loop {
        let u = watch.next_push_of("update").await["params"].clone();
        if u["type"] == "session_started" {
            return u["session"]["session"].as_str().expect("a session").to_owned();
        }
    }
}

async fn until_ended(watch: &mut RawConn, session: &str) {
    loop {
        let u = watch.next_push_of("update").await["params"].clone();
        if u["type"] == "session_ended" && u["session"] == session {
            return;
        }
    }
}

/// The lines of a log as (stream, item, text).
fn records(log: &str) -> Vec<(String, String, String)> {
    log.lines()
        .map(|l| {
            let (head, text) = l.split_once('\t').unwrap_or_else(|| panic!("no tab in {l:?}"));
            let mut parts = head.splitn(3, ' ');
            let (_time, stream, item) = (parts.next(), parts.next(), parts.next());
            (stream.expect("a stream").to_owned(), item.expect("an item").to_owned(), text.to_owned())
        })
        .collect()
}

fn texts<'a>(records: &'a [(String, String, String)], stream: &str) -> Vec<&'a str> {
    records.iter().filter(|r| r.0 == stream).map(|r| r.2.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runs_whole_output_reads_back_bounded_while_it_runs_and_after() {
    let (d, mut watch) = daemon(NOISY, synccenter_daemon::LogLimits::default()).await;
    let session = start_run(&d, &mut watch).await;
    let follow = spawn(&d, &["logs", &session, "--follow"]);
    until_ended(&mut watch, &session).await;
    let followed = finish(follow).await;
    assert_eq!(code(&followed), 0, "{}", stderr(&followed));
    let log = String::from_utf8(followed.stdout).expect("a log is UTF-8 whatever the command printed");

    let read = cli(&d, &["logs", &session, "noisy"]).await;
    assert_eq!(code(&read), 0, "{}", stderr(&read));
    assert_eq!(stdout(&read), log, "--follow printed the whole log, as a read after the end does");
    let doc = cli_json(&d, &["logs", &session]).await;
    assert_eq!(doc["text"], log.as_str());
    assert_eq!(doc["complete"], true);

    let records = records(&log);
    assert!(records.iter().all(|r| r.1 == "noisy"), "every line names its item");
    let expected = |prefix: &str| (0..2000).map(|i| format!("{prefix} {i}")).collect::<Vec<_>>();
    let out = texts(&records, "out");
    let err = texts(&records, "err");
    assert_eq!(out[..2000], expected("out")[..], "stdout in order");
    assert_eq!(err[..2000], expected("err")[..], "stderr in order");
    assert_eq!(err[2000..], ["after the long line"]);
    assert_eq!(out.last(), Some(&"last line"));
    let long = "x".repeat(64 * 1024);
    let at = out.iter().position(|t| *t == long).expect("the 100 MB line's head, 64 KiB");
    assert_eq!(out.len() - at, 2, "only its head is kept, then the last line");
    let notes = texts(&records, "---");
    assert!(notes[0].starts_with("started: sh -c"), "{notes:?}");
    assert!(notes.iter().any(|n| n.contains("the rest of it was not kept")), "{notes:?}");
    assert_eq!(notes.last(), Some(&"ended: exit status 3"));
    for (_, _, text) in &records {
        assert!(!text.chars().any(|c| c.is_control() && c != '\t'), "no control characters: {text:?}");
    }
    assert!(log.len() < 16 << 20, "within the run's cap: {}", log.len());
    for file in std::fs::read_dir(d.data_dir.join("logs")).expect("logs/") {
        let meta = file.expect("entry").metadata().expect("metadata");
        assert_eq!(meta.permissions().mode() & 0o077, 0, "owner-only");
    }

    // The failure event says where the whole output is.
    let events = cli_json(&d, &["results"]).await;
    let failed = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["level"] == "error" && e["session"] == session.as_str())
        .unwrap_or_else(|| panic!("a failure event: {events}"))
        .clone();
    let command = format!("synccenter logs {session} noisy");
    assert_eq!(failed["link_reference"], command.as_str(), "{failed}");
    assert!(failed["description"].as_str().is_some_and(|t| t.contains(&command)), "{failed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_removes_the_oldest_logs_past_the_total_and_bad_reads_are_refused() {
    let limits = synccenter_daemon::LogLimits { max_total: 1, ..synccenter_daemon::LogLimits::default() };
    let (d, mut watch) = daemon("echo one run", limits).await;
    let first = start_run(&d, &mut watch).await;
    until_ended(&mut watch, &first).await;
    let log = stdout(&cli(&d, &["logs", &first]).await);
    assert_eq!(texts(&records(&log), "out"), ["one run"]);
    let second = start_run(&d, &mut watch).await;
    until_ended(&mut watch, &second).await;
    assert_eq!(texts(&records(&stdout(&cli(&d, &["logs", &second]).await)), "out"), ["one run"]);
    let gone = cli(&d, &["logs", &first]).await;
    assert_eq!(code(&gone), 1, "{}", stdout(&gone));
    assert!(stderr(&gone).contains("has no log"), "{}", stderr(&gone));
    assert_eq!(std::fs::read_dir(d.data_dir.join("logs")).expect("logs/").count(), 1);

    for bad in [vec!["logs", "not-a-session"], vec!["logs", &second, "bad\u{7}item"]] {
        let o = cli(&d, &bad).await;
        assert_eq!(code(&o), 1, "{bad:?}: {}", stdout(&o));
        assert!(stderr(&o).contains("E_INVALIDARG"), "{bad:?}: {}", stderr(&o));
    }
}

/// `config.toml`'s `[logs]` bounds a run's log: its first lines, a note of what was left out, its last lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logs_table_bounds_a_runs_log() {
    const LINES: usize = 20_000;
    let script =
        format!("i=0; while [ $i -lt {LINES} ]; do echo \"line $i of a run that prints a lot\"; i=$((i+1)); done");
    let toml = format!("[logs]\nmax_per_run = \"128 KiB\"\n\n{}", config(&script));
    let (d, mut watch) = daemon_with(&toml, synccenter_daemon::LogLimits::default()).await;
    let session = start_run(&d, &mut watch).await;
    until_ended(&mut watch, &session).await;
    let log = stdout(&cli(&d, &["logs", &session]).await);
    assert!(log.len() <= (128 << 10) + 4096, "128 KiB and a few notes: {} bytes", log.len());
    let records = records(&log);
    let out = texts(&records, "out");
    assert_eq!(out.first(), Some(&"line 0 of a run that prints a lot"), "its first lines");
    let last = format!("line {} of a run that prints a lot", LINES - 1);
    assert_eq!(out.last(), Some(&last.as_str()), "and its last");
    assert!(out.len() < LINES, "not all {LINES} lines: {}", out.len());
    let notes = texts(&records, "---");
    assert!(notes.iter().any(|n| n.contains("left out")), "a note says lines were left out: {notes:?}");
}
