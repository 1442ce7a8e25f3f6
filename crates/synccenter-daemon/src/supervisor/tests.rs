//! The supervisor's tests run real processes (shell scripts), so they are Unix-only.

use super::*;

/// No test run may take longer than this, whatever goes wrong.
const HANG_GUARD: Duration = Duration::from_secs(60);

fn spec(program: &str, args: &[&str]) -> RunSpec {
    let mut s = RunSpec::new(program, args.iter().map(|a| a.to_string()).collect(), Kind::Script);
    s.grace = Duration::from_secs(5);
    s
}

fn sh(script: &str, args: &[&str]) -> RunSpec {
    let mut all = vec!["-c", script];
    all.extend_from_slice(args);
    spec("sh", &all)
}

/// Runs `spec` with a receiver that waits `delay` before reading; returns the report and the events.
async fn go_with(
    spec: RunSpec,
    capacity: usize,
    delay: Duration,
    cancel: watch::Receiver<bool>,
) -> (RunReport, Vec<RunEvent>) {
    let (tx, mut rx) = mpsc::channel(capacity);
    let collector = tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let mut all = Vec::new();
        while let Some(ev) = rx.recv().await {
            all.push(ev);
        }
        all
    });
    let report = tokio::time::timeout(HANG_GUARD, run(spec, cancel, tx)).await.expect("the run hung");
    let events = tokio::time::timeout(HANG_GUARD, collector).await.expect("events hung").expect("collector");
    (report, events)
}

async fn go(spec: RunSpec) -> (RunReport, Vec<RunEvent>) {
    let (_cancel, rx) = watch::channel(false);
    go_with(spec, 16, Duration::ZERO, rx).await
}

fn observations(events: &[RunEvent]) -> Vec<&Observation> {
    events
        .iter()
        .filter_map(|e| match e {
            RunEvent::Observation(o) => Some(o),
            RunEvent::Started { .. } => None,
        })
        .collect()
}

fn logs(events: &[RunEvent]) -> Vec<&str> {
    observations(events)
        .into_iter()
        .filter_map(|o| match o {
            Observation::Log { line } => Some(line.as_str()),
            _ => None,
        })
        .collect()
}

/// The pid written (atomically) to `file`, waiting for it to appear.
async fn read_pid(file: &std::path::Path) -> u32 {
    let deadline = std::time::Instant::now() + HANG_GUARD;
    loop {
        if let Ok(s) = std::fs::read_to_string(file)
            && let Ok(pid) = s.trim().parse()
        {
            return pid;
        }
        assert!(std::time::Instant::now() < deadline, "no pid in {}", file.display());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Whether `pid` is gone (no `/proc/PID`, or a zombie), waiting a little for it.
async fn gone(pid: u32) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit_once(')').map(|(_, rest)| rest.trim_start().chars().next()))
            .flatten();
        if matches!(state, None | Some('Z')) {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Script that starts a `sleep 1000` grandchild and writes its pid to `$0` (atomically).
const GRANDCHILD: &str = r#"sleep 1000 & echo $! > "$0.tmp" && mv "$0.tmp" "$0""#;

#[tokio::test]
async fn script_progress_arrives_in_order_and_stderr_is_kept() {
    let (report, events) =
        go(sh(r#"printf '@synccenter progress %s/3\n' 1 2 3; echo first problem >&2; printf 'second\r\n' >&2"#, &[]))
            .await;
    assert!(matches!(events.first(), Some(RunEvent::Started { pid }) if *pid > 0), "{events:?}");
    let progress: Vec<(u64, Option<u64>)> =
        observations(&events).iter().filter_map(|o| o.as_progress()).map(|p| (p.done, p.total)).collect();
    assert_eq!(progress, [(1, Some(3)), (2, Some(3)), (3, Some(3))]);
    assert_eq!(report.exit, ExitInfo { code: Some(0), ..ExitInfo::default() });
    assert_eq!(report.stderr_tail, "first problem\nsecond");
    assert!(!report.output_truncated);
    assert_eq!(report.spawn_error, None);
}

#[tokio::test]
async fn exit_code_and_unterminated_last_line() {
    let (report, events) = go(sh("printf 'no newline'; printf 'err' >&2; exit 7", &[])).await;
    assert_eq!(report.exit, ExitInfo { code: Some(7), ..ExitInfo::default() });
    assert_eq!(logs(&events), ["no newline", "err"]);
    assert_eq!(report.stderr_tail, "err");
}

#[tokio::test]
async fn rsync_carriage_return_progress_is_split() {
    let mut s = sh(r"printf '   1,000  50%%  1.00kB/s    0:00:01\r   2,000 100%%  2.00kB/s    0:00:00\n'", &[]);
    s.kind = Kind::Rsync;
    let (report, events) = go(s).await;
    let done: Vec<u64> = observations(&events).iter().filter_map(|o| o.as_progress()).map(|p| p.done).collect();
    assert_eq!(done, [1000, 2000]);
    assert_eq!(report.exit.code, Some(0));
}

#[tokio::test]
async fn missing_program_is_a_spawn_error() {
    let (report, events) = go(spec("synccenter-no-such-program", &[])).await;
    let e = report.spawn_error.expect("spawn error");
    assert!(e.starts_with("cannot run `synccenter-no-such-program`: No such file or directory"), "{e}");
    assert_eq!(report.exit, ExitInfo::default());
    assert!(events.is_empty(), "{events:?}");

    let mut s = spec("true", &[]);
    s.workdir = Some("/nonexistent/synccenter-dir".into());
    let e = go(s).await.0.spawn_error.expect("spawn error");
    assert!(e.starts_with("cannot run `true` in `/nonexistent/synccenter-dir`: "), "{e}");
}

#[tokio::test]
async fn environment_is_clean_plus_configured() {
    let mut s = spec("env", &[]);
    s.env.insert("SYNCCENTER_TEST_VALUE".into(), "hello world".into());
    let (report, events) = go(s).await;
    assert_eq!(report.exit.code, Some(0));
    let lines = logs(&events);
    assert!(lines.contains(&"SYNCCENTER_TEST_VALUE=hello world"), "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("PATH=")), "{lines:?}");
    for line in &lines {
        let name = line.split_once('=').map_or(*line, |(n, _)| n);
        assert!(
            name == "PATH"
                || name == "SYNCCENTER_TEST_VALUE"
                || (name == "NOTIFY_SOCKET" && synccenter_platform::notify::SUPPORTED)
                || INHERITED_ENV.contains(&name),
            "unexpected variable {line:?}"
        );
    }
    // The test process certainly has variables outside the allow-list (cargo sets CARGO_*).
    assert!(std::env::vars_os().any(|(k, _)| k != "PATH" && !INHERITED_ENV.iter().any(|i| k == *i)));
}

#[tokio::test]
async fn workdir_is_used() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = spec("pwd", &["-P"]);
    s.workdir = Some(dir.path().to_owned());
    let (report, events) = go(s).await;
    assert_eq!(report.exit.code, Some(0));
    let want = dir.path().canonicalize().expect("canonical");
    assert_eq!(logs(&events), [want.to_str().expect("utf-8")]);
}

#[tokio::test]
async fn cancel_stops_the_whole_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("pid");
    let (cancel, rx) = watch::channel(false);
    let s = sh(&format!("{GRANDCHILD}; sleep 1000"), &[pidfile.to_str().expect("utf-8")]);
    let task = tokio::spawn(go_with(s, 16, Duration::ZERO, rx));
    let grandchild = read_pid(&pidfile).await;
    cancel.send(true).expect("cancel");
    let (report, _) = task.await.expect("run task");
    assert!(report.exit.cancelled, "{report:?}");
    assert!(!report.exit.timed_out);
    assert_eq!(report.exit.code, None);
    assert_eq!(report.exit.signal, Some(15));
    assert!(gone(grandchild).await, "grandchild {grandchild} survived the cancel");
}

#[tokio::test]
async fn term_ignored_means_kill_after_grace() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("pid");
    let (cancel, rx) = watch::channel(false);
    let mut s = sh(&format!("trap '' TERM; {GRANDCHILD}; sleep 1000"), &[pidfile.to_str().expect("utf-8")]);
    s.grace = Duration::from_millis(200);
    let task = tokio::spawn(go_with(s, 16, Duration::ZERO, rx));
    let grandchild = read_pid(&pidfile).await;
    cancel.send(true).expect("cancel");
    let (report, _) = task.await.expect("run task");
    assert!(report.exit.cancelled, "{report:?}");
    assert_eq!(report.exit.signal, Some(9));
    assert!(gone(grandchild).await, "grandchild {grandchild} survived SIGKILL");
}

#[tokio::test]
async fn already_cancelled_starts_nothing() {
    let (_cancel, rx) = watch::channel(true);
    let (report, events) = go_with(spec("sleep", &["1000"]), 16, Duration::ZERO, rx).await;
    assert!(report.exit.cancelled);
    assert_eq!(report.exit.code, None);
    assert!(events.is_empty());
}

#[tokio::test]
async fn timeout_stops_the_run() {
    let mut s = spec("sleep", &["1000"]);
    s.timeout = Some(Duration::from_millis(300));
    let (report, _) = go(s).await;
    assert!(report.exit.timed_out, "{report:?}");
    assert!(!report.exit.cancelled);
    assert_eq!(report.exit.signal, Some(15));
}

#[tokio::test]
async fn output_over_the_cap_is_drained_not_read() {
    let mut s = sh("yes line | head -n 200000; echo tail-marker >&2", &[]);
    s.max_output = 4096;
    let (report, events) = go(s).await;
    assert!(report.output_truncated);
    assert_eq!(report.exit.code, Some(0));
    assert!(report.stderr_tail.ends_with("tail-marker"), "{}", report.stderr_tail);
    let read = logs(&events).iter().filter(|l| **l == "line").count();
    assert!(read <= 4096 / 5, "{read} lines read past a 4096-byte cap");
}

#[tokio::test]
async fn output_cap_boundary() {
    let mut s = sh("printf 'abc\\n'", &[]);
    s.max_output = 4;
    let (report, events) = go(s).await;
    assert!(!report.output_truncated);
    assert_eq!(logs(&events), ["abc"]);

    let mut s = sh("printf 'abcd\\n'", &[]);
    s.max_output = 4;
    let (report, events) = go(s).await;
    assert!(report.output_truncated);
    assert!(logs(&events).is_empty(), "{events:?}");
}

#[tokio::test]
async fn overlong_line_is_truncated() {
    let (report, events) = go(sh("head -c 200000 /dev/zero | tr '\\0' x; echo; echo after", &[])).await;
    assert!(report.output_truncated);
    assert_eq!(report.exit.code, Some(0));
    let lines = logs(&events);
    assert_eq!(lines.last(), Some(&"after"), "{}", lines.len());
}

#[tokio::test]
async fn grandchild_holding_the_pipe_does_not_hang_the_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("pid");
    let (report, _) = go(sh(GRANDCHILD, &[pidfile.to_str().expect("utf-8")])).await;
    assert_eq!(report.exit, ExitInfo { code: Some(0), ..ExitInfo::default() });
    let grandchild = read_pid(&pidfile).await;
    assert!(gone(grandchild).await, "grandchild {grandchild} outlived the run");
}

#[tokio::test]
async fn slow_receiver_coalesces_progress_but_keeps_the_rest() {
    let script = r#"i=1; while [ $i -le 2000 ]; do echo "@synccenter progress $i/2000";
        if [ $i -eq 1000 ]; then echo '@synccenter warning half'; fi; i=$((i+1)); done;
        echo '@synccenter error e'; echo '@synccenter summary s'"#;
    let (_cancel, rx) = watch::channel(false);
    let (report, events) = go_with(sh(script, &[]), 1, Duration::from_millis(300), rx).await;
    assert_eq!(report.exit.code, Some(0));
    let obs = observations(&events);
    let done: Vec<u64> = obs.iter().filter_map(|o| o.as_progress()).map(|p| p.done).collect();
    assert!(done.windows(2).all(|w| w[0] < w[1]), "{done:?}");
    assert_eq!(done.last(), Some(&2000));
    let warnings: Vec<&str> = obs
        .iter()
        .filter_map(|o| match o {
            Observation::Warning { message } => Some(message.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(warnings, ["half"]);
    assert!(obs.iter().any(|o| matches!(o, Observation::Error { message, .. } if message == "e")));
    assert!(obs.iter().any(|o| matches!(o, Observation::Summary { text, .. } if text == "s")));
}

#[test]
fn splitter_handles_cr_crlf_and_long_lines() {
    let mut out = Vec::new();
    let mut s = LineSplitter::new(true, 8);
    s.push(b"a\rb\r", &mut out);
    s.push(b"\nc\n0123456789", &mut out);
    s.push(b"abc\nd", &mut out);
    s.finish(&mut out);
    assert_eq!(texts(&out), ["a", "b", "c", "01234567", "d"]);
    assert_eq!(out.iter().map(|(_, cut)| *cut).collect::<Vec<_>>(), [false, false, false, true, false]);
    assert!(s.truncated);

    let mut out = Vec::new();
    let mut s = LineSplitter::new(false, 64);
    s.push(b"x\ry\r\nz\n", &mut out);
    s.finish(&mut out);
    assert_eq!(texts(&out), ["x\ry", "z"]);
    assert!(!s.truncated);

    let mut out = Vec::new();
    let mut s = LineSplitter::new(false, 4);
    s.push(b"abcd\n", &mut out);
    assert!(!s.truncated);
    s.push(b"abcde\n", &mut out);
    assert!(s.truncated);
    assert_eq!(texts(&out), ["abcd", "abcd"]);
}

fn texts(lines: &[(String, bool)]) -> Vec<&str> {
    lines.iter().map(|(line, _)| line.as_str()).collect()
}
