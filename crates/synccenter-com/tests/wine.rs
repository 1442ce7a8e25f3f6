//! Issue 21's demonstration, under Wine (and on Windows): `tests/c/client.c`, a C program written against
//! `include/syncmgr.h` only, creates its session creator with `CoCreateInstance` through the registry, after the
//! real `synccenter.exe com register` in this prefix, and drives a session of a real daemon (this process's
//! `TestDaemon`, on a named pipe) until the real `synccenter stop` reaches it as `SYNCMGR_CR_CANCEL_ITEM`; the
//! daemon's view is checked at each step. First as Windows' `CLSID_SyncMgrClient` after `--take-over` (in a
//! multithreaded apartment), then as synccenter's own class without it (in a single-threaded one), then
//! `com unregister`, after which both classes are unknown again.
//!
//! Needs the CLI beside this test, built from the same sources: `.ci/run` tests the CLI's binaries in the same
//! command; by hand, `cargo build --target x86_64-pc-windows-gnu -p synccenter-cli` first. The registration is
//! `--machine`: Wine 8 ignores the user's classes.

#![cfg(windows)]

use std::path::PathBuf;
use std::process::{Output, Stdio};

use serde_json::{Value, json};
use synccenter_test_support::{HANG_GUARD, RawConn, TestDaemon, component};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

const REGDB_E_CLASSNOTREG: &str = "0x80040154";

/// `target/<triple>/debug/deps`, where cargo put this test and `synccenter_com.dll`.
fn deps_dir() -> PathBuf {
    std::env::current_exe().expect("test binary path").parent().expect("deps directory").to_owned()
}

fn client_exe() -> Result<PathBuf, String> {
    match env!("SYNCCENTER_COM_CLIENT_EXE") {
        "" => Err("build.rs found no mingw-w64 C compiler (x86_64-w64-mingw32-gcc) to build tests/c/client.c".into()),
        path => Ok(PathBuf::from(path)),
    }
}

fn cli_exe() -> Result<PathBuf, String> {
    let exe = deps_dir().parent().expect("the profile directory").join("synccenter.exe");
    if exe.is_file() {
        Ok(exe)
    } else {
        Err(format!("{} is missing: cargo build --target x86_64-pc-windows-gnu -p synccenter-cli", exe.display()))
    }
}

/// Runs `command` with no input to its end; its output (stderr too unless `inherit_stderr`).
async fn output(command: &mut Command, inherit_stderr: bool) -> Output {
    let stderr = if inherit_stderr { Stdio::inherit() } else { Stdio::piped() };
    let child = command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(stderr).kill_on_drop(true);
    let child = child.spawn().unwrap_or_else(|e| panic!("spawn {command:?}: {e}"));
    let o = tokio::time::timeout(HANG_GUARD, child.wait_with_output()).await;
    o.unwrap_or_else(|_| panic!("{command:?} hung")).expect("wait")
}

/// The real `synccenter.exe` with `args`, against the test daemon; its output once it exits.
async fn synccenter(cli: &PathBuf, d: &TestDaemon, args: &[&str]) -> Output {
    output(Command::new(cli).arg("--socket").arg(&d.socket).args(args), false).await
}

/// `synccenter --json ARGS`, which must succeed; its JSON document.
async fn synccenter_json(cli: &PathBuf, d: &TestDaemon, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let o = synccenter(cli, d, &all).await;
    let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "synccenter {args:?}: {out}{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("synccenter {args:?} printed no JSON ({e}): {out}"))
}

/// The C client, its stdin (one line: one more progress report) and its output lines.
struct CClient {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl CClient {
    fn spawn(exe: &PathBuf, d: &TestDaemon, args: &[&str]) -> CClient {
        let mut child = Command::new(exe)
            .args(args)
            .env("SYNCCENTER_SOCKET", &d.socket)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn the C client");
        let stdin = child.stdin.take().expect("stdin piped");
        let lines = BufReader::new(child.stdout.take().expect("stdout piped")).lines();
        CClient { child, stdin, lines }
    }

    async fn line(&mut self) -> String {
        let next = tokio::time::timeout(HANG_GUARD, self.lines.next_line()).await.expect("the C client hung");
        next.expect("read the C client's output").expect("the C client ended early")
    }

    async fn expect(&mut self, want: &str) {
        let got = self.line().await;
        assert_eq!(got, want, "the C client said {got:?}, expected {want:?}");
    }

    async fn report(&mut self) -> String {
        self.stdin.write_all(b"report\n").await.expect("pace the C client");
        self.stdin.flush().await.expect("flush");
        self.line().await
    }

    async fn exits_with_success(mut self) {
        let status =
            tokio::time::timeout(HANG_GUARD, self.child.wait()).await.expect("the C client hung").expect("wait");
        assert!(status.success(), "the C client failed: {status}");
    }
}

/// What `CoCreateInstance` answers for `class` (`own` or `syncmgr`) now.
async fn cocreate(exe: &PathBuf, d: &TestDaemon, class: &str) -> String {
    let mut c = CClient::spawn(exe, d, &["probe", class, "mta"]);
    let line = c.line().await;
    c.expect("done").await;
    c.exits_with_success().await;
    line.strip_prefix("cocreate ").expect("cocreate line").to_owned()
}

/// The live session of `handler` with `item`, from the daemon.
async fn live_session(raw: &mut RawConn, handler: &str, item: &str) -> Value {
    let list = raw.ok("sessions.list", json!({})).await;
    let sessions = list["sessions"].as_array().expect("sessions").clone();
    sessions
        .into_iter()
        .find(|s| s["handler"] == handler && s["items"].as_array().is_some_and(|i| i.iter().any(|i| i["item"] == item)))
        .unwrap_or_else(|| panic!("no live session of {handler}/{item}: {list}"))
}

/// The C client takes in `extra`, requested with a context by a start while its session runs (spec §5.13, §5.14),
/// and answers `E_ACCESSDENIED` for a report on it after its final status.
async fn pending(c: &mut CClient, raw: &mut RawConn, extra: &str) {
    let context = json!({"why": "photos changed"});
    raw.ok("control.start", json!({"handler": "backup", "items": [extra], "context": context})).await;
    c.stdin.write_all(b"started\n").await.expect("tell the C client");
    c.expect("add item 0x00000000").await;
    c.expect(&format!("pending 0x00000000 {extra}, more 1")).await;
    c.expect("add context 0x00000000").await;
    c.expect("pending 0x00000001 null").await;
    c.expect("add unknown 0x80070057").await;
    c.expect("extra succeeded 0x00000000").await;
    c.expect("extra after final 0x80070005").await;
}

/// Where the C client runs and how it creates its session creator.
#[derive(Clone, Copy)]
struct Session<'a> {
    exe: &'a PathBuf,
    cli: &'a PathBuf,
    d: &'a TestDaemon,
    class: &'a str,
    apartment: &'a str,
}

/// One whole session of the C client on `item` (and `extra`) through its class, with the stop from
/// `synccenter stop`.
async fn session(run: Session<'_>, raw: &mut RawConn, item: &str, extra: &str) {
    let Session { exe, cli, d, class, apartment } = run;
    let mut c = CClient::spawn(exe, d, &["session", class, apartment, "backup", item, extra]);
    c.expect("cocreate 0x00000000").await;
    c.expect("announce 0x00000000").await;
    c.expect("session created").await;
    c.expect("null item 0x80004003").await;
    c.expect("bad status 0x80070057").await;
    let event = c.line().await;
    let event = event.strip_prefix("event 0x00000000 ").unwrap_or_else(|| panic!("ReportEvent failed: {event}"));
    let stored = raw.ok("events.get", json!({"event": event})).await;
    assert_eq!((&stored["name"], &stored["item"]), (&json!("Skipped a file"), &json!(item)), "{stored}");
    c.expect("can continue 0x00000000").await;
    c.expect("handler text 0x00000000 0").await;
    c.expect("manual 0x00000000").await;
    let live = live_session(raw, "backup", item).await;
    assert_eq!(live["manual"], true, "{live}");
    pending(&mut c, raw, extra).await;

    assert_eq!(c.report().await, "progress accepted 0");
    let reported = live_session(raw, "backup", item).await;
    assert_eq!(reported["session"], live["session"]);
    let progress = reported["items"].as_array().and_then(|i| i.iter().find(|i| i["item"] == item)).cloned();
    let progress = progress.unwrap_or_default();
    let seen = (&progress["status"], &progress["step"], &progress["max_step"], &progress["text"]);
    assert_eq!(seen, (&json!("updating"), &json!(1), &json!(100), &json!("copying")), "{reported}");

    let o = synccenter(cli, d, &["stop", "backup", item]).await;
    assert!(o.status.success(), "synccenter stop: {}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(c.report().await, "progress accepted 1", "SYNCMGR_CR_CANCEL_ITEM after the stop");
    c.expect("cancel seen 1").await;
    c.expect("can continue 0x00000001").await;
    c.expect("bad status after the stop 0x80070057 1").await;
    c.expect("null text 0x80004003 0").await;
    c.expect("canceled 0x00000000").await;
    c.expect("released").await;
    c.expect("done").await;
    c.exits_with_success().await;

    // Releasing the callback ended the session, with the item as the client left it.
    let history = raw.ok("sessions.history", json!({"handler": "backup", "limit": 1})).await;
    let ended = &history["sessions"][0];
    assert_eq!(ended["session"], live["session"], "{history}");
    assert_eq!(ended["end_reason"], "ended", "{history}");
    let status = |id: &str| {
        let items = ended["items"].as_array().expect("items");
        items.iter().find(|i| i["item"] == id).map(|i| i["status"].clone())
    };
    assert_eq!(status(item), Some(json!("canceled")), "{history}");
    assert_eq!(status(extra), Some(json!("failed")), "a report after its final status fails it: {history}");

    // The announcement before it (a NULL ppCallback) ended at once with nothing recorded for its item.
    let history = raw.ok("sessions.history", json!({"handler": "backup", "limit": 2})).await;
    let announced = &history["sessions"][1];
    assert_eq!(announced["end_reason"], "ended", "{history}");
    assert_eq!(announced["items"][0]["status"], json!(null), "{history}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmodified_c_client_reports_through_the_com_server() {
    let Some(exe) = component::require("the C client (mingw-w64)", client_exe()) else { return };
    let Some(cli) = component::require("synccenter.exe", cli_exe()) else { return };
    let dll = deps_dir().join("synccenter_com.dll");
    assert!(dll.is_file(), "cargo built no {}", dll.display());
    let dll = dll.display().to_string();
    let d = TestDaemon::start().await;
    let mut raw = d.raw().await;
    raw.setup("backup", &["docs", "music", "photos", "videos"], json!({})).await;
    let run = |class, apartment| Session { exe: &exe, cli: &cli, d: &d, class, apartment };
    assert_eq!(cocreate(&exe, &d, "syncmgr").await, REGDB_E_CLASSNOTREG, "a fresh prefix has no Sync Center");

    let r = synccenter_json(&cli, &d, &["com", "register", "--take-over", "--machine", "--dll", &dll]).await;
    assert_eq!((&r["scope"], &r["take_over"], &r["replaced"]), (&json!("machine"), &json!(true), &json!(false)), "{r}");
    session(run("syncmgr", "mta"), &mut raw, "docs", "photos").await;

    // Registering again without --take-over replaces the registration and gives CLSID_SyncMgrClient back.
    let r = synccenter_json(&cli, &d, &["com", "register", "--machine", "--dll", &dll]).await;
    assert_eq!((&r["take_over"], &r["replaced"]), (&json!(false), &json!(true)), "{r}");
    assert_eq!(cocreate(&exe, &d, "syncmgr").await, REGDB_E_CLASSNOTREG);
    session(run("own", "sta"), &mut raw, "music", "videos").await;

    let r = synccenter_json(&cli, &d, &["com", "unregister", "--machine"]).await;
    assert_eq!((&r["removed"], &r["take_over_undone"]), (&json!(true), &json!(false)), "{r}");
    assert_eq!(cocreate(&exe, &d, "own").await, REGDB_E_CLASSNOTREG);
    let r = synccenter_json(&cli, &d, &["com", "unregister", "--machine"]).await;
    assert_eq!(r["removed"], false, "{r}");
    drop(raw);
    d.stop().await;
}

/// The DLL's exports as COM calls them, without the registry: a class factory for synccenter's class and for
/// `CLSID_SyncMgrClient`, `CLASS_E_CLASSNOTAVAILABLE` for another, no aggregation, and `DllCanUnloadNow` saying no
/// while a factory or a session creator lives.
#[tokio::test]
async fn the_exports_serve_both_classes_and_refuse_unloading_while_an_object_lives() {
    let Some(exe) = component::require("the C client (mingw-w64)", client_exe()) else { return };
    let dll = deps_dir().join("synccenter_com.dll");
    let o = output(Command::new(exe).arg("exports").arg(&dll), true).await;
    let said = String::from_utf8_lossy(&o.stdout);
    let want = [
        "other class 0x80040111",
        "syncmgr class 0x00000000",
        "own class 0x00000000",
        "unload with a factory 0x00000001",
        "instance 0x00000000",
        "aggregation 0x80040110",
        "unload with a creator 0x00000001",
        "unload 0x00000000",
        "done",
    ];
    assert_eq!(said.lines().collect::<Vec<_>>(), want, "{said}");
    assert!(o.status.success(), "{}", o.status);
}

/// `reg.exe ARGS` (Wine's and Windows' own); whether it succeeded, and what it printed.
async fn reg(args: &[&str]) -> (bool, String) {
    let o = output(Command::new("reg").args(args), false).await;
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

const USER_CLASSES: &str = r"HKCU\Software\Classes\CLSID";
const OURS: &str = "{A6DF8D05-7580-4B2C-9DFC-D1F64EEFC0BA}";
const SYNCMGR_CLIENT: &str = "{1202DB60-1DAC-42C5-AED5-1ABDD432248E}";

/// The per-user registration, the default, as keys (Wine 8 does not look there for classes, so it is checked in
/// the registry itself): a `TreatAs` synccenter did not write is refused and kept, and `unregister` leaves a
/// `CLSID_SyncMgrClient` key it did not create. Only under Wine (`WINEPREFIX`): on Windows this would change the
/// real user's classes.
#[tokio::test]
async fn the_per_user_registration_writes_and_removes_only_its_own_keys() {
    if std::env::var_os("WINEPREFIX").is_none() {
        return;
    }
    let Some(cli) = component::require("synccenter.exe", cli_exe()) else { return };
    let dll = deps_dir().join("synccenter_com.dll").display().to_string();
    let d = TestDaemon::start().await;
    let ours = format!(r"{USER_CLASSES}\{OURS}");
    let client = format!(r"{USER_CLASSES}\{SYNCMGR_CLIENT}");
    let treat_as = format!(r"{client}\TreatAs");

    // Without --dll: synccenter_com.dll beside synccenter.exe (both linked into a directory of their own, as
    // installed); a missing one is refused.
    let installed = tempfile::tempdir_in(deps_dir()).expect("a directory beside the build");
    let exe = installed.path().join("synccenter.exe");
    let beside = installed.path().join("synccenter_com.dll");
    for (from, to) in [(&cli, &exe), (&deps_dir().join("synccenter_com.dll"), &beside)] {
        std::fs::hard_link(from, to).or_else(|_| std::fs::copy(from, to).map(drop)).expect("install");
    }
    let r = synccenter_json(&exe, &d, &["com", "register"]).await;
    assert_eq!((&r["scope"], &r["dll"]), (&json!("user"), &json!(beside.display().to_string())), "{r}");
    let o = synccenter(&cli, &d, &["com", "register", "--dll", "no-such.dll"]).await;
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("no such DLL"), "{o:?}");
    let (kept, keys) = reg(&["query", &ours, "/s"]).await;
    assert!(kept && keys.contains(&beside.display().to_string()), "a refused registration changes nothing: {keys}");

    let r = synccenter_json(&cli, &d, &["com", "register", "--dll", &dll]).await;
    assert_eq!((&r["scope"], &r["take_over"]), (&json!("user"), &json!(false)), "{r}");
    let (found, keys) = reg(&["query", &ours, "/s"]).await;
    assert!(found && keys.contains(&dll) && keys.contains("ThreadingModel") && keys.contains("Both"), "{keys}");
    assert!(!reg(&["query", &client]).await.0, "no take-over asked for");

    // A TreatAs that someone else wrote is refused, and kept.
    let foreign = "{00000000-0000-0000-0000-0000000000AB}";
    assert!(reg(&["add", &treat_as, "/ve", "/d", foreign, "/f"]).await.0);
    let o = synccenter(&cli, &d, &["com", "register", "--take-over", "--dll", &dll]).await;
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("already points at"), "{err}");
    assert!(reg(&["query", &treat_as]).await.1.contains(foreign));
    assert!(!reg(&["query", &ours]).await.0, "a refused registration leaves nothing of ours");

    // A CLSID_SyncMgrClient key that existed before the take-over stays after unregister; only TreatAs goes.
    assert!(reg(&["delete", &treat_as, "/f"]).await.0);
    assert!(reg(&["add", &client, "/v", "Someone", "/d", "else", "/f"]).await.0);
    let r = synccenter_json(&cli, &d, &["com", "register", "--take-over", "--dll", &dll]).await;
    assert_eq!(r["take_over"], true, "{r}");
    assert!(reg(&["query", &treat_as]).await.1.contains(OURS));
    let r = synccenter_json(&cli, &d, &["com", "unregister"]).await;
    assert_eq!((&r["removed"], &r["take_over_undone"]), (&json!(true), &json!(true)), "{r}");
    assert!(!reg(&["query", &treat_as]).await.0, "the take-over is undone");
    let (kept, values) = reg(&["query", &client]).await;
    assert!(kept && values.contains("Someone"), "a key synccenter did not create is kept: {values}");
    assert!(!reg(&["query", &ours]).await.0, "synccenter's class is gone");

    // regsvr32 (DllRegisterServer) registers per user too, and /u (DllUnregisterServer) removes it.
    assert!(output(Command::new("regsvr32").args(["/s", &dll]), false).await.status.success());
    assert!(reg(&["query", &ours, "/s"]).await.1.contains(&dll));
    assert!(output(Command::new("regsvr32").args(["/s", "/u", &dll]), false).await.status.success());
    assert!(!reg(&["query", &ours]).await.0, "regsvr32 /u removed it");
    d.stop().await;
}
