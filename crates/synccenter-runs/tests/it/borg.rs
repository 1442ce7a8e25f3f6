//! The borg reader and run classification, replaying real captured `borg create --progress --log-json
//! --json` output.

use synccenter_runs::outcome::{ExitInfo, Final, classify};
use synccenter_runs::progress::{Kind, Observation, Unit};

use crate::fixtures::{assert_progress_advances, errors, progress, replay, summary, warnings};

fn exit(code: i32) -> ExitInfo {
    ExitInfo { code: Some(code), ..ExitInfo::default() }
}

#[test]
fn borg_create_progress_and_summary() {
    let obs = replay(Kind::Borg, Some("borg-create.json"), Some("borg-create.stderr.jsonl"));
    let p = progress(&obs);
    assert_progress_advances(&p);
    assert!(p.iter().all(|p| p.unit == Unit::Bytes && p.total.is_none()), "borg create knows no total");
    let last = p.last().expect("progress");
    assert_eq!((last.done, last.text.as_str()), (59_400_000, "296 files: many/f297.dat"));
    // 59,400,000 bytes in the 20.36 s since the first progress line.
    let rate = last.rate.expect("a rate");
    assert!((2_900_000..2_940_000).contains(&rate), "{rate}");
    assert_eq!(p[0].rate, None, "no rate in the first second");
    assert!(obs.contains(&Observation::Text { text: "Initializing cache transaction: Reading files".into() }));
    assert!(errors(&obs).is_empty());
    assert!(warnings(&obs).is_empty());
    assert_eq!(
        summary(&obs),
        (Some(300), Some(60_000_528), Some(0), "archive second: 300 files, 57.2 MiB read, 57.2 MiB added")
    );
    let o = classify(exit(0), Kind::Borg, &obs);
    assert_eq!((o.status, o.reason.as_str()), (Final::Succeeded, "borg succeeded"));
}

#[test]
fn borg_unreadable_file_is_a_warning_and_success() {
    let obs = replay(Kind::Borg, Some("borg-unreadable.json"), Some("borg-unreadable.stderr.jsonl"));
    assert_eq!(warnings(&obs), ["secret.txt: open: [Errno 13] Permission denied: 'secret.txt'"]);
    assert_eq!(
        summary(&obs),
        (Some(1), Some(5503), Some(0), "archive u: 1 file, 5.4 KiB read, 5.4 KiB added; 1 warning")
    );
    let o = classify(exit(1), Kind::Borg, &obs);
    assert_eq!((o.status, o.reason.as_str()), (Final::Succeeded, "borg succeeded (with warnings) with 1 warning"));
}

#[test]
fn borg_missing_repository() {
    let obs = replay(Kind::Borg, None, Some("borg-no-repo.stderr.jsonl"));
    assert_eq!(errors(&obs), [("Repository /tmp/scfix.b7Rk/brepo-nosuch does not exist.", None)]);
    assert!(progress(&obs).is_empty());
    assert!(!obs.iter().any(|o| matches!(o, Observation::Summary { .. })));
    let o = classify(exit(2), Kind::Borg, &obs);
    assert_eq!((o.status, o.retryable), (Final::Disconnected, true));
    assert_eq!(
        o.reason,
        "borg exited with code 2 (the repository does not exist): Repository /tmp/scfix.b7Rk/brepo-nosuch does not exist."
    );
}

#[test]
fn borg_killed_by_someone_else_fails_with_the_signal() {
    let obs = replay(Kind::Borg, None, Some("borg-stopped.stderr.jsonl"));
    assert_eq!(errors(&obs), [("Received SIGTERM", None)]);
    let o = classify(exit(143), Kind::Borg, &obs);
    assert_eq!((o.status, o.retryable), (Final::Failed, true));
    assert_eq!(o.reason, "borg was killed by signal 15 (SIGTERM): Received SIGTERM");
}
