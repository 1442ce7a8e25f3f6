//! `synccenter run` on every platform, with this test binary as the command (there is no POSIX shell on
//! Windows): its exit status becomes the item's, and a stop from Sync Center ends the command's whole tree,
//! a process group here and a Job Object on Windows, where CI runs these under Wine. The command's grandchild
//! holds a session of its own (the witness), so its end is an event to wait for: that session ends
//! `owner_lost`.

use std::process::Stdio;

use serde_json::{Value, json};
use synccenter_test_support::{HANG_GUARD, RawConn, TestDaemon};
use tokio::io::AsyncBufReadExt;

use super::{cli, code, command, finish, stderr, stdout};

/// What the re-executed test binary does: `exit` prints a line and exits with [`EXIT`]; `witness` creates a
/// session of `witness` on [`ENDPOINT`] and waits; `tree` starts a witness and waits.
const ROLE: &str = "SYNCCENTER_TEST_ROLE";
const EXIT: &str = "SYNCCENTER_TEST_EXIT";
const ENDPOINT: &str = "SYNCCENTER_TEST_ENDPOINT";

/// `synccenter run` arguments that run [`helper`] in this test binary.
fn run_args<'a>(exe: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--json", "run", "demo", "files"];
    args.extend_from_slice(extra);
    args.extend(["--", exe, "--exact", "run_anywhere::helper", "--ignored", "--nocapture", "--test-threads=1"]);
    args
}

fn exe() -> String {
    std::env::current_exe().expect("test binary").to_str().expect("a UTF-8 path").to_owned()
}

/// Not a test: the commands of the tests below (see [`ROLE`]).
#[tokio::test]
#[ignore = "a helper process of the run_anywhere tests"]
#[allow(clippy::print_stdout, reason = "the lines the tests read")]
async fn helper() {
    let Ok(role) = std::env::var(ROLE) else { return };
    match role.as_str() {
        "exit" => {
            println!("\nfrom-the-command");
            let status = std::env::var(EXIT).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
            #[allow(clippy::disallowed_methods, reason = "the exit status is what this helper is for")]
            std::process::exit(status);
        }
        "witness" => {
            let endpoint = std::env::var_os(ENDPOINT).expect("endpoint");
            let mut c = RawConn::connect(std::path::Path::new(&endpoint)).await;
            c.ok("hello", json!({})).await;
            let s = c.session("witness", &["w"]).await;
            println!("\nSESSION {s}");
            std::future::pending::<()>().await;
        }
        "tree" => {
            let mut witness = tokio::process::Command::new(exe())
                .args(["--exact", "run_anywhere::helper", "--ignored", "--nocapture", "--test-threads=1"])
                .env(ROLE, "witness")
                .stdout(Stdio::piped())
                .spawn()
                .expect("start the witness");
            let mut lines = tokio::io::BufReader::new(witness.stdout.take().expect("stdout")).lines();
            while let Some(line) = lines.next_line().await.expect("read") {
                if line.starts_with("SESSION ") {
                    break;
                }
            }
            std::future::pending::<()>().await;
        }
        other => panic!("unknown role {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_turns_the_exit_status_into_the_items_status() {
    let d = TestDaemon::start().await;
    d.raw().await.setup("demo", &["files"], json!({})).await;
    let exe = exe();
    let ok = command(&d, &run_args(&exe, &[])).env(ROLE, "exit").env(EXIT, "0").spawn().expect("spawn");
    let o = finish(ok).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("from-the-command"), "the command's stdio is inherited: {}", stdout(&o));
    let failing = command(&d, &run_args(&exe, &[])).env(ROLE, "exit").env(EXIT, "3").spawn().expect("spawn");
    let o = finish(failing).await;
    assert_eq!(code(&o), 10, "{}", stderr(&o));
    let last = stdout(&o).lines().last().map(str::to_owned).unwrap_or_default();
    let r: Value = serde_json::from_str(&last).expect("the last line is the JSON summary");
    assert_eq!(
        (r["status"].as_str(), r["exit_code"].as_i64(), r["errors"].as_i64()),
        (Some("failed"), Some(3), Some(1))
    );
    let h = super::cli_json(&d, &["sessions", "--history", "--handler", "demo"]).await;
    let statuses: Vec<&str> =
        h["sessions"].as_array().expect("sessions").iter().filter_map(|s| s["status"].as_str()).collect();
    assert_eq!(statuses, ["failed", "succeeded"], "{h}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_stopped_from_sync_center_ends_the_whole_tree() {
    let d = TestDaemon::start().await;
    let mut watcher = d.raw().await;
    watcher.setup("demo", &["files"], json!({})).await;
    watcher.setup("witness", &["w"], json!({})).await;
    watcher.ok("subscribe", json!({})).await;
    let exe = exe();
    let mut cmd = command(&d, &run_args(&exe, &["--grace", "5"]));
    cmd.env(ROLE, "tree").env(ENDPOINT, &d.socket);
    let running = cmd.spawn().expect("spawn");
    let witness = loop {
        let u = watcher.next_push_of("update").await["params"].clone();
        if u["type"] == "session_started" && u["session"]["handler"] == "witness" {
            break u["session"]["session"].as_str().expect("session").to_owned();
        }
    };
    let o = cli(&d, &["stop", "demo", "files"]).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = finish(running).await;
    assert_eq!(code(&o), 11, "{}", stderr(&o));
    let ended = loop {
        let u = watcher.next_push_of("update").await["params"].clone();
        if u["type"] == "session_ended" && u["session"] == witness.as_str() {
            break u;
        }
    };
    assert_eq!(ended["reason"], "owner_lost", "the grandchild survived the stop: {ended}");
    let h = tokio::time::timeout(HANG_GUARD, super::cli_json(&d, &["sessions", "--history", "--handler", "demo"]))
        .await
        .expect("history");
    assert_eq!(h["sessions"][0]["status"], "canceled", "{h}");
}
