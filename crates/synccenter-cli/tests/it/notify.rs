//! `sd_notify` end to end with the real clients, Debian's `systemd-notify` and Python's `sdnotify`: a script
//! item of `config.toml` run by the daemon, watched through `synccenter watch --json`, and `synccenter run`
//! watched by a subscriber. Each script waits on a FIFO after it notified, so that its status text is what
//! the feed shows before anything replaces it; the test releases it once it has seen the text.

use std::path::Path;

use serde_json::{Value, json};
use synccenter_test_support::{HANG_GUARD, TestDaemon, program, require};
use tokio::io::{AsyncBufReadExt, BufReader};

use super::{code, command, finish, spawn, stderr};

/// Whether the clients are here (a missing one fails under CI) and the platform supports `sd_notify`.
fn clients() -> bool {
    synccenter_platform::notify::SUPPORTED
        && require("systemd-notify", program("systemd-notify")).is_some()
        && require("python3-sdnotify", sdnotify()).is_some()
}

fn sdnotify() -> Result<(), String> {
    let o = std::process::Command::new("/usr/bin/python3").args(["-c", "import sdnotify"]).output();
    match o {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(String::from_utf8_lossy(&o.stderr).into_owned()),
        Err(e) => Err(format!("/usr/bin/python3: {e}")),
    }
}

fn fifo(dir: &Path) -> String {
    let path = dir.join("go");
    let made = std::process::Command::new("mkfifo").arg(&path).status().expect("mkfifo");
    assert!(made.success());
    path.to_str().expect("UTF-8").to_owned()
}

/// Lets the script past its next `read < FIFO`.
async fn release(fifo: &str) {
    let fifo = fifo.to_owned();
    let write = tokio::task::spawn_blocking(move || std::fs::write(fifo, "go\n").expect("write the FIFO"));
    tokio::time::timeout(HANG_GUARD, write).await.expect("the script reads its FIFO").expect("join");
}

/// Shell words as a TOML array.
fn toml_array(words: &[&str]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| Value::from(*w).to_string()).collect();
    format!("[{}]", quoted.join(", "))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_from_systemd_notify_and_sdnotify_show_in_watch_json() {
    if !clients() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = fifo(dir.path());
    let python =
        "import sdnotify, sys; sdnotify.SystemdNotifier().notify('STATUS=from sdnotify'); open(sys.argv[1]).read()";
    let script = format!(
        r#"systemd-notify --status='from systemd-notify' && read x < "$1" && /usr/bin/python3 -c "{python}" "$1""#
    );
    let config = format!(
        "[[handler]]\nid = \"notes\"\nname = \"Notes\"\n\n[[handler.item]]\nid = \"notes\"\nname = \"Notes\"\nkind = \"script\"\ncommand = {}\n",
        toml_array(&["sh", "-c", &script, "sh", &fifo])
    );
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config).expect("write config.toml");
    let d = TestDaemon::start_with(dir, |cfg| cfg.config_file = Some(path)).await;
    let mut watch = spawn(&d, &["--json", "watch"]);
    let mut lines = BufReader::new(watch.stdout.take().expect("stdout")).lines();
    let hello = tokio::time::timeout(HANG_GUARD, lines.next_line()).await.expect("hello").expect("read");
    assert!(hello.is_some_and(|l| l.contains("\"hello\"")));
    let o = finish(spawn(&d, &["start", "notes"])).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let mut texts = Vec::new();
    for expected in ["from systemd-notify", "from sdnotify"] {
        loop {
            let line = tokio::time::timeout(HANG_GUARD, lines.next_line()).await.expect("a line").expect("read");
            let line: Value = serde_json::from_str(&line.expect("watch runs")).expect("JSON");
            if line["type"] == "progress" {
                let text = line["data"]["text"].as_str().or(line["text"].as_str()).unwrap_or_default().to_owned();
                texts.push(text.clone());
                if text == expected {
                    break;
                }
            }
        }
        release(&fifo).await;
    }
    assert!(texts.contains(&"from sdnotify".to_owned()), "{texts:?}");
    let _ = watch.start_kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synccenter_run_gives_the_command_notify_socket() {
    if !clients() {
        return;
    }
    let d = TestDaemon::start().await;
    let mut watcher = d.raw().await;
    watcher.setup("demo", &["files"], json!({})).await;
    watcher.ok("subscribe", json!({})).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = fifo(dir.path());
    let script = r#"systemd-notify --status='copying from run' && read x < "$1" && systemd-notify ERRNO=5 && exit 4"#;
    let run =
        command(&d, &["--json", "run", "demo", "files", "--", "sh", "-c", script, "sh", &fifo]).spawn().expect("run");
    loop {
        let u = watcher.next_push_of("update").await["params"].clone();
        if u["type"] == "progress" && u["text"] == "copying from run" {
            break;
        }
    }
    release(&fifo).await;
    let o = finish(run).await;
    assert_eq!(code(&o), 10, "{}", stderr(&o));
    let results = super::cli_json(&d, &["results", "--handler", "demo"]).await;
    let e = &results["events"][0];
    let description = e["description"].as_str().unwrap_or_default();
    assert!(description.contains("exited with status 4") && description.contains("ERRNO=5 ("), "{e}");
}
