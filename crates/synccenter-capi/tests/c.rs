//! The C library as C programs use it: `tests/c/basic.c` compiled by the system C compiler with AddressSanitizer
//! against the built `libsynccenter.so` and the checked-in header, run against a real daemon, with this test
//! checking what the daemon saw and sending the stop the program waits for.
//!
//! Unix only: the programs use `poll` on the cancel descriptor, and the Windows build is checked by
//! `tests/windows/link.c` under Wine (`scripts/check-capi-windows.sh`).
#![cfg(unix)]

use std::io::{BufRead, BufReader, Lines, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use serde_json::{Value, json};
use synccenter_test_support::{HANG_GUARD, RawConn, TestDaemon, component};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The directory cargo put `libsynccenter.so` in when it built this test: the test binary's own `deps/`.
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent().expect("deps directory").to_owned()
}

/// Where the C program finds the library and the header: under `SYNCCENTER_CAPI_PREFIX` as
/// `scripts/install-capi.sh` installed them (through `pkg-config`, as a C project would), else the library
/// cargo just built (linked into `dir` under its soname too, as an installation would) and the checked-in header.
fn link_flags(dir: &Path) -> Vec<String> {
    if let Some(prefix) = std::env::var_os("SYNCCENTER_CAPI_PREFIX") {
        let prefix = PathBuf::from(prefix);
        let out = Command::new("pkg-config")
            .args(["--cflags", "--libs", "synccenter"])
            .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
            .output()
            .expect("run pkg-config");
        assert!(out.status.success(), "pkg-config synccenter: {}", String::from_utf8_lossy(&out.stderr));
        let mut flags: Vec<String> =
            String::from_utf8_lossy(&out.stdout).split_whitespace().map(str::to_owned).collect();
        flags.push(format!("-Wl,-rpath,{}", prefix.join("lib").display()));
        return flags;
    }
    let built = lib_dir().join("libsynccenter.so");
    assert!(built.is_file(), "no {}", built.display());
    std::fs::create_dir_all(dir).expect("the library's directory");
    for name in ["libsynccenter.so", "libsynccenter.so.0"] {
        std::os::unix::fs::symlink(&built, dir.join(name)).expect("link the library");
    }
    vec![
        format!("-I{}", crate_dir().join("include").display()),
        format!("-L{}", dir.display()),
        format!("-Wl,-rpath,{}", dir.display()),
        "-lsynccenter".to_owned(),
    ]
}

/// Flags that link the static library instead: the installed `libsynccenter.a` with the system libraries its
/// `pkg-config --static` names, or the one cargo built.
fn static_link_flags() -> Vec<String> {
    let Some(prefix) = std::env::var_os("SYNCCENTER_CAPI_PREFIX").map(PathBuf::from) else {
        let archive = lib_dir().join("libsynccenter.a");
        assert!(archive.is_file(), "no {}", archive.display());
        let mut flags = vec![format!("-I{}", crate_dir().join("include").display()), archive.display().to_string()];
        flags.extend(["-lpthread", "-ldl", "-lm"].map(str::to_owned));
        return flags;
    };
    let out = Command::new("pkg-config")
        .args(["--static", "--cflags", "--libs-only-l", "synccenter"])
        .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
        .output()
        .expect("run pkg-config");
    assert!(out.status.success(), "pkg-config --static synccenter: {}", String::from_utf8_lossy(&out.stderr));
    let named = String::from_utf8_lossy(&out.stdout).into_owned();
    let (cflags, libs): (Vec<&str>, Vec<&str>) = named.split_whitespace().partition(|f| f.starts_with("-I"));
    let mut flags: Vec<String> = cflags.into_iter().map(str::to_owned).collect();
    flags.push(prefix.join("lib/libsynccenter.a").display().to_string());
    flags.extend(libs.into_iter().filter(|l| *l != "-lsynccenter").map(str::to_owned));
    flags
}

/// How a C program is checked: built with AddressSanitizer against the shared library, or built plainly against
/// the static library and run under valgrind.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Checker {
    Asan,
    Valgrind,
}

/// Compiles `tests/c/basic.c` into `dir` for `checker`; `None` (skipped outside CI) without a C compiler.
fn compile(dir: &Path, checker: Checker) -> Option<PathBuf> {
    let cc = component::require("a C compiler (cc)", component::program("cc"))?;
    let out = dir.join(format!("basic-{checker:?}"));
    let (sanitize, link): (&[&str], _) = match checker {
        Checker::Asan => (&["-fsanitize=address", "-fno-omit-frame-pointer"], link_flags(dir)),
        Checker::Valgrind => (&[], static_link_flags()),
    };
    let status = Command::new(cc)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-g"])
        .args(sanitize)
        .arg(crate_dir().join("tests/c/basic.c"))
        .args(link)
        .arg("-o")
        .arg(&out)
        .status()
        .expect("run cc");
    assert!(status.success(), "cc failed on basic.c");
    Some(out)
}

/// Starts `basic` in `mode`; under valgrind, any memory error or definite leak fails it.
fn spawn(
    program: &Path,
    checker: Checker,
    daemon: &TestDaemon,
    mode: &str,
    asan: &str,
) -> (Child, Lines<BufReader<ChildStdout>>) {
    let mut command = match checker {
        Checker::Asan => Command::new(program),
        Checker::Valgrind => {
            let mut c = Command::new("valgrind");
            c.args(["--quiet", "--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=definite"]);
            c.arg(program);
            c
        }
    };
    let mut child = command
        .arg(&daemon.socket)
        .arg(mode)
        .env("ASAN_OPTIONS", asan)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start basic");
    let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    (child, lines)
}

/// The next line the program prints, read on a blocking thread so the daemon keeps running.
async fn next_line(lines: &mut Option<Lines<BufReader<ChildStdout>>>) -> String {
    let mut taken = lines.take().expect("lines");
    let (line, taken) = tokio::time::timeout(
        HANG_GUARD,
        tokio::task::spawn_blocking(move || {
            let line = taken.next();
            (line, taken)
        }),
    )
    .await
    .expect("the C program printed nothing (hung)")
    .expect("reader thread");
    *lines = Some(taken);
    line.expect("the C program ended early").expect("read stdout")
}

async fn setup(daemon: &TestDaemon) -> RawConn {
    let mut raw = daemon.raw().await;
    raw.setup("capi", &["docs", "photos", "extra"], json!({})).await;
    raw.ok("item.register", json!({"handler": "capi", "item": "off", "name": "Off", "enabled": false})).await;
    raw
}

/// `basic.c` compiled (in the returned directory), a daemon, and a connection to it with handler `capi` set up.
async fn prepared(checker: Checker) -> Option<(tempfile::TempDir, PathBuf, TestDaemon, RawConn)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let program = compile(dir.path(), checker)?;
    let daemon = TestDaemon::start().await;
    let raw = setup(&daemon).await;
    Some((dir, program, daemon, raw))
}

fn session_of(line: &str) -> String {
    line.strip_prefix("session ").unwrap_or_else(|| panic!("expected `session ID`, got {line:?}")).to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_bad_input_and_the_cancel_descriptor() {
    full(Checker::Asan).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_under_valgrind() {
    if component::require("valgrind", component::program("valgrind")).is_some() {
        full(Checker::Valgrind).await;
    }
}

async fn full(checker: Checker) {
    let Some((_dir, program, daemon, mut raw)) = prepared(checker).await else { return };
    let (mut child, lines) = spawn(&program, checker, &daemon, "full", "detect_leaks=1");
    let mut lines = Some(lines);

    let session = session_of(&next_line(&mut lines).await);
    // A start request for an item outside the session waits for it to end: QueryForAdditionalItems sees it.
    let context = json!({"folder": "/srv/extra"});
    let started = raw.ok("control.start", json!({"handler": "capi", "items": ["extra"], "context": context})).await;
    assert!(started.get("requests").is_some(), "{started}");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"go\n").expect("write to the program");
    drop(stdin);
    assert_eq!(next_line(&mut lines).await, "ready");
    let listed = raw.ok("sessions.list", json!({})).await;
    let ours: Vec<&Value> =
        listed["sessions"].as_array().expect("sessions").iter().filter(|s| s["session"] == session.as_str()).collect();
    assert_eq!(ours.len(), 1, "{listed}");
    assert_eq!(ours[0]["manual"], true, "{listed}");
    let docs = ours[0]["items"].as_array().expect("items").iter().find(|i| i["item"] == "docs").expect("docs");
    assert_eq!(
        (docs["step"].clone(), docs["max_step"].clone(), docs["text"].clone()),
        (json!(1), json!(10), json!("copying"))
    );
    let events = raw.ok("events.list", json!({"handler": "capi"})).await;
    assert!(events.to_string().contains("Slow disk"), "{events}");
    let conflicts = raw.ok("conflicts.list", json!({"handler": "capi"})).await;
    let [conflict] = conflicts["conflicts"].as_array().expect("conflicts").as_slice() else {
        panic!("one conflict left (the other was removed): {conflicts}")
    };
    let fields = ["item", "key", "name", "description", "abilities"].map(|f| conflict[f].clone());
    let want = [json!("docs"), json!("report.odt"), json!("report.odt"), json!("Changed on both sides")];
    assert_eq!(fields[..4], want, "{conflict}");
    assert_eq!(fields[4], json!(["keep_recent", "keep_single"]), "{conflict}");
    let versions = &conflict["versions"];
    assert_eq!(
        (versions[0]["alternate_name"].clone(), versions[0]["size"].clone(), versions[0]["types"].clone()),
        (json!("report (laptop).odt"), json!(1024), json!(["updated"])),
        "{conflict}"
    );
    assert_eq!(
        (versions[1]["original_name"].clone(), versions[1]["types"].clone()),
        (json!("report.odt"), json!(["updated", "deleted"])),
        "{conflict}"
    );

    // The stop that the program's poll() waits for.
    raw.ok("control.stop", json!({"handler": "capi"})).await;
    assert_eq!(next_line(&mut lines).await, "ok");
    let status = tokio::task::spawn_blocking(move || child.wait()).await.expect("join").expect("wait");
    assert!(status.success(), "basic.c full failed: {status}");

    let history = raw.ok("sessions.history", json!({"handler": "capi"})).await;
    let sessions = history["sessions"].as_array().expect("sessions");
    assert_eq!(sessions.len(), 2, "the announced session and the full one: {history}");
    assert!(sessions.iter().all(|s| s["end_reason"] == "ended"), "{history}");
    // The announced one (the older, listed last) records nothing for its item (spec §5.2).
    let announced = &sessions[1]["items"];
    assert_eq!(
        (announced[0]["item"].clone(), announced[0]["status"].clone()),
        (json!("docs"), json!(null)),
        "{history}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_that_exits_without_ending_loses_its_session() {
    let Some((_dir, program, daemon, mut raw)) = prepared(Checker::Asan).await else { return };
    let mut watch = daemon.raw().await;
    watch.ok("subscribe", json!({})).await;
    // The program leaks its handles on purpose: exiting without freeing them is the case under test.
    let (mut child, lines) = spawn(&program, Checker::Asan, &daemon, "lost", "detect_leaks=0");
    let mut lines = Some(lines);
    let session = session_of(&next_line(&mut lines).await);
    let status = tokio::task::spawn_blocking(move || child.wait()).await.expect("join").expect("wait");
    assert!(status.success(), "basic.c lost failed: {status}");

    let ended = loop {
        let update = watch.next_push_of("update").await;
        if update["params"]["type"] == "session_ended" && update["params"]["session"] == session.as_str() {
            break update;
        }
    };
    assert_eq!(ended["params"]["reason"], "owner_lost", "{ended}");
    assert_eq!(ended["params"]["status"], "failed", "{ended}");
    let history = raw.ok("sessions.history", json!({"handler": "capi"})).await;
    assert_eq!(history["sessions"][0]["end_reason"], "owner_lost", "{history}");
}

/// The real `synccenter` binary, which cargo puts beside this test's `deps/` when it builds the CLI crate
/// (`cargo test --workspace`, as CI does; alone: `cargo build -p synccenter-cli`).
fn cli_binary() -> Option<PathBuf> {
    let profile_dir = lib_dir().parent().expect("the profile's directory").to_owned();
    let bin = profile_dir.join(format!("synccenter{}", std::env::consts::EXE_SUFFIX));
    let found = if bin.is_file() { Ok(bin) } else { Err(format!("{} is not built", bin.display())) };
    component::require("the synccenter CLI (cargo build -p synccenter-cli)", found)
}

/// Runs the real CLI as a user would (the daemon found through `SYNCCENTER_SOCKET`, its own home and data
/// directories, no D-Bus) and returns its output.
async fn run_cli(cli: PathBuf, daemon: &TestDaemon, home: &Path, args: &[&str]) -> std::process::Output {
    std::fs::create_dir_all(home).expect("the CLI's home");
    let mut command = Command::new(cli);
    command
        .args(args)
        .env("SYNCCENTER_SOCKET", &daemon.socket)
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/synccenter-tests-have-no-system-bus")
        .stdin(Stdio::null());
    tokio::time::timeout(HANG_GUARD, tokio::task::spawn_blocking(move || command.output()))
        .await
        .expect("synccenter hung")
        .expect("join")
        .expect("run synccenter")
}

/// Issue 21: the cancel descriptor becomes readable after `synccenter stop`, the real binary, here for one item.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synccenter_stop_makes_the_cancel_descriptor_readable() {
    let Some(cli) = cli_binary() else { return };
    let Some((dir, program, daemon, mut raw)) = prepared(Checker::Asan).await else { return };
    let (mut child, lines) = spawn(&program, Checker::Asan, &daemon, "stop", "detect_leaks=1");
    let mut lines = Some(lines);
    let session = session_of(&next_line(&mut lines).await);
    assert_eq!(next_line(&mut lines).await, "ready");

    let out = run_cli(cli, &daemon, &dir.path().join("home"), &["stop", "capi", "docs"]).await;
    assert!(out.status.success(), "synccenter stop capi docs: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(next_line(&mut lines).await, "ended 5", "docs canceled, photos succeeded");
    let status = tokio::task::spawn_blocking(move || child.wait()).await.expect("join").expect("wait");
    assert!(status.success(), "basic.c stop failed: {status}");

    let history = raw.ok("sessions.history", json!({"handler": "capi"})).await;
    let ended = &history["sessions"][0];
    assert_eq!((ended["session"].clone(), ended["status"].clone()), (json!(session), json!("canceled")), "{history}");
}

/// The COM-shaped C++ header (`include/synccenter.hpp`): `tests/c/callback.cpp`, compiled by the system g++ with
/// AddressSanitizer, uses every method against a real daemon; the last `Release` of its callback ends the session
/// while the program still runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_com_shaped_cpp_header_wraps_a_session_and_its_release_ends_it() {
    let Some(cxx) = component::require("a C++ compiler (g++)", component::program("g++")) else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let program = dir.path().join("callback");
    let built = Command::new(cxx)
        .args(["-std=c++17", "-Wall", "-Wextra", "-Werror", "-g", "-fsanitize=address", "-fno-omit-frame-pointer"])
        .arg(crate_dir().join("tests/c/callback.cpp"))
        .args(link_flags(&dir.path().join("lib")))
        .arg("-o")
        .arg(&program)
        .status()
        .expect("run g++");
    assert!(built.success(), "g++ failed on callback.cpp");
    let daemon = TestDaemon::start().await;
    let mut raw = setup(&daemon).await;
    let mut child = Command::new(&program)
        .arg(&daemon.socket)
        .env("ASAN_OPTIONS", "detect_leaks=1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start callback");
    let mut lines = Some(BufReader::new(child.stdout.take().expect("stdout")).lines());
    let mut stdin = child.stdin.take().expect("stdin");

    let session = session_of(&next_line(&mut lines).await);
    let context = json!({"folder": "/srv/extra"});
    raw.ok("control.start", json!({"handler": "capi", "items": ["extra"], "context": context})).await;
    stdin.write_all(b"go\n").expect("write to the program");
    assert_eq!(next_line(&mut lines).await, "ready");
    let conflicts = raw.ok("conflicts.list", json!({"handler": "capi"})).await;
    assert_eq!(conflicts["conflicts"].as_array().map(Vec::len), Some(1), "one left, one removed: {conflicts}");
    assert_eq!(conflicts["conflicts"][0]["versions"][0]["size"], 2048, "{conflicts}");
    raw.ok("control.stop", json!({"handler": "capi"})).await;
    assert_eq!(next_line(&mut lines).await, "released");

    // The program still holds its connection: the end came from the release.
    let history = raw.ok("sessions.history", json!({"handler": "capi"})).await;
    let ours = history["sessions"].as_array().expect("sessions").iter().find(|s| s["session"] == session.as_str());
    let ours = ours.unwrap_or_else(|| panic!("the session ended on release: {history}"));
    assert_eq!((ours["end_reason"].clone(), ours["status"].clone()), (json!("ended"), json!("canceled")), "{history}");
    assert_eq!(history["sessions"].as_array().map(Vec::len), Some(2), "and the announced one: {history}");
    stdin.write_all(b"exit\n").expect("write to the program");
    drop(stdin);
    let status = tokio::task::spawn_blocking(move || child.wait()).await.expect("join").expect("wait");
    assert!(status.success(), "callback.cpp failed: {status}");
}

/// The shared library a program loads at run time: the installed one under `SYNCCENTER_CAPI_PREFIX`, else the
/// one cargo built.
fn shared_library() -> PathBuf {
    match std::env::var_os("SYNCCENTER_CAPI_PREFIX") {
        Some(prefix) => PathBuf::from(prefix).join("lib/libsynccenter.so.0"),
        None => lib_dir().join("libsynccenter.so"),
    }
}

/// Runs an example in another language (`command` with its leading arguments; the socket, handler and item
/// follow) through its session: its progress text must reach `sessions.list`, the stop sent once it says
/// `ready` must reach it through the cancel descriptor, and its item must end canceled.
async fn foreign_session(mut command: Command, text: &str) {
    let daemon = TestDaemon::start().await;
    let mut raw = setup(&daemon).await;
    let mut child =
        command.arg(&daemon.socket).args(["capi", "docs"]).stdout(Stdio::piped()).spawn().expect("start the example");
    let mut lines = Some(BufReader::new(child.stdout.take().expect("stdout")).lines());

    let session = session_of(&next_line(&mut lines).await);
    assert_eq!(next_line(&mut lines).await, "ready");
    let listed = raw.ok("sessions.list", json!({})).await;
    let shown = listed["sessions"][0]["items"][0]["text"].clone();
    assert_eq!((listed["sessions"][0]["session"].clone(), shown), (json!(session), json!(text)), "{listed}");
    raw.ok("control.stop", json!({"handler": "capi"})).await;
    assert_eq!(next_line(&mut lines).await, "ended 5", "the item was canceled");
    let status = tokio::task::spawn_blocking(move || child.wait()).await.expect("join").expect("wait");
    assert!(status.success(), "the example failed: {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_through_ctypes_waits_on_the_cancel_descriptor() {
    let python = Path::new("/usr/bin/python3");
    let found = if python.is_file() { Ok(python) } else { Err("Debian's /usr/bin/python3 is missing") };
    let Some(python) = component::require("/usr/bin/python3", found) else { return };
    let mut command = Command::new(python);
    command.arg(crate_dir().join("tests/python/session.py")).arg(shared_library());
    foreign_session(command, "from Python").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_through_cgo_waits_on_the_cancel_descriptor() {
    let Some(go) = component::require("go (Debian's golang-go)", component::program("go")) else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let (cflags, ldflags): (Vec<String>, Vec<String>) =
        link_flags(&dir.path().join("lib")).into_iter().partition(|f| f.starts_with("-I"));
    let program = dir.path().join("session");
    let go_build = go.clone();
    let built = tokio::task::spawn_blocking(move || {
        Command::new(go_build)
            .arg("build")
            .arg("-o")
            .arg(&program)
            .arg(crate_dir().join("tests/go/session.go"))
            .env("CGO_ENABLED", "1")
            .env("CGO_CFLAGS", cflags.join(" "))
            .env("CGO_LDFLAGS", ldflags.join(" "))
            .env("GOCACHE", program.with_file_name("gocache"))
            .env("GOPATH", program.with_file_name("gopath"))
            .status()
    })
    .await
    .expect("join")
    .expect("run go build");
    assert!(built.success(), "go build of tests/go/session.go failed");
    foreign_session(Command::new(dir.path().join("session")), "from Go").await;
}

/// The ```` ```c ```` and ```` ```cpp ```` blocks of `docs/c-api.md`, in order.
fn documented_examples() -> Vec<(String, String)> {
    let doc = std::fs::read_to_string(crate_dir().join("../../docs/c-api.md")).expect("read docs/c-api.md");
    let mut examples = Vec::new();
    let mut rest = doc.as_str();
    while let Some(start) = rest.find("\n```") {
        let after = &rest[start + 4..];
        let (lang, body) = after.split_once('\n').expect("a fence line");
        let end = body.find("\n```").expect("a closing fence");
        if lang == "c" || lang == "cpp" {
            examples.push((lang.to_owned(), body[..=end].to_owned()));
        }
        rest = &body[end + 4..];
    }
    examples
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_c_and_cpp_examples_build_and_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(cc) = component::require("a C compiler (cc)", component::program("cc")) else { return };
    let Some(cxx) = component::require("a C++ compiler (c++)", component::program("c++")) else { return };
    let daemon = TestDaemon::start().await;
    let mut raw = daemon.raw().await;
    raw.setup("backup", &["docs"], json!({"capabilities": ["supports_concurrent_sessions"]})).await;
    let examples = documented_examples();
    assert_eq!(examples.iter().map(|(lang, _)| lang.as_str()).collect::<Vec<_>>(), ["c", "cpp", "cpp"]);
    for (i, (lang, body)) in examples.iter().enumerate() {
        let (compiler, std) = if lang == "c" { (&cc, "-std=c11") } else { (&cxx, "-std=c++17") };
        let source = dir.path().join(format!("example{i}.{lang}"));
        std::fs::write(&source, body).expect("write the example");
        let program = dir.path().join(format!("example{i}"));
        let built = Command::new(compiler)
            .args([std, "-Wall", "-Wextra", "-Werror", "-fsanitize=address"])
            .arg(&source)
            .args(link_flags(&dir.path().join(format!("lib{i}"))))
            .arg("-o")
            .arg(&program)
            .status()
            .expect("run the compiler");
        assert!(built.success(), "the {lang} example of docs/c-api.md does not build");
        let socket = daemon.socket.clone();
        let ran = tokio::task::spawn_blocking(move || Command::new(program).env("SYNCCENTER_SOCKET", socket).status())
            .await
            .expect("join")
            .expect("run the example");
        assert!(ran.success(), "the {lang} example of docs/c-api.md failed: {ran}");
    }
    let history = raw.ok("sessions.history", json!({"handler": "backup"})).await;
    let statuses: Vec<&Value> =
        history["sessions"].as_array().expect("sessions").iter().map(|s| &s["status"]).collect();
    assert_eq!(statuses, [&json!("succeeded"); 3], "{history}");
}
