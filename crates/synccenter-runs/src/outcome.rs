//! What a finished run means: its final state, whether a retry may help, and why.
//!
//! [`classify`] looks at how the process ended ([`ExitInfo`]), which tool it was, and what its output
//! said. Precedence: a cancel the user asked for wins, then a hang, then a timeout, then death by a signal, then the
//! exit code read per tool:
//!
//! - **rsync**: 0 succeeded. **24** ("some files vanished before they could be transferred") counts as
//!   *succeeded*: files disappearing during a copy is normal on a live filesystem, and the vanished files
//!   are already warnings. **23** (partial transfer due to error) is *failed* and retryable, and the
//!   reason says the transfer was partial, unless the errors show that the source root itself is missing
//!   (`change_dir … No such file or directory`), which is *disconnected*. 5, 10, 12, 30, 35 and 255
//!   (connection, protocol stream, timeouts, ssh) are *disconnected* and retryable; 1–4 and 25 (usage,
//!   protocol, selection, `--max-delete`) failed, not retryable; others failed, retryable.
//! - **restic**: 0 succeeded. **3** ("at least one source file could not be read") is *failed*, not
//!   retryable: the snapshot was written but is incomplete, and the unreadable files stay unreadable.
//!   1 is failed and retryable, or *disconnected* when the output shows the repository could not be
//!   opened or reached, and not retryable for a wrong password. 10 (no repository), 11 (lock failed) and
//!   12 (wrong password) from restic 0.17 are disconnected / failed retryable / failed.
//! - **rclone**: 0 succeeded; 9 (`--error-on-no-transfer` found nothing to do) succeeded; 3 (directory
//!   not found) disconnected, retryable; 2 (usage), 6 (no-retry errors) and 7 (fatal) failed, not
//!   retryable; 1, 4, 5, 8 failed, retryable.
//! - **script**: 0 succeeded; 75 (`EX_TEMPFAIL`) failed, retryable; 69 (`EX_UNAVAILABLE`) disconnected,
//!   retryable; anything else failed, not retryable.
//! - **borg**: 0 succeeded; 1 (and the modern warning codes 100–127) succeeded with warnings; 128 + N is
//!   death by signal N; other codes failed, retryable, or *disconnected* when the errors show that the
//!   repository does not exist or cannot be reached, or not retryable for a wrong passphrase.
//!
//! A run synccenter stopped at a person's request (stop, pause) is *canceled*, whatever the tool printed
//! or returned as it died; the runner has already turned what it printed after the stop into log lines
//! ([`Observation::after_stop`]).
//!
//! A run stopped as hung (its watchdog ran out) is *failed* and retryable, like a timeout.
//!
//! A zero exit is success even if error observations were seen: the tool is the judge, and its errors are
//! already events. The reason then says how many errors and warnings were reported.
//!
//! [`StderrTail`] keeps the last lines of stderr, bounded, for the failure event.

use std::collections::VecDeque;

use crate::progress::{Kind, Observation};
use crate::units;

/// How a process ended, as the runner saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExitInfo {
    /// The exit code, if it exited.
    pub code: Option<i32>,
    /// The signal that killed it, if one did.
    pub signal: Option<i32>,
    /// The runner killed it because it ran past its time limit.
    pub timed_out: bool,
    /// The runner stopped it because a cancel was requested.
    pub cancelled: bool,
    /// The runner stopped it as hung: its watchdog (this period) ran out without a `WATCHDOG=1` or progress.
    pub hung: Option<std::time::Duration>,
}

/// The final state of a run, as Sync Center shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Final {
    /// The run did its job.
    Succeeded,
    /// The run did not do its job.
    Failed,
    /// The run was stopped on request.
    Canceled,
    /// The source, target or repository was not reachable (a drive, a mount, a host).
    Disconnected,
}

/// The verdict on one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The final state.
    pub status: Final,
    /// Whether running again may help (the caller still applies its [`crate::RetryPolicy`]).
    pub retryable: bool,
    /// A human sentence for the end event.
    pub reason: String,
}

impl Outcome {
    fn new(status: Final, retryable: bool, reason: String) -> Outcome {
        Outcome { status, retryable, reason }
    }
}

/// Decides how a run ended. See the module docs for the rules.
pub fn classify(exit: ExitInfo, kind: Kind, observations_seen: &[Observation]) -> Outcome {
    let last_error = observations_seen.iter().rev().find_map(|o| match o {
        Observation::Error { message, .. } => Some(message.as_str()),
        _ => None,
    });
    let with_error = |s: String| match last_error {
        Some(e) => format!("{s}: {}", units::clip_to(e, 512)),
        None => s,
    };
    if exit.cancelled {
        return Outcome::new(Final::Canceled, false, format!("{kind} was stopped at your request"));
    }
    if let Some(period) = exit.hung {
        let period = if period < std::time::Duration::from_secs(60) {
            format!("{}s", period.as_millis() as f64 / 1000.0)
        } else {
            units::clock(period)
        };
        return Outcome::new(
            Final::Failed,
            true,
            with_error(format!("{kind} was stopped as hung: no WATCHDOG=1 or progress for {period} (its watchdog)")),
        );
    }
    if exit.timed_out {
        return Outcome::new(
            Final::Failed,
            true,
            with_error(format!("{kind} ran past its time limit and was stopped")),
        );
    }
    // borg reports death by a signal as 128 + N.
    let signal = exit.signal.or(exit.code.filter(|c| kind == Kind::Borg && (129..160).contains(c)).map(|c| c - 128));
    if let Some(sig) = signal {
        return Outcome::new(Final::Failed, true, with_error(format!("{kind} was killed by {}", signal_name(sig))));
    }
    let Some(code) = exit.code else {
        return Outcome::new(Final::Failed, true, with_error(format!("{kind} ended without an exit status")));
    };
    match meaning(kind, code, observations_seen) {
        Meaning::Success(note) => Outcome::new(Final::Succeeded, false, success_reason(kind, observations_seen, note)),
        Meaning::Failure(status, retryable, what) => {
            Outcome::new(status, retryable, with_error(format!("{kind} exited with code {code} ({what})")))
        }
    }
}

/// What an exit code says, per tool.
enum Meaning {
    /// The run did its job; the note says with what reservation.
    Success(Option<&'static str>),
    /// The final state, whether a retry may help, and what the code means.
    Failure(Final, bool, &'static str),
}

fn meaning(kind: Kind, code: i32, seen: &[Observation]) -> Meaning {
    use Final::{Disconnected, Failed};
    use Meaning::{Failure, Success};
    let errors_mention = |needles: &[&str]| {
        seen.iter().any(|o| match o {
            Observation::Error { message, .. } => needles.iter().any(|n| message.contains(n)),
            _ => false,
        })
    };
    if code == 0 {
        return Success(None);
    }
    match kind {
        Kind::Rsync => match code {
            24 => Success(Some("some files vanished before they could be transferred")),
            23 if errors_mention(&["change_dir"]) && errors_mention(&["No such file or directory"]) => {
                Failure(Disconnected, true, "the source directory is missing")
            }
            23 => Failure(Failed, true, "partial transfer due to error"),
            5 => Failure(Disconnected, true, "error starting client-server protocol"),
            10 => Failure(Disconnected, true, "error in socket I/O"),
            12 => Failure(Disconnected, true, "error in rsync protocol data stream"),
            30 => Failure(Disconnected, true, "timeout in data send/receive"),
            35 => Failure(Disconnected, true, "timeout waiting for daemon connection"),
            255 => Failure(Disconnected, true, "the remote shell failed"),
            1 => Failure(Failed, false, "syntax or usage error"),
            2 => Failure(Failed, false, "protocol incompatibility"),
            3 => Failure(Failed, false, "errors selecting input/output files or directories"),
            4 => Failure(Failed, false, "requested action not supported"),
            25 => Failure(Failed, false, "the --max-delete limit stopped deletions"),
            11 => Failure(Failed, true, "error in file I/O"),
            _ => Failure(Failed, true, "error"),
        },
        Kind::Restic => match code {
            3 => Failure(Failed, false, "the snapshot was saved, but some source files could not be read"),
            10 => Failure(Disconnected, true, "the repository does not exist"),
            11 => Failure(Failed, true, "the repository could not be locked"),
            12 => Failure(Failed, false, "wrong password"),
            1 if errors_mention(&["wrong password", "no key found"]) => Failure(Failed, false, "wrong password"),
            1 if errors_mention(&UNREACHABLE) => Failure(Disconnected, true, "the repository could not be reached"),
            _ => Failure(Failed, true, "error"),
        },
        Kind::Rclone => match code {
            9 => Success(Some("nothing to transfer")),
            3 => Failure(Disconnected, true, "directory not found"),
            2 => Failure(Failed, false, "syntax or usage error"),
            6 => Failure(Failed, false, "errors that retrying will not fix"),
            7 => Failure(Failed, false, "fatal error"),
            4 => Failure(Failed, true, "file not found"),
            5 => Failure(Failed, true, "temporary error"),
            8 => Failure(Failed, true, "transfer limit exceeded"),
            _ => Failure(Failed, true, "error"),
        },
        Kind::Script => match code {
            75 => Failure(Failed, true, "temporary failure"),
            69 => Failure(Disconnected, true, "the target is unavailable"),
            _ => Failure(Failed, false, "error"),
        },
        Kind::Borg => match code {
            // 1 is borg's legacy "warning"; 100..=127 its modern warning codes (BORG_EXIT_CODES=modern).
            1 | 100..=127 => Success(Some("with warnings")),
            _ if errors_mention(&["passphrase supplied", "passphrase is incorrect"]) => {
                Failure(Failed, false, "wrong passphrase")
            }
            _ if errors_mention(&["does not exist", "is not a valid repository"]) => {
                Failure(Disconnected, true, "the repository does not exist")
            }
            _ if errors_mention(&UNREACHABLE) => Failure(Disconnected, true, "the repository could not be reached"),
            _ if errors_mention(&["Failed to create/acquire the lock"]) => {
                Failure(Failed, true, "the repository is locked")
            }
            _ => Failure(Failed, true, "error"),
        },
    }
}

/// Words in a tool's errors that say its repository could not be reached.
const UNREACHABLE: [&str; 9] = [
    "unable to open config file",
    "unable to open repository",
    "repository does not exist",
    "connection refused",
    "Connection refused",
    "Connection closed by remote host",
    "no such host",
    "Could not resolve hostname",
    "network is unreachable",
];

fn success_reason(kind: Kind, seen: &[Observation], note: Option<&str>) -> String {
    let errors = seen.iter().filter(|o| matches!(o, Observation::Error { .. })).count();
    let warnings = seen.iter().filter(|o| matches!(o, Observation::Warning { .. })).count();
    let mut s = format!("{kind} succeeded");
    if let Some(n) = note {
        s.push_str(&format!(" ({n})"));
    }
    match (errors, warnings) {
        (0, 0) => {}
        (0, w) => s.push_str(&format!(" with {}", units::count(w as u64, "warning"))),
        (e, 0) => s.push_str(&format!(" with {} reported", units::count(e as u64, "error"))),
        (e, w) => s.push_str(&format!(
            " with {} and {} reported",
            units::count(e as u64, "error"),
            units::count(w as u64, "warning")
        )),
    }
    s
}

fn signal_name(sig: i32) -> String {
    let name = match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        6 => "SIGABRT",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => return format!("signal {sig}"),
    };
    format!("signal {sig} ({name})")
}

/// The last lines of a process's stderr, bounded both in lines and in bytes, for the failure event.
///
/// Pushing is O(line length); the oldest lines are dropped first. A single line longer than the byte
/// bound keeps its end (where the message usually is).
#[derive(Debug, Clone)]
pub struct StderrTail {
    max_lines: usize,
    max_bytes: usize,
    lines: VecDeque<String>,
    bytes: usize,
    dropped: u64,
}

impl StderrTail {
    /// A tail keeping at most `max_lines` lines and `max_bytes` bytes of text (each at least 1).
    pub fn new(max_lines: usize, max_bytes: usize) -> StderrTail {
        StderrTail {
            max_lines: max_lines.max(1),
            max_bytes: max_bytes.max(1),
            lines: VecDeque::new(),
            bytes: 0,
            dropped: 0,
        }
    }

    /// Adds one line (without its terminator).
    pub fn push(&mut self, line: &str) {
        let line = if line.len() > self.max_bytes {
            let mut start = line.len() - self.max_bytes;
            while !line.is_char_boundary(start) {
                start += 1;
            }
            &line[start..]
        } else {
            line
        };
        self.bytes += line.len();
        self.lines.push_back(line.to_owned());
        while self.lines.len() > self.max_lines || self.bytes > self.max_bytes {
            match self.lines.pop_front() {
                Some(old) => {
                    self.bytes -= old.len();
                    self.dropped += 1;
                }
                None => break,
            }
        }
    }

    /// The kept lines, oldest first.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().map(String::as_str)
    }

    /// How many earlier lines were dropped.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The kept lines joined with `\n`, preceded by `[N earlier lines omitted]` when some were dropped.
    pub fn render(&self) -> String {
        let mut s = String::new();
        if self.dropped > 0 {
            s.push_str(&format!("[{} earlier lines omitted]\n", self.dropped));
        }
        for (i, l) in self.lines.iter().enumerate() {
            if i > 0 {
                s.push('\n');
            }
            s.push_str(l);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exit(code: i32) -> ExitInfo {
        ExitInfo { code: Some(code), ..ExitInfo::default() }
    }

    fn err(m: &str) -> Observation {
        Observation::Error { message: m.into(), path: None }
    }

    #[test]
    fn cancel_beats_everything() {
        let hung = Some(std::time::Duration::from_secs(60));
        let e = ExitInfo { code: None, signal: Some(15), timed_out: true, cancelled: true, hung };
        let o = classify(e, Kind::Rsync, &[]);
        assert_eq!((o.status, o.retryable), (Final::Canceled, false));
    }

    #[test]
    fn a_hang_fails_retryably_and_says_so() {
        let hung = Some(std::time::Duration::from_millis(1500));
        let o =
            classify(ExitInfo { hung, timed_out: true, signal: Some(15), ..ExitInfo::default() }, Kind::Script, &[]);
        assert_eq!((o.status, o.retryable), (Final::Failed, true));
        assert_eq!(o.reason, "script was stopped as hung: no WATCHDOG=1 or progress for 1.5s (its watchdog)");
        let hung = Some(std::time::Duration::from_secs(90));
        let o = classify(ExitInfo { hung, ..ExitInfo::default() }, Kind::Rsync, &[]);
        assert!(o.reason.ends_with("for 1:30 (its watchdog)"), "{}", o.reason);
    }

    #[test]
    fn timeout_and_signal_fail_retryably() {
        let o = classify(ExitInfo { timed_out: true, signal: Some(9), ..ExitInfo::default() }, Kind::Restic, &[]);
        assert_eq!((o.status, o.retryable), (Final::Failed, true));
        assert!(o.reason.contains("time limit"), "{}", o.reason);
        let o = classify(ExitInfo { signal: Some(9), ..ExitInfo::default() }, Kind::Script, &[err("boom")]);
        assert_eq!(o.reason, "script was killed by signal 9 (SIGKILL): boom");
        let o = classify(ExitInfo::default(), Kind::Script, &[]);
        assert!(o.reason.contains("without an exit status"));
    }

    #[test]
    fn rsync_codes() {
        let vanished =
            classify(exit(24), Kind::Rsync, &[Observation::Warning { message: "file has vanished: x".into() }]);
        assert_eq!(vanished.status, Final::Succeeded);
        assert_eq!(
            vanished.reason,
            "rsync succeeded (some files vanished before they could be transferred) with 1 warning"
        );
        let partial =
            classify(exit(23), Kind::Rsync, &[err("rsync: send_files failed to open \"a\": Permission denied (13)")]);
        assert_eq!((partial.status, partial.retryable), (Final::Failed, true));
        assert!(
            partial.reason.starts_with("rsync exited with code 23 (partial transfer due to error): rsync: send_files")
        );
        let missing = classify(
            exit(23),
            Kind::Rsync,
            &[err(r#"rsync: [sender] change_dir "/x" failed: No such file or directory (2)"#)],
        );
        assert_eq!((missing.status, missing.retryable), (Final::Disconnected, true));
        assert_eq!(classify(exit(255), Kind::Rsync, &[]).status, Final::Disconnected);
        assert!(!classify(exit(1), Kind::Rsync, &[]).retryable);
    }

    #[test]
    fn restic_codes() {
        let o = classify(exit(3), Kind::Restic, &[]);
        assert_eq!((o.status, o.retryable), (Final::Failed, false));
        assert!(o.reason.contains("snapshot was saved"));
        let o =
            classify(exit(1), Kind::Restic, &[err("Fatal: unable to open config file: stat /r/config: no such file")]);
        assert_eq!(o.status, Final::Disconnected);
        let o = classify(exit(1), Kind::Restic, &[err("Fatal: wrong password or no key found")]);
        assert_eq!((o.status, o.retryable), (Final::Failed, false));
        assert_eq!(classify(exit(1), Kind::Restic, &[]).status, Final::Failed);
    }

    #[test]
    fn rclone_and_script_codes() {
        assert_eq!(classify(exit(3), Kind::Rclone, &[]).status, Final::Disconnected);
        assert_eq!(classify(exit(9), Kind::Rclone, &[]).status, Final::Succeeded);
        assert!(!classify(exit(7), Kind::Rclone, &[]).retryable);
        assert!(classify(exit(5), Kind::Rclone, &[]).retryable);
        assert!(classify(exit(75), Kind::Script, &[]).retryable);
        assert_eq!(classify(exit(69), Kind::Script, &[]).status, Final::Disconnected);
        let o = classify(exit(2), Kind::Script, &[]);
        assert_eq!(
            (o.status, o.retryable, o.reason.as_str()),
            (Final::Failed, false, "script exited with code 2 (error)")
        );
    }

    #[test]
    fn zero_exit_succeeds_even_with_errors() {
        let o = classify(exit(0), Kind::Script, &[err("a"), Observation::Warning { message: "w".into() }]);
        assert_eq!(o.status, Final::Succeeded);
        assert_eq!(o.reason, "script succeeded with 1 error and 1 warning reported");
        assert_eq!(classify(exit(0), Kind::Rclone, &[]).reason, "rclone succeeded");
    }

    #[test]
    fn tail_is_bounded_by_lines_and_bytes() {
        let mut t = StderrTail::new(3, 20);
        for i in 0..5 {
            t.push(&format!("line {i}"));
        }
        assert_eq!(t.lines().collect::<Vec<_>>(), ["line 2", "line 3", "line 4"]);
        assert_eq!(t.dropped(), 2);
        assert_eq!(t.render(), "[2 earlier lines omitted]\nline 2\nline 3\nline 4");
        t.push("0123456789abcdefghijXYZ");
        assert_eq!(t.lines().collect::<Vec<_>>(), ["3456789abcdefghijXYZ"]);
        let mut u = StderrTail::new(0, 0);
        u.push("é");
        assert!(u.lines().all(|l| l.len() <= 1));
    }

    proptest::proptest! {
        #[test]
        fn tail_never_exceeds_bounds(lines in proptest::collection::vec(".{0,40}", 0..50), ml in 1usize..10, mb in 1usize..100) {
            let mut t = StderrTail::new(ml, mb);
            for l in &lines { t.push(l); }
            proptest::prop_assert!(t.lines().count() <= ml);
            proptest::prop_assert!(t.lines().map(str::len).sum::<usize>() <= mb);
        }
    }
}
