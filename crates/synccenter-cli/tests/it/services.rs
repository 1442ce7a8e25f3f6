//! The service definitions in `contrib/` (the systemd user unit and the launchd agent): each names the verb
//! and environment the real binary is then started with, in an environment as bare as the service manager's,
//! and that daemon must come up, answer, and exit with success on SIGTERM (both definitions restart it only
//! after a failure). Unix only: it signals the process, and the plist is read with Python's `plistlib`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;
use synccenter_test_support::HANG_GUARD;

use crate::{stderr, stdout, wait_until_ready};

fn contrib(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contrib").join(path)
}

/// What a service definition asks for: the arguments after the program, and the environment it sets.
struct Service {
    program: String,
    args: Vec<String>,
    env: BTreeMap<String, String>,
}

/// Starts the real binary as the service would, with only `HOME` and `PATH` from a service manager and the
/// endpoint, data and dashboard moved into `dir`; checks it serves and that SIGTERM ends it with success.
async fn serve_as_the_service_would(service: &Service, dir: &Path) {
    assert!(service.program.ends_with("/synccenter"), "the program is synccenter: {}", service.program);
    let socket = dir.join("run/s.sock");
    let mut daemon = super::bin()
        .args(&service.args)
        .env_clear()
        .env("HOME", dir.join("home"))
        .env("PATH", "/usr/bin:/bin")
        .envs(&service.env)
        .env("SYNCCENTER_SOCKET", &socket)
        .env("SYNCCENTER_HTTP", "127.0.0.1:0")
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the daemon");
    let mut log = wait_until_ready(&mut daemon).await;
    let status = super::bin().arg("--socket").arg(&socket).args(["--json", "status"]).output();
    let o = tokio::time::timeout(HANG_GUARD, status).await.expect("status hung").expect("run");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s: Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(s["socket"], socket.display().to_string(), "{s}");
    // With no data directory given, the service's store lives under its HOME.
    assert!(dir.join("home/.local/share/synccenter").is_dir(), "the default data directory under HOME");

    // Drain the log so the daemon never blocks on a full pipe while it shuts down.
    tokio::spawn(async move { while let Ok(Some(_)) = log.next_line().await {} });
    let pid = daemon.id().expect("pid") as i32;
    rustix::process::kill_process(rustix::process::Pid::from_raw(pid).expect("pid"), rustix::process::Signal::TERM)
        .expect("SIGTERM");
    let exit = tokio::time::timeout(HANG_GUARD, daemon.wait()).await.expect("the daemon stops").expect("wait");
    assert!(exit.success(), "a stop is not a failure, so the service manager does not restart it: {exit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_systemd_unit_starts_a_daemon_that_serves_and_stops_cleanly() {
    let path = contrib("systemd/synccenter.service");
    let unit = std::fs::read_to_string(&path).expect("read the unit");
    let key = |name: &str| -> Vec<&str> {
        unit.lines().filter_map(|l| l.trim().strip_prefix(name).and_then(|v| v.strip_prefix('='))).collect()
    };
    assert_eq!(key("KillSignal"), ["SIGTERM"], "the daemon ends its sessions cleanly on SIGTERM");
    assert_eq!(key("Restart"), ["on-failure"]);
    let exec = key("ExecStart");
    assert_eq!(exec.len(), 1, "one ExecStart: {exec:?}");
    let mut words = exec[0].split_whitespace().map(str::to_owned);
    let program = words.next().expect("a program");
    let env = key("Environment")
        .into_iter()
        .map(|kv| kv.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).expect("NAME=value"))
        .collect();
    let service = Service { program, args: words.collect(), env };
    assert_eq!(service.args, ["daemon"]);
    let dir = tempfile::tempdir().expect("tempdir");
    serve_as_the_service_would(&service, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_launchd_agent_starts_a_daemon_that_serves_and_stops_cleanly() {
    let path = contrib("launchd/org.synccenter.daemon.plist");
    let read = std::process::Command::new("python3")
        .args(["-c", "import json, plistlib, sys; print(json.dumps(plistlib.load(open(sys.argv[1], 'rb'))))"])
        .arg(&path)
        .output()
        .expect("run python3");
    assert!(read.status.success(), "the plist parses: {}", String::from_utf8_lossy(&read.stderr));
    let plist: Value = serde_json::from_slice(&read.stdout).expect("JSON");
    assert_eq!(plist["Label"], "org.synccenter.daemon");
    assert_eq!(path.file_stem().and_then(|s| s.to_str()), plist["Label"].as_str(), "launchd wants Label.plist");
    assert_eq!(plist["RunAtLoad"], true);
    assert_eq!(plist["KeepAlive"]["SuccessfulExit"], false, "restarted only after a failure");
    let words: Vec<String> = plist["ProgramArguments"]
        .as_array()
        .expect("ProgramArguments")
        .iter()
        .map(|w| w.as_str().expect("a string").to_owned())
        .collect();
    let env = match plist.get("EnvironmentVariables") {
        Some(vars) => vars
            .as_object()
            .expect("a dictionary")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().expect("a string").to_owned()))
            .collect(),
        None => BTreeMap::new(),
    };
    let (program, args) = words.split_first().expect("a program");
    let service = Service { program: program.clone(), args: args.to_vec(), env };
    assert_eq!(service.args, ["daemon"]);
    let dir = tempfile::tempdir().expect("tempdir");
    serve_as_the_service_would(&service, dir.path()).await;
}
