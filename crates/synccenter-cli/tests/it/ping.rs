//! Healthchecks-style pings through the dashboard of a real daemon, sent by the real `curl` and by Debian's
//! `borgmatic` (its Healthchecks hook) running the real `borg`; the item's URL comes from `synccenter ping-url`
//! and what was recorded is read back with `synccenter sessions --history` and `results`.

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use synccenter_test_support::{TestDaemon, program, require};

use super::{cli, cli_json, code, stderr, stdout};

/// A daemon with its dashboard on a free loopback port, and that `host:port`.
async fn daemon_with_dashboard() -> (TestDaemon, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the dashboard");
    let addr = listener.local_addr().expect("addr").to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = TestDaemon::start_with(dir, |c| c.http = Some(Arc::new(listener))).await;
    (d, addr)
}

/// Registers handler `jobs` with `items` and returns `ping-url --json` of the first.
async fn register(d: &TestDaemon, items: &[&str]) -> Value {
    let mut args = vec!["register", "jobs", "--name", "Jobs"];
    for i in items {
        args.extend(["--item", i]);
    }
    let o = cli(d, &args).await;
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    cli_json(d, &["ping-url", "jobs", items[0]]).await
}

/// One `curl` request; returns the status, the response head and the body.
async fn curl(args: &[&str]) -> (u16, String, String) {
    let out = tokio::time::timeout(
        synccenter_test_support::HANG_GUARD,
        tokio::process::Command::new("curl").args(["-sS", "-i", "--noproxy", "*"]).args(args).output(),
    )
    .await
    .expect("curl hung")
    .expect("run curl");
    assert!(out.status.success(), "curl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    (status, head.to_ascii_lowercase(), body.to_owned())
}

/// The handler's sessions, newest first, as `[(status, reason)]`.
async fn history(d: &TestDaemon) -> Vec<Value> {
    let v = cli_json(d, &["sessions", "--history", "--handler", "jobs", "--limit", "1000"]).await;
    v["sessions"].as_array().expect("sessions").clone()
}

async fn events(d: &TestDaemon) -> Vec<Value> {
    let v = cli_json(d, &["results", "--handler", "jobs"]).await;
    v["events"].as_array().expect("events").clone()
}

fn statuses(sessions: &[Value]) -> Vec<String> {
    sessions.iter().map(|s| s["status"].as_str().unwrap_or("live").to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_pings_open_and_end_sessions_by_uuid_with_every_suffix_and_rid() {
    let Some(_) = require("curl", program("curl")) else { return };
    let (d, addr) = daemon_with_dashboard().await;
    let urls = register(&d, &["nightly"]).await;
    let url = urls["url"].as_str().expect("url").to_owned();
    assert_eq!(url, format!("http://{addr}/ping/{}", urls["uuid"].as_str().unwrap()));

    // A start opens a session; its end with the same rid closes it, succeeded, with the body as an info event.
    let (status, head, body) = curl(&[&format!("{url}/start?rid=123e4567-e89b-12d3-a456-426614174000")]).await;
    assert_eq!((status, body.as_str()), (200, "OK"));
    assert!(head.contains("ping-body-limit: 8192"), "{head}");
    let live = cli_json(&d, &["sessions"]).await;
    assert_eq!(live["sessions"].as_array().map(Vec::len), Some(1), "{live}");
    let end = format!("{url}?rid=123e4567-e89b-12d3-a456-426614174000");
    assert_eq!(curl(&["--data-binary", "all 3 files copied", &end]).await.0, 200);
    assert_eq!(statuses(&history(&d).await), ["succeeded"]);
    assert!(events(&d).await.iter().any(|e| e["description"] == "all 3 files copied"));

    // HEAD and GET are pings as well; a bare end is a session that starts and ends at once.
    let (status, _, body) = curl(&["-I", &format!("{url}/fail")]).await;
    assert_eq!((status, body.as_str()), (200, ""));
    assert_eq!(curl(&[&format!("{url}/0")]).await.2, "OK");
    assert_eq!(curl(&["--data-binary", "rsync: error 23", &format!("{url}/23")]).await.0, 200);
    assert_eq!(statuses(&history(&d).await), ["failed", "succeeded", "failed", "succeeded"]);
    let exit = events(&d).await.into_iter().find(|e| e["name"] == "Exited with status 23 (ping)").expect("event");
    assert_eq!((exit["level"].as_str(), exit["description"].as_str()), (Some("error"), Some("rsync: error 23")));

    // A failure ends the open session whatever its rid (Healthchecks' rule); a log is an info event only.
    curl(&[&format!("{url}/start?rid=00000000-0000-4000-8000-000000000001")]).await;
    assert_eq!(curl(&["--data-binary", "step 2 of 3", &format!("{url}/log")]).await.2, "OK");
    curl(&[&format!("{url}/fail?rid=00000000-0000-4000-8000-000000000002")]).await;
    let h = history(&d).await;
    assert_eq!(h.len(), 5, "the start and its failure are one session");
    assert_eq!(h[0]["status"], "failed");
    let log = events(&d).await.into_iter().find(|e| e["description"] == "step 2 of 3").expect("log event");
    assert_eq!((log["level"].as_str(), log["session"].as_str()), (Some("info"), h[0]["session"].as_str()));

    // A second start fails the first one (it never reported its end).
    curl(&[&format!("{url}/start")]).await;
    curl(&[&format!("{url}/start")]).await;
    curl(&[&url]).await;
    assert_eq!(statuses(&history(&d).await)[..2], ["succeeded", "failed"]);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_pings_by_slug_create_items_and_uptime_kuma_pushes_end_sessions() {
    let Some(_) = require("curl", program("curl")) else { return };
    let (d, addr) = daemon_with_dashboard().await;
    let urls = register(&d, &["nightly"]).await;
    let key = urls["key"].as_str().expect("key").to_owned();
    let uuid = urls["uuid"].as_str().expect("uuid").to_owned();
    assert_eq!(urls["slug_url"], format!("http://{addr}/ping/{key}/nightly"));

    assert_eq!(curl(&[&format!("http://{addr}/ping/{key}/nightly/start")]).await.2, "OK");
    assert_eq!(
        curl(&["--data-binary", "tar: short read", &format!("http://{addr}/ping/{key}/nightly/1")]).await.0,
        200
    );
    assert_eq!(statuses(&history(&d).await), ["failed"]);

    // create=1 registers a new item under the key's handler: 201 Created the first time, OK after.
    let (status, _, body) = curl(&[&format!("http://{addr}/ping/{key}/weekly")]).await;
    assert_eq!((status, body.as_str()), (404, "not found"));
    let (status, _, body) = curl(&[&format!("http://{addr}/ping/{key}/weekly?create=1")]).await;
    assert_eq!((status, body.as_str()), (201, "Created"));
    assert_eq!(curl(&[&format!("http://{addr}/ping/{key}/weekly?create=1")]).await.2, "OK");
    let items = cli_json(&d, &["items", "jobs"]).await;
    assert_eq!(items["items"].as_array().map(Vec::len), Some(2), "{items}");

    // Uptime Kuma's push form: up is a success, down a failure whose event is msg.
    let push = format!("http://{addr}/api/push/{uuid}");
    assert_eq!(curl(&[&format!("{push}?status=up&msg=OK&ping=")]).await.2, r#"{"ok":true}"#);
    assert_eq!(curl(&[&format!("{push}?status=down&msg=disk%20full")]).await.0, 200);
    let failed = events(&d).await.into_iter().find(|e| e["description"] == "disk full").expect("event");
    assert_eq!(failed["level"], "error");
    let (status, _, body) = curl(&[&format!("http://{addr}/api/push/00000000-0000-4000-8000-000000000000")]).await;
    assert_eq!((status, body.as_str()), (404, r#"{"ok":false,"msg":"Monitor not found or not active."}"#));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_pings_get_healthchecks_replies_and_change_nothing() {
    let Some(_) = require("curl", program("curl")) else { return };
    let (d, addr) = daemon_with_dashboard().await;
    let urls = register(&d, &["nightly"]).await;
    let (url, key, uuid) =
        (urls["url"].as_str().unwrap(), urls["key"].as_str().unwrap(), urls["uuid"].as_str().unwrap());
    let before = (history(&d).await.len(), events(&d).await.len(), cli_json(&d, &["items", "jobs"]).await);
    let other = "0badc0de-0000-4000-8000-000000000000";
    let cases: Vec<(Vec<String>, u16, &str)> = vec![
        (vec![format!("http://{addr}/ping/{other}")], 404, "not found"),
        (vec![format!("http://{addr}/ping/not-a-uuid")], 404, "not found"),
        (vec![format!("http://{addr}/ping/{}", uuid.replace('-', ""))], 404, "not found"),
        (vec![format!("{url}/256")], 400, "invalid url format"),
        (vec![format!("{url}/restart")], 404, "not found"),
        (vec![format!("{url}?rid=run-1")], 400, "invalid uuid format"),
        (vec![format!("http://{addr}/ping/{key}/Nightly")], 400, "invalid url format"),
        (vec![format!("http://{addr}/ping/{}/nightly?create=1", "0".repeat(32))], 404, "not found"),
        (vec![format!("http://{addr}/ping/{key}/nightly/stop")], 404, "not found"),
        // A ping URL is no credential for anything else: reads and control need the dashboard's token.
        (vec!["-H".into(), format!("Authorization: Bearer {uuid}"), format!("http://{addr}/api/v1/handlers")], 403, ""),
        (
            vec![
                "-X".into(),
                "POST".into(),
                "-H".into(),
                format!("Authorization: Bearer {key}"),
                "-H".into(),
                format!("Origin: http://{addr}"),
                format!("http://{addr}/api/v1/control/stop"),
            ],
            403,
            "",
        ),
        // The Host check applies to pings like to the rest.
        (vec!["-H".into(), "Host: synccenter.example:80".into(), url.to_owned()], 421, ""),
        (vec!["-H".into(), "Origin: http://evil.example".into(), url.to_owned()], 403, ""),
    ];
    for (args, want, body) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (status, _, got) = curl(&args).await;
        assert_eq!(status, want, "{args:?}: {got}");
        if !body.is_empty() {
            assert_eq!(got, body, "{args:?}");
        }
    }
    // A body over what a ping route reads at all (1 MiB) is refused whole.
    let big = d.dir().join("big");
    std::fs::write(&big, vec![b'x'; 2 * 1024 * 1024]).expect("write");
    let (status, _, _) = curl(&["--data-binary", &format!("@{}", big.display()), &format!("{url}/fail")]).await;
    assert_eq!(status, 413);
    let after = (history(&d).await.len(), events(&d).await.len(), cli_json(&d, &["items", "jobs"]).await);
    assert_eq!(before, after, "refused pings changed nothing");

    // A body over Ping-Body-Limit is kept up to the limit, as Healthchecks keeps it.
    std::fs::write(&big, "y".repeat(20_000)).expect("write");
    assert_eq!(curl(&["--data-binary", &format!("@{}", big.display()), &format!("{url}/fail")]).await.0, 200);
    let kept = events(&d).await.into_iter().find(|e| e["name"] == "Failed (ping)").expect("event");
    assert_eq!(kept["description"].as_str().map(str::len), Some(8192));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_flood_is_rate_limited_and_each_refused_ping_changes_nothing() {
    let Some(_) = require("curl", program("curl")) else { return };
    let (d, _) = daemon_with_dashboard().await;
    let urls = register(&d, &["nightly"]).await;
    let url = format!("{}/log", urls["url"].as_str().unwrap());
    // 300 log pings, 50 at a time, against a bucket of 50 per second with one second of burst.
    let mut args: Vec<String> = ["-s", "--noproxy", "*", "--parallel", "--parallel-max", "50", "-w", "%{http_code}\\n"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    for _ in 0..300 {
        args.extend(["-o".to_owned(), "/dev/null".to_owned(), url.clone()]);
    }
    let out = tokio::time::timeout(
        synccenter_test_support::HANG_GUARD,
        tokio::process::Command::new("curl").args(&args).output(),
    )
    .await
    .expect("curl hung")
    .expect("run curl");
    let codes = String::from_utf8_lossy(&out.stdout).into_owned();
    let ok = codes.lines().filter(|c| *c == "200").count();
    let limited = codes.lines().filter(|c| *c == "429").count();
    assert_eq!(ok + limited, 300, "{codes}");
    assert!(limited > 0 && ok >= 50, "{ok} recorded, {limited} refused");
    let logs = events(&d).await.into_iter().filter(|e| e["name"] == "Log (ping)").count();
    assert_eq!(logs, ok, "exactly the admitted pings were recorded");
    d.stop().await;
}

/// A borgmatic 1.7 configuration backing `source` up to `repo`, with its Healthchecks hook on `ping_url`.
fn borgmatic_config(dir: &Path, source: &Path, repo: &Path, ping_url: &str) -> std::path::PathBuf {
    let path = dir.join("borgmatic.yaml");
    let text = format!(
        "location:\n    source_directories:\n        - {}\n    repositories:\n        - {}\n\
         storage:\n    unknown_unencrypted_repo_access_is_ok: true\n\
         retention:\n    keep_daily: 7\n\
         hooks:\n    healthchecks:\n        ping_url: {ping_url}\n        ping_body_limit: 8192\n",
        source.display(),
        repo.display()
    );
    std::fs::write(&path, text).expect("write the borgmatic configuration");
    path
}

async fn borgmatic(home: &Path, args: &[&str]) -> std::process::Output {
    let run = tokio::process::Command::new("borgmatic")
        .args(args)
        .env("HOME", home)
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK", "yes")
        .output();
    tokio::time::timeout(std::time::Duration::from_secs(120), run)
        .await
        .expect("borgmatic hung")
        .expect("run borgmatic")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn borgmatic_reports_a_backup_as_a_succeeded_session_and_a_broken_repository_as_a_failed_one() {
    let Some(_) = require("borgmatic", program("borgmatic")) else { return };
    let Some(_) = require("borg", program("borg")) else { return };
    let (d, _) = daemon_with_dashboard().await;
    let urls = register(&d, &["home"]).await;
    let url = urls["url"].as_str().expect("url");
    let work = tempfile::tempdir().expect("tempdir");
    let (home, source, repo) = (work.path().join("home"), work.path().join("src"), work.path().join("repo"));
    std::fs::create_dir_all(&home).expect("home");
    std::fs::create_dir_all(&source).expect("src");
    std::fs::write(source.join("notes.txt"), "remember the milk").expect("write");

    let good = borgmatic_config(work.path(), &source, &repo, url);
    let good = good.to_str().expect("path");
    let init = borgmatic(&home, &["--config", good, "init", "--encryption", "none"]).await;
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let backup = borgmatic(&home, &["--config", good, "create"]).await;
    assert!(backup.status.success(), "{}", String::from_utf8_lossy(&backup.stderr));
    let h = history(&d).await;
    assert_eq!(statuses(&h), ["succeeded"], "borgmatic's /start and its success are one session: {h:?}");

    // The same backup into a repository that does not exist: borgmatic sends /fail with its log.
    let broken = borgmatic_config(work.path(), &source, &work.path().join("missing"), url);
    let failed = borgmatic(&home, &["--config", broken.to_str().expect("path"), "create"]).await;
    assert!(!failed.status.success(), "a backup to a missing repository fails");
    let h = history(&d).await;
    assert_eq!(statuses(&h), ["failed", "succeeded"], "{h:?}");
    let error = events(&d).await.into_iter().find(|e| e["level"] == "error").expect("an error event");
    assert_eq!(error["session"], h[0]["session"]);
    let log = error["description"].as_str().expect("description");
    assert!(log.contains("missing"), "the event carries borgmatic's log: {log}");
    d.stop().await;
}
