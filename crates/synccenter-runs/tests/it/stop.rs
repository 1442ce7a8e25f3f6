//! Runs that synccenter stopped (a person's stop or pause): real tools killed with SIGTERM to their process
//! group mid-run, as the supervisor does. What they print as they die is not an error of the run, and the
//! run ends canceled.

use synccenter_runs::outcome::{ExitInfo, Final, classify};
use synccenter_runs::progress::{Kind, Observation};

use crate::fixtures::{errors, replay};

/// A captured stopped run: kind, stdout, stderr, exit code, the errors the dying tool printed.
type Stopped = (Kind, Option<&'static str>, Option<&'static str>, i32, usize);

const STOPPED: [Stopped; 4] = [
    (Kind::Rsync, Some("rsync-stopped.txt"), Some("rsync-stopped.stderr.txt"), 20, 2),
    (Kind::Restic, Some("restic-stopped.jsonl"), None, 143, 0),
    (Kind::Rclone, None, Some("rclone-stopped.jsonl"), 143, 0),
    (Kind::Borg, None, Some("borg-stopped.stderr.jsonl"), 143, 1),
];

#[test]
fn a_stopped_run_is_canceled_with_no_error_or_warning_events() {
    for (kind, stdout, stderr, code, dying_errors) in STOPPED {
        let read = replay(kind, stdout, stderr);
        assert_eq!(errors(&read).len(), dying_errors, "{kind}: the capture is what the tool prints as it dies");
        // The supervisor began stopping the run before these lines were read.
        let seen: Vec<Observation> = read.into_iter().map(Observation::after_stop).collect();
        let events: Vec<_> = seen.iter().filter_map(Observation::event).collect();
        assert!(events.is_empty(), "{kind}: {events:#?}");
        let o = classify(ExitInfo { code: Some(code), cancelled: true, ..ExitInfo::default() }, kind, &seen);
        assert_eq!((o.status, o.retryable), (Final::Canceled, false), "{kind}");
        assert_eq!(o.reason, format!("{kind} was stopped at your request"));
    }
}

#[test]
fn rsync_dying_lines_are_what_the_issue_saw() {
    let obs = replay(Kind::Rsync, Some("rsync-stopped.txt"), Some("rsync-stopped.stderr.txt"));
    let e = errors(&obs);
    assert!(e[0].0.starts_with("rsync error: received SIGINT, SIGTERM, or SIGHUP (code 20)"), "{e:?}");
    assert!(e[1].0.starts_with("rsync error: received SIGUSR1 (code 19)"), "{e:?}");
    let lines = obs.into_iter().map(Observation::after_stop).filter_map(|o| match o {
        Observation::Log { line } => Some(line),
        _ => None,
    });
    assert_eq!(lines.filter(|l| l.starts_with("rsync error: received")).count(), 2, "kept in the log");
}

#[test]
fn a_timeout_stays_a_failure_without_the_dying_words() {
    let seen: Vec<Observation> = replay(Kind::Rsync, Some("rsync-stopped.txt"), Some("rsync-stopped.stderr.txt"))
        .into_iter()
        .map(Observation::after_stop)
        .collect();
    let o = classify(ExitInfo { code: Some(20), timed_out: true, ..ExitInfo::default() }, Kind::Rsync, &seen);
    assert_eq!((o.status, o.retryable), (Final::Failed, true));
    assert_eq!(o.reason, "rsync ran past its time limit and was stopped");
}
