//! The restic reader and run classification, replaying real captured `restic backup --json` output.

use synccenter_runs::outcome::{ExitInfo, Final, classify};
use synccenter_runs::progress::{Kind, Observation, Unit};

use crate::fixtures::{assert_progress_advances, errors, progress, replay, summary, warnings};

fn exit(code: i32) -> ExitInfo {
    ExitInfo { code: Some(code), ..ExitInfo::default() }
}

#[test]
fn restic_backup_json() {
    let obs = replay(Kind::Restic, Some("restic-backup.jsonl"), None);
    let p = progress(&obs);
    assert_progress_advances(&p);
    assert!(p.iter().all(|p| p.unit == Unit::Bytes));
    assert_eq!(p[1].done, 4_004_000);
    assert_eq!(p[1].total, Some(12_004_000));
    assert_eq!(p[1].text, "4 of 10 files: /src/photos/img1.bin, /src/photos/img2.bin");
    let last = p.last().unwrap();
    assert_eq!((last.done, last.total), (12_004_000, Some(12_004_000)));
    // `seconds_elapsed: 3` gives a rate.
    assert_eq!(last.rate, Some(12_004_000 / 3));
    // restic 0.14 left out `seconds_remaining` on this short run.
    assert!(p.iter().all(|p| p.eta.is_none()));
    assert_eq!(
        summary(&obs),
        (
            Some(10),
            Some(12_004_000),
            Some(0),
            "snapshot 4893ac15: 10 new, 0 changed, 0 unmodified files; 11.5 MiB added"
        )
    );
    assert!(errors(&obs).is_empty());
    assert_eq!(classify(exit(0), Kind::Restic, &obs).status, Final::Succeeded);
}

#[test]
fn restic_verbose_backup_with_skipped_path() {
    let obs = replay(Kind::Restic, Some("restic-backup-partial.jsonl"), Some("restic-backup-partial.stderr.txt"));
    assert!(obs.contains(&Observation::Log { line: "new /src/docs/note5.txt".into() }));
    assert!(obs.contains(&Observation::Log { line: "unchanged /src/photos/img1.bin".into() }));
    assert_eq!(warnings(&obs), ["nosuch does not exist, skipping"]);
    let (files, bytes, errs, text) = summary(&obs);
    assert_eq!((files, bytes, errs), (Some(11), Some(12_007_000), Some(0)));
    assert!(text.starts_with("snapshot c1450e37: 1 new, 0 changed, 10 unmodified files"), "{text}");
}

#[test]
fn restic_unreadable_file() {
    let obs = replay(Kind::Restic, Some("restic-backup-unreadable.jsonl"), Some("restic-backup-unreadable.stderr.txt"));
    assert_eq!(
        errors(&obs),
        [("open secret.txt: permission denied (during archival)", Some("/tmp/scfix.wQ5E/psrc/secret.txt"))]
    );
    assert_eq!(warnings(&obs), ["Warning: at least one source file could not be read"]);
    let (files, bytes, _, _) = summary(&obs);
    assert_eq!((files, bytes), (Some(1), Some(5000)));
    let o = classify(exit(3), Kind::Restic, &obs);
    assert_eq!((o.status, o.retryable), (Final::Failed, false));
    assert_eq!(
        o.reason,
        "restic exited with code 3 (the snapshot was saved, but some source files could not be read): \
         open secret.txt: permission denied (during archival)"
    );
}

#[test]
fn restic_missing_repository() {
    let obs = replay(Kind::Restic, None, Some("restic-no-repo.stderr.txt"));
    assert_eq!(
        errors(&obs),
        [("Fatal: unable to open config file: stat /tmp/scfix.wQ5E/norepo/config: no such file or directory", None)]
    );
    assert!(progress(&obs).is_empty());
    let o = classify(exit(1), Kind::Restic, &obs);
    assert_eq!((o.status, o.retryable), (Final::Disconnected, true));
}
