//! `synccenter db check|backup|recover|compact` on real files: a backup taken while the daemon serves, a damaged copy
//! that the daemon refuses to start on (naming the file and the recovery command, changing nothing), and a
//! recovery that a daemon then serves.

use std::path::Path;
use std::process::Stdio;

use serde_json::{Value, json};
use synccenter_test_support::{HANG_GUARD, TestDaemon};

use super::{code, stderr, stdout};

const EVENTS: usize = 300;

async fn db(args: &[&str]) -> std::process::Output {
    let out = super::bin().args(args).stdin(Stdio::null()).kill_on_drop(true).output();
    tokio::time::timeout(HANG_GUARD, out).await.expect("db command hung").expect("run synccenter")
}

fn doc(out: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", stdout(out), stderr(out)))
}

/// Overwrites the page that holds `marker` with bytes no page may start with.
fn damage_page_holding(path: &Path, marker: &str) {
    let mut bytes = std::fs::read(path).expect("read");
    let page_size = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
    let at = bytes.windows(marker.len()).position(|w| w == marker.as_bytes()).expect("marker on disk");
    let page = at / page_size;
    assert!(page > 0, "never the schema page");
    bytes[page * page_size..(page + 1) * page_size].fill(0xA5);
    std::fs::write(path, bytes).expect("write");
}

/// A daemon with handler `nas`, a live session over `docs`, and [`EVENTS`] error events whose descriptions
/// carry a findable marker; and the connection that owns the session.
async fn filled() -> (TestDaemon, synccenter_test_support::RawConn) {
    let d = TestDaemon::start().await;
    let mut c = d.raw().await;
    c.setup("nas", &["docs"], json!({})).await;
    let s = c.session("nas", &["docs"]).await;
    for i in 0..EVENTS {
        let description = format!("MARKER-{i:05}-{}", "x".repeat(200));
        c.ok("session.report_event", json!({"session": s, "level": "error", "name": "n", "description": description}))
            .await;
    }
    (d, c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_store_is_refused_by_name_and_recovered_by_the_db_verbs() {
    let (d, c) = filled().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("copy.sqlite");
    let copy_s = copy.to_str().expect("utf-8");

    // A backup while the daemon runs: a consistent, sound copy.
    let data = d.data_dir.to_str().expect("utf-8");
    let out = db(&["--json", "--data-dir", data, "db", "backup", "--to", copy_s]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(doc(&out)["backup"], copy_s);
    let out = db(&["--json", "db", "check", copy_s]).await;
    assert_eq!((code(&out), doc(&out)["ok"].clone()), (0, json!(true)), "{}", stdout(&out));
    let out = db(&["db", "backup", "--data-dir", data, "--to", copy_s]).await;
    assert_eq!(code(&out), 1, "an existing target is never overwritten");
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    drop(c);
    d.stop().await;

    // Damage one page of the events; the daemon refuses to start on it and names the way out.
    damage_page_holding(&copy, "MARKER-00150");
    let damaged = std::fs::read(&copy).expect("read");
    let daemon = super::bin()
        .arg("--socket")
        .arg(synccenter_platform::transport::endpoint_in(dir.path(), "s"))
        .args(["--database", &format!("sqlite://{copy_s}"), "--http", "off", "daemon"])
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(HANG_GUARD, daemon).await.expect("the daemon refused in time").expect("run");
    assert_ne!(code(&out), 0, "a damaged store must stop the daemon");
    let err = stderr(&out);
    assert!(err.contains(copy_s), "the refusal names the file: {err}");
    assert!(err.contains("synccenter db recover") && err.contains("synccenter db check"), "{err}");
    assert_eq!(std::fs::read(&copy).expect("read"), damaged, "refusing changed nothing");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").map(|e| e.expect("entry").file_name()).collect();
    assert!(
        !leftovers.iter().any(|n| n.to_string_lossy().contains("-wal")),
        "no journal was created beside the damaged file: {leftovers:?}"
    );

    let out = db(&["--json", "db", "check", copy_s]).await;
    assert_eq!(code(&out), 1);
    let report = doc(&out);
    assert_eq!(report["ok"], false);
    assert!(report["problems"].as_array().is_some_and(|p| !p.is_empty()), "{report}");

    let out = db(&["--json", "db", "recover", copy_s]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let report = doc(&out);
    assert_eq!(std::fs::read(&copy).expect("read"), damaged, "recover never writes to the damaged file");
    let recovered = format!("{copy_s}.recovered");
    assert_eq!(report["recovered"], recovered.as_str());
    assert_eq!(report["ok"], true, "{report}");
    let events = report["tables"].as_array().expect("tables").iter().find(|t| t["table"] == "events").cloned();
    let events = events.expect("events table");
    assert_eq!(events["damaged"], true, "{report}");
    let copied = events["copied"].as_u64().expect("copied");
    assert!((250..EVENTS as u64).contains(&copied), "only the damaged page is lost: {report}");
    assert!(report["next"].as_str().is_some_and(|n| n.contains("rename")), "{report}");

    // The recovered file serves.
    let d = TestDaemon::start_with(tempfile::tempdir().expect("tempdir"), |config| {
        config.database = Some(format!("sqlite://{recovered}"));
    })
    .await;
    let mut c = d.raw().await;
    // The session that was live in the backup is ended as interrupted by a restart, with its warning event.
    assert_eq!(c.ok("events.list", json!({"handler": "nas", "limit": 1})).await["total"], copied + 1);
    let history = c.ok("sessions.history", json!({})).await;
    assert_eq!(history["sessions"][0]["end_reason"], "daemon_restarted", "{history}");
    assert_eq!(c.ok("handler.list", json!({})).await["handlers"][0]["handler"], "nas");
}

/// `synccenter daemon` on `--data-dir dir`, run to its exit.
async fn daemon_exit(dir: &Path) -> std::process::Output {
    let daemon = super::bin()
        .arg("--socket")
        .arg(synccenter_platform::transport::endpoint_in(dir, "s"))
        .args(["--data-dir", dir.to_str().expect("utf-8"), "--http", "off", "daemon"])
        .env("SYNCCENTER_LOG", "info")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(HANG_GUARD, daemon).await.expect("the daemon stopped in time").expect("run")
}

/// A daemon stopped cleanly starts again without reading its whole file first (a bounded start), and reads it
/// in the background: decay found there (a damaged page, the file's size and time unchanged) stops the daemon
/// with the same message as at open, and the next start, reading the whole file first, refuses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damage_found_in_the_background_stops_the_daemon_and_the_next_start_refuses() {
    let (d, c) = filled().await;
    drop(c);
    let data = d.data_dir.clone();
    let _dir = d.stop().await;
    let file = data.join(synccenter_store_sqlite::DB_FILE_NAME);
    let modified = std::fs::metadata(&file).expect("stat").modified().expect("mtime");
    damage_page_holding(&file, "MARKER-00150");
    std::fs::File::options().write(true).open(&file).expect("open").set_modified(modified).expect("set mtime");

    let out = daemon_exit(&data).await;
    assert_ne!(code(&out), 0, "damage found in the background stops the daemon");
    let err = stderr(&out);
    let name = file.display().to_string();
    assert!(err.contains("ready") && err.contains("damaged"), "it served, then stopped: {err}");
    assert!(err.contains(&name) && err.contains("synccenter db recover"), "{err}");

    let damaged = std::fs::read(&file).expect("read");
    let out = daemon_exit(&data).await;
    assert_ne!(code(&out), 0);
    let err = stderr(&out);
    assert!(err.contains("cannot open the store") && err.contains(&name), "refused at open: {err}");
    assert!(!err.contains("ready"), "{err}");
    assert_eq!(std::fs::read(&file).expect("read"), damaged, "refusing changed nothing");
}

/// `db compact` is refused while the daemon has the file open, and rewrites it once the daemon has stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compact_waits_for_the_daemon_to_stop_then_rewrites_the_file() {
    let (d, c) = filled().await;
    let data = d.data_dir.to_str().expect("utf-8").to_owned();
    let out = db(&["--json", "--data-dir", &data, "db", "compact"]).await;
    assert_ne!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains("is in use") && stderr(&out).contains("stop it first"), "{}", stderr(&out));

    drop(c);
    let _dir = d.stop().await;
    let data = data.as_str();
    let out = db(&["--json", "--data-dir", data, "db", "compact"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let report = doc(&out);
    assert!(report["bytes_after"].as_u64().expect("bytes_after") > 0, "{report}");
    let out = db(&["--json", "--data-dir", data, "db", "check"]).await;
    assert_eq!(doc(&out)["ok"], json!(true), "the compacted file is sound");
}
