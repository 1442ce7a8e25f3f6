//! The daemon on each platform's local transport (a Unix socket here, the named pipe on Windows, where CI runs
//! these under Wine): a session with progress that a watcher sees, a stop from another connection pushed to the
//! owner, an owner process killed outright whose session ends as `owner_lost`, and a peer of a foreign user
//! refused by the transport's check. They use nothing but the protocol and this test binary, so they run
//! unchanged on every platform.

use std::process::Stdio;

use serde_json::{Value, json};
use synccenter_platform::peer::Identity;
use synccenter_test_support::{HANG_GUARD, RawConn, TestDaemon};
use tokio::io::AsyncBufReadExt;

/// The endpoint the owner helper connects to.
const OWNER_ENDPOINT: &str = "SYNCCENTER_TEST_OWNER_ENDPOINT";

/// The next `update` push of type `kind` about `session`.
async fn next_update(watcher: &mut RawConn, kind: &str, session: &str) -> Value {
    loop {
        let u = watcher.next_push_of("update").await;
        if u["params"]["type"] == kind && u["params"]["session"] == session {
            return u["params"].clone();
        }
    }
}

#[tokio::test]
async fn a_session_reports_progress_that_a_watcher_sees() {
    let d = TestDaemon::start().await;
    let mut owner = d.raw().await;
    owner.setup("nas", &["docs", "photos"], json!({})).await;
    let mut watcher = d.raw().await;
    watcher.ok("subscribe", json!({})).await;
    let s = owner.session("nas", &["docs", "photos"]).await;
    let r = owner
        .ok(
            "session.report_progress",
            json!({"session": s, "item": "docs", "status": "updating", "text": "copying", "step": 3, "max_step": 10}),
        )
        .await;
    assert_eq!(r, json!({"cancel": "none"}));
    let progress = next_update(&mut watcher, "progress", &s).await;
    assert_eq!((progress["item"].as_str(), progress["status"].as_str()), (Some("docs"), Some("updating")));
    // Notifications are applied in order, before the request that follows them.
    owner.notify("session.report_progress", json!({"session": s, "item": "docs", "status": "succeeded"})).await;
    owner.notify("session.report_progress", json!({"session": s, "item": "photos", "status": "failed"})).await;
    let end = owner.ok("session.end", json!({"session": s})).await;
    assert_eq!(end, json!({"status": "failed", "errors": 0, "conflicts": 0}));
    let ended = next_update(&mut watcher, "session_ended", &s).await;
    assert_eq!(ended["status"], "failed");
    let status = watcher.ok("status", json!({})).await;
    assert_eq!(status["socket"], d.socket.display().to_string(), "{status}");
}

#[tokio::test]
async fn a_stop_from_another_connection_is_pushed_to_the_owner() {
    let d = TestDaemon::start().await;
    let mut owner = d.raw().await;
    owner.setup("nas", &["docs"], json!({})).await;
    let s = owner.session("nas", &["docs"]).await;
    let waiting = tokio::spawn(async move {
        let push = owner.next_push_of("session.cancel_requested").await;
        (owner, push)
    });
    let mut user = d.raw().await;
    user.ok("control.stop", json!({"handler": "nas"})).await;
    let (mut owner, push) = tokio::time::timeout(HANG_GUARD, waiting).await.expect("no push").expect("task");
    assert_eq!(push["params"], json!({"session": s, "cancel": "cancel_all"}));
    let r = owner.ok("session.report_progress", json!({"session": s, "item": "docs", "status": "canceled"})).await;
    assert_eq!(r["cancel"], "cancel_all");
    assert_eq!(owner.ok("session.end", json!({"session": s})).await["status"], "canceled");
}

/// What a re-executed test binary does: `owner` creates a session of `nas`, `witness` one of `witness`, on the
/// endpoint in [`OWNER_ENDPOINT`]; `command` is a command handler's program that starts a `witness` and
/// reports progress once it has its session.
const ROLE: &str = "SYNCCENTER_TEST_ROLE";

/// The arguments that run only [`helper`] in this test binary.
const HELPER_ARGS: [&str; 5] = ["--exact", "transport::helper", "--ignored", "--nocapture", "--test-threads=1"];

/// Reads `lines` until one carries `SESSION <id>`; returns the id.
async fn session_line<R: tokio::io::AsyncBufRead + Unpin>(lines: &mut tokio::io::Lines<R>) -> String {
    loop {
        let line = tokio::time::timeout(HANG_GUARD, lines.next_line()).await.expect("helper started").expect("read");
        let line = line.expect("the helper printed its session");
        // libtest prints the test's name on the same line first.
        if let Some((_, s)) = line.split_once("SESSION ") {
            return s.trim().to_owned();
        }
    }
}

/// Not a test: the processes of the tests below, this test binary run again with [`ROLE`] set. Each waits to be
/// killed once it has done its part.
#[tokio::test]
#[ignore = "a helper process of the transport tests"]
#[allow(clippy::print_stdout, reason = "the lines the tests read")]
async fn helper() {
    let (Ok(role), Some(endpoint)) = (std::env::var(ROLE), std::env::var_os(OWNER_ENDPOINT)) else { return };
    match role.as_str() {
        "owner" | "witness" => {
            let mut c = RawConn::connect(std::path::Path::new(&endpoint)).await;
            c.ok("hello", json!({})).await;
            let s =
                if role == "owner" { c.session("nas", &["docs"]).await } else { c.session("witness", &["w"]).await };
            println!("SESSION {s}");
            std::future::pending::<()>().await;
        }
        "command" => {
            let mut witness = tokio::process::Command::new(std::env::current_exe().expect("test binary"))
                .args(HELPER_ARGS)
                .env(ROLE, "witness")
                .stdout(Stdio::piped())
                .spawn()
                .expect("run the witness");
            let mut lines = tokio::io::BufReader::new(witness.stdout.take().expect("stdout")).lines();
            session_line(&mut lines).await;
            // On a line of its own (libtest's own output precedes it), for the script reader.
            println!("\n@synccenter progress 1/2");
            std::future::pending::<()>().await;
        }
        other => panic!("unknown role {other}"),
    }
}

#[tokio::test]
async fn an_owner_killed_outright_ends_its_session() {
    let d = TestDaemon::start().await;
    let mut watcher = d.raw().await;
    watcher.setup("nas", &["docs"], json!({})).await;
    watcher.ok("subscribe", json!({})).await;
    let mut child = tokio::process::Command::new(std::env::current_exe().expect("test binary"))
        .args(HELPER_ARGS)
        .env(ROLE, "owner")
        .env(OWNER_ENDPOINT, &d.socket)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run the owner");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let session = session_line(&mut lines).await;
    // SIGKILL on Unix, TerminateProcess on Windows: the owner gets no chance to say goodbye.
    child.start_kill().expect("kill the owner");
    let end = next_update(&mut watcher, "session_ended", &session).await;
    assert_eq!((end["reason"].as_str(), end["status"].as_str()), (Some("owner_lost"), Some("failed")));
    let events = watcher.ok("events.list", json!({"session": session, "levels": ["warning"]})).await;
    assert!(events["events"][0]["name"].as_str().unwrap_or_default().contains("owner disappeared"), "{events}");
    let _ = child.wait().await;
}

/// A TOML basic string (JSON's escapes are valid TOML).
fn toml_str(s: &str) -> String {
    Value::from(s).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_a_command_handler_ends_its_whole_process_tree() {
    // The command is this test binary; it starts a grandchild that holds a session of its own (the witness),
    // so the grandchild's end is an event the test can wait for on every platform: its session ends as
    // `owner_lost`. On Unix the tree is a process group, on Windows a Job Object.
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = synccenter_platform::transport::endpoint_in(dir.path(), "s");
    let exe = std::env::current_exe().expect("test binary");
    let mut command = vec![toml_str(exe.to_str().expect("a UTF-8 path"))];
    command.extend(HELPER_ARGS.iter().map(|a| toml_str(a)));
    let config = format!(
        "[[handler]]\nid = \"long\"\nname = \"Long\"\n\n[[handler.item]]\nid = \"tree\"\nname = \"Tree\"\n\
         kind = \"script\"\ncommand = [{}]\nenv = {{ {ROLE} = \"command\", {OWNER_ENDPOINT} = {} }}\n",
        command.join(", "),
        toml_str(socket.to_str().expect("a UTF-8 endpoint")),
    );
    let config_file = dir.path().join("config.toml");
    std::fs::write(&config_file, config).expect("write config.toml");
    let listener = synccenter_daemon::bind(&socket).expect("bind");
    let d = TestDaemon::start_on(dir, socket, listener, |c| c.config_file = Some(config_file)).await;
    let mut watcher = d.raw().await;
    watcher.setup("witness", &["w"], json!({"capabilities": ["supports_concurrent_sessions"]})).await;
    watcher.ok("subscribe", json!({})).await;
    let mut ctl = d.raw().await;
    ctl.ok("control.start", json!({"handler": "long"})).await;
    let mut witness = None;
    loop {
        let u = watcher.next_push_of("update").await["params"].clone();
        if u["type"] == "session_started" && u["session"]["handler"] == "witness" {
            witness = u["session"]["session"].as_str().map(str::to_owned);
        }
        if u["type"] == "progress" && u["step"] == 1 && u["max_step"] == 2 {
            break;
        }
    }
    let witness = witness.expect("the witness's session started before the command reported progress");
    ctl.ok("control.stop", json!({"handler": "long"})).await;
    let (mut long_ended, mut witness_ended) = (None, None);
    while long_ended.is_none() || witness_ended.is_none() {
        let u = watcher.next_push_of("update").await["params"].clone();
        if u["type"] == "session_ended" && u["handler"] == "long" {
            long_ended = Some(u.clone());
        }
        if u["type"] == "session_ended" && u["session"] == witness.as_str() {
            witness_ended = Some(u);
        }
    }
    let (long_ended, witness_ended) = (long_ended.expect("long"), witness_ended.expect("witness"));
    assert_eq!(long_ended["status"], "canceled", "{long_ended}");
    assert_eq!(witness_ended["reason"], "owner_lost", "the grandchild survived the stop: {witness_ended}");
}

/// A user that is not this process's: the next uid, or a SID of a domain that does not exist.
fn foreign_user() -> Identity {
    match Identity::current().expect("identity") {
        Identity::Uid(uid) => Identity::Uid(uid.wrapping_add(1)),
        Identity::Sid(_) => Identity::Sid("S-1-5-21-1111111111-2222222222-3333333333-4242".parse().expect("sid")),
    }
}

#[tokio::test]
async fn a_peer_of_a_foreign_user_is_refused_by_the_transport() {
    // The socket's permissions and the pipe's security descriptor still name this user, so the connection
    // itself succeeds; the daemon admits only `foreign_user()`, so to it this process is the foreign peer
    // (on Windows: its SID, read from the client process's token, differs).
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = synccenter_platform::transport::endpoint_in(dir.path(), "s");
    let listener = synccenter_daemon::bind(&socket).expect("bind").admitting(foreign_user());
    let d = TestDaemon::start_on(dir, socket, listener, |_| {}).await;
    let mut c = RawConn::connect(&d.socket).await;
    // Nothing is written: the daemon may have closed the connection already, and a write would fail.
    assert_eq!(c.read_message_or_eof().await, None, "a foreign peer must be closed without an answer");
    let err = synccenter_client::Client::connect(&d.socket).await.expect_err("the client must be refused");
    assert!(matches!(err, synccenter_client::ClientError::Disconnected), "{err}");
}
