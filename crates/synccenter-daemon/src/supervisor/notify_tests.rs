//! `sd_notify` through the supervisor with the real `systemd-notify` (and Python for the floods): what a
//! run's notifications do to its events and its report. Linux only (the platform supports it nowhere else).

use super::*;

/// No test run may take longer than this, whatever goes wrong.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// Whether `systemd-notify` (and the platform's socket) are here: a missing one fails under CI.
fn ready() -> bool {
    synccenter_platform::notify::SUPPORTED
        && synccenter_test_support::require("systemd-notify", synccenter_test_support::program("systemd-notify"))
            .is_some()
}

fn sh(script: &str, args: &[&str]) -> RunSpec {
    let mut all: Vec<String> = vec!["-c".into(), script.into(), "sh".into()];
    all.extend(args.iter().map(|a| a.to_string()));
    let mut s = RunSpec::new("sh", all, Kind::Script);
    s.grace = Duration::from_secs(5);
    s
}

/// Runs `spec`, handing each event to `on_event` as it arrives; returns the report and every observation.
async fn follow(spec: RunSpec, mut on_event: impl FnMut(&Observation)) -> (RunReport, Vec<Observation>) {
    let (_cancel, cancel_rx) = watch::channel(false);
    let (tx, mut rx) = mpsc::channel(16);
    let run = tokio::spawn(run(spec, cancel_rx, tx));
    let mut seen = Vec::new();
    let collect = async {
        while let Some(ev) = rx.recv().await {
            if let RunEvent::Observation(o) = ev {
                on_event(&o);
                seen.push(o);
            }
        }
    };
    tokio::time::timeout(HANG_GUARD, collect).await.expect("the run hung");
    let report = tokio::time::timeout(HANG_GUARD, run).await.expect("the run hung").expect("join");
    (report, seen)
}

fn texts(seen: &[Observation]) -> Vec<&str> {
    seen.iter()
        .filter_map(|o| match o {
            Observation::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

fn warnings(seen: &[Observation]) -> Vec<&str> {
    seen.iter()
        .filter_map(|o| match o {
            Observation::Warning { message } => Some(message.as_str()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn systemd_notify_status_becomes_text_and_errno_reaches_the_report() {
    if !ready() {
        return;
    }
    let script = "systemd-notify --ready --status='Copying photos' && systemd-notify ERRNO=5 STOPPING=1 && exit 1";
    let (report, seen) = follow(sh(script, &[]), |_| {}).await;
    assert_eq!(texts(&seen), ["Copying photos"], "{seen:?}");
    assert_eq!(report.errno, Some(5));
    assert_eq!(report.exit.code, Some(1), "systemd-notify returned at once (its barrier was released): {report:?}");
    assert!(warnings(&seen).is_empty(), "{seen:?}");
}

#[tokio::test]
async fn a_message_from_outside_the_runs_tree_is_refused() {
    if !ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("go");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let script =
        r#"printf '@synccenter text SOCKET %s\n' "$NOTIFY_SOCKET"; read x < "$1"; systemd-notify --status=after"#;
    let fifo_arg = fifo.to_str().expect("UTF-8").to_owned();
    let mut released = None;
    let (report, seen) = follow(sh(script, &[&fifo_arg]), |o| {
        if let Observation::Text { text } = o
            && let Some(path) = text.strip_prefix("SOCKET ")
        {
            // This test process is no part of the run's tree.
            let outsider = std::os::unix::net::UnixDatagram::unbound().expect("socket");
            outsider.send_to(b"STATUS=forged\nERRNO=42", path).expect("send");
            let fifo = fifo.clone();
            released = Some(std::thread::spawn(move || std::fs::write(fifo, "go\n").expect("release the script")));
        }
    })
    .await;
    released.expect("the script printed its socket").join().expect("released");
    assert_eq!(texts(&seen)[1..], ["after"], "{seen:?}");
    assert_eq!(report.errno, None);
    assert_eq!(warnings(&seen), ["sd_notify: 1 message from outside the run's process tree refused"]);
    assert_eq!(report.exit.code, Some(0));
}

#[tokio::test]
async fn a_silent_run_with_a_watchdog_is_stopped_as_hung() {
    if !ready() {
        return;
    }
    let mut spec = sh("systemd-notify WATCHDOG=1 && exec sleep 1000", &[]);
    spec.watchdog = Some(Duration::from_secs(1));
    let (report, _) = follow(spec, |_| {}).await;
    assert_eq!(report.exit.hung, Some(Duration::from_secs(1)), "{report:?}");
    assert_eq!(report.exit.signal, Some(15), "{report:?}");
    assert!(!report.exit.timed_out);
}

#[tokio::test]
async fn a_run_that_keeps_sending_watchdog_pings_is_not_stopped() {
    if !ready() {
        return;
    }
    // Pings every 0.2 s against a 2 s watchdog, until the test has seen the run live through several periods.
    let dir = tempfile::tempdir().expect("tempdir");
    let stop = dir.path().join("stop");
    let script =
        r#"n=0; while [ ! -e "$1" ]; do n=$((n+1)); systemd-notify WATCHDOG=1 "STATUS=ping $n"; sleep 0.2; done"#;
    let mut spec = sh(script, &[stop.to_str().expect("UTF-8")]);
    spec.watchdog = Some(Duration::from_secs(2));
    let start = Instant::now();
    let (report, seen) = follow(spec, |o| {
        if matches!(o, Observation::Text { .. }) && start.elapsed() > Duration::from_secs(5) {
            let _ = std::fs::write(&stop, "");
        }
    })
    .await;
    assert_eq!(report.exit.hung, None, "{report:?}");
    assert_eq!(report.exit.code, Some(0), "{report:?}");
    assert!(texts(&seen).len() > 2, "{seen:?}");
}

#[tokio::test]
async fn extend_timeout_usec_lets_a_run_outlive_its_time_limit() {
    if !ready() {
        return;
    }
    let mut without = sh("exec sleep 4", &[]);
    without.timeout = Some(Duration::from_secs(2));
    let (report, _) = follow(without, |_| {}).await;
    assert!(report.exit.timed_out, "the same run times out without the extension: {report:?}");
    let mut extended = sh("systemd-notify EXTEND_TIMEOUT_USEC=60000000 && exec sleep 4", &[]);
    extended.timeout = Some(Duration::from_secs(2));
    let (report, _) = follow(extended, |_| {}).await;
    assert!(!report.exit.timed_out, "{report:?}");
    assert_eq!(report.exit.code, Some(0), "{report:?}");
}

#[tokio::test]
async fn bad_datagrams_and_a_flood_are_bounded_and_change_nothing_else() {
    if !ready() || synccenter_test_support::require("/usr/bin/python3", program_at("/usr/bin/python3")).is_none() {
        return;
    }
    let python = r#"
import os, socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
to = os.environ["NOTIFY_SOCKET"]
s.sendto(b"STATUS=" + b"x" * 10000, to)
s.sendto(b"STATUS=nul\0inside", to)
s.sendto(b"STATUS=\xff\xfe\nno equals\nREADY=maybe\nSTATUS=valid", to)
for _ in range(2000):
    s.sendto(b"STATUS=flood", to)
"#;
    let spec = RunSpec::new("/usr/bin/python3", vec!["-c".into(), python.into()], Kind::Script);
    let (report, seen) = follow(spec, |_| {}).await;
    assert_eq!(report.exit.code, Some(0), "{report:?}");
    let texts = texts(&seen);
    assert_eq!(texts.first(), Some(&"valid"), "{seen:?}");
    assert!(texts[1..].iter().all(|t| *t == "flood"), "{texts:?}");
    let warning = warnings(&seen).concat();
    for part in ["dropped over the rate limit", "2 messages refused as too long or containing NUL", "3 malformed lines"]
    {
        assert!(warning.contains(part), "{part}: {warning}");
    }
}

fn program_at(path: &str) -> Result<std::path::PathBuf, String> {
    let p = std::path::PathBuf::from(path);
    if p.is_file() { Ok(p) } else { Err(format!("{path} is not installed")) }
}
