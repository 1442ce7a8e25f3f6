//! The rclone reader and run classification, replaying real captured rclone output.

use std::time::Duration;

use synccenter_runs::outcome::{ExitInfo, Final, classify};
use synccenter_runs::progress::{Kind, Observation};

use crate::fixtures::{assert_progress_advances, errors, progress, replay, summary, warnings};

fn exit(code: i32) -> ExitInfo {
    ExitInfo { code: Some(code), ..ExitInfo::default() }
}

#[test]
fn rclone_copy_stats() {
    let obs = replay(Kind::Rclone, None, Some("rclone-copy.jsonl"));
    let p = progress(&obs);
    assert_progress_advances(&p);
    assert_eq!(p.iter().map(|p| p.done).collect::<Vec<_>>(), [4_308_992, 8_424_792, 12_007_000]);
    assert!(p.iter().all(|p| p.total == Some(12_007_000)));
    assert_eq!(p[0].eta, None);
    assert_eq!(p[1].eta, Some(Duration::ZERO));
    assert_eq!(p[1].rate, Some(4_304_764));
    assert_eq!(p[1].text, "9 of 11 files: photos/img5.bin, photos/img6.bin");
    // The missing config file is noise, not a warning.
    assert_eq!(warnings(&obs), Vec::<&str>::new());
    assert!(obs.contains(&Observation::Log { line: "Copied (new)".into() }));
    assert_eq!(summary(&obs), (Some(11), Some(12_007_000), Some(0), "11 files, 11.5 MiB transferred"));
    assert_eq!(classify(exit(0), Kind::Rclone, &obs).status, Final::Succeeded);
}

#[test]
fn rclone_missing_source() {
    let obs = replay(Kind::Rclone, None, Some("rclone-missing-source.jsonl"));
    let e = errors(&obs);
    // Three attempts, each with the error itself; the "Attempt n/3 failed" restatements are logs.
    assert_eq!(e.len(), 4, "{e:#?}");
    assert_eq!(
        e[0],
        (
            "error reading source root directory: directory not found",
            Some("Local file system at /tmp/scfix.wQ5E/nosuchdir")
        )
    );
    assert_eq!(e[3], ("Failed to copy: directory not found", None));
    assert_eq!(summary(&obs).2, Some(1));
    let o = classify(exit(3), Kind::Rclone, &obs);
    assert_eq!((o.status, o.retryable), (Final::Disconnected, true));
    assert_eq!(o.reason, "rclone exited with code 3 (directory not found): Failed to copy: directory not found");
}

#[test]
fn rclone_unreadable_file() {
    let obs = replay(Kind::Rclone, None, Some("rclone-unreadable.jsonl"));
    let e = errors(&obs);
    assert_eq!(
        e[0],
        (
            "Failed to copy: failed to open source object: open /tmp/scfix.wQ5E/psrc/secret.txt: permission denied",
            Some("secret.txt")
        )
    );
    assert_eq!(summary(&obs), (Some(1), Some(5000), Some(1), "1 file, 4.9 KiB transferred, 2 checked, 1 error"));
    let o = classify(exit(1), Kind::Rclone, &obs);
    assert_eq!((o.status, o.retryable), (Final::Failed, true));
}

#[test]
fn rclone_bisync_conflict() {
    let obs = replay(Kind::Rclone, None, Some("rclone-bisync-conflict.jsonl"));
    let conflicts: Vec<_> = obs.iter().filter(|o| matches!(o, Observation::Conflict { .. })).collect();
    assert_eq!(
        conflicts,
        [&Observation::Conflict {
            path: "shared.txt".into(),
            description: "new or changed in both paths".into(),
            versions: vec![
                ("Path1".into(), "/tmp/scfix.wQ5E/b1/shared.txt..path1".into()),
                ("Path2".into(), "/tmp/scfix.wQ5E/b2/shared.txt..path2".into()),
            ],
        }]
    );
    assert!(warnings(&obs).contains(&"bisync is EXPERIMENTAL. Don't use in production!"));
    assert_eq!(summary(&obs).0, Some(2));
    assert_eq!(classify(exit(0), Kind::Rclone, &obs).status, Final::Succeeded);
}
