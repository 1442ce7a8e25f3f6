//! The rsync reader and run classification, replaying real captured `rsync --info=progress2` output.

use std::time::Duration;

use synccenter_runs::outcome::{ExitInfo, Final, classify};
use synccenter_runs::progress::{Kind, Observation};

use crate::fixtures::{assert_progress_advances, errors, progress, replay, replay_split, summary, warnings};

fn exit(code: i32) -> ExitInfo {
    ExitInfo { code: Some(code), ..ExitInfo::default() }
}

#[test]
fn rsync_progress2_copy() {
    let obs = replay(Kind::Rsync, Some("rsync-progress2.txt"), None);
    let p = progress(&obs);
    assert_progress_advances(&p);
    let last = p.last().unwrap();
    assert_eq!(last.done, 12_004_000);
    assert_eq!(last.total, Some(12_004_000));
    assert_eq!(last.steps(), (12_004_000, 12_004_000));
    assert_eq!(last.text, "xfr#10, to-chk=0/13");
    // The mid-file line `4,331,680  36%  3.95MB/s  0:00:01` carries an ETA and a 1024-based rate.
    let mid = p.iter().find(|p| p.done == 4_331_680).expect("mid-file progress line");
    assert_eq!(mid.eta, Some(Duration::from_secs(1)));
    assert_eq!(mid.rate, Some((3.95 * 1024.0 * 1024.0) as u64));
    assert!(errors(&obs).is_empty());
    assert_eq!(summary(&obs), (Some(10), Some(12_004_000), Some(0), "10 files transferred, 11.4 MiB"));
    // Itemized lines are kept as logs.
    assert!(obs.contains(&Observation::Log { line: ">f+++++++++ photos/img6.bin".into() }));
    assert_eq!(classify(exit(0), Kind::Rsync, &obs).status, Final::Succeeded);
}

#[test]
fn rsync_chunks_split_on_carriage_return_read_the_same() {
    let by_newline = replay(Kind::Rsync, Some("rsync-progress2.txt"), None);
    let by_both = replay_split(Kind::Rsync, Some("rsync-progress2.txt"), None, &['\r', '\n']);
    assert_eq!(by_newline, by_both);
}

#[test]
fn rsync_missing_source() {
    let obs = replay(Kind::Rsync, Some("rsync-missing-source.txt"), Some("rsync-missing-source.stderr.txt"));
    assert_eq!(
        errors(&obs),
        [
            (
                r#"rsync: [sender] change_dir "/tmp/scfix.wQ5E/nosuchdir" failed: No such file or directory (2)"#,
                Some("/tmp/scfix.wQ5E/nosuchdir")
            ),
            (
                "rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394) [sender=3.5.0]",
                None
            ),
        ]
    );
    let (files, bytes, _, _) = summary(&obs);
    assert_eq!((files, bytes), (Some(0), Some(0)));
    let o = classify(exit(23), Kind::Rsync, &obs);
    assert_eq!((o.status, o.retryable), (Final::Disconnected, true));
    assert!(
        o.reason.starts_with("rsync exited with code 23 (the source directory is missing): rsync error:"),
        "{}",
        o.reason
    );
}

#[test]
fn rsync_vanished_file_is_a_warning_and_success() {
    let obs = replay(Kind::Rsync, Some("rsync-vanished.txt"), Some("rsync-vanished.stderr.txt"));
    assert_progress_advances(&progress(&obs));
    assert_eq!(
        warnings(&obs),
        [
            "file has vanished: /tmp/scfix.wQ5E/src2/photos/img6.bin",
            "rsync warning: some files vanished before they could be transferred (code 24) at main.c(1394) [sender=3.5.0]",
        ]
    );
    assert!(errors(&obs).is_empty());
    let o = classify(exit(24), Kind::Rsync, &obs);
    assert_eq!(o.status, Final::Succeeded);
    assert_eq!(o.reason, "rsync succeeded (some files vanished before they could be transferred) with 2 warnings");
}

#[test]
fn rsync_without_itemize_counts_files_from_progress_lines() {
    // `rsync -a --info=progress2` of 300 files of 200,000 bytes: no itemized lines, no --stats.
    let obs = replay(Kind::Rsync, Some("rsync-progress2-plain.txt"), None);
    assert_progress_advances(&progress(&obs));
    assert_eq!(summary(&obs), (Some(300), Some(60_000_000), Some(0), "300 files transferred, 57.2 MiB"));
    let split = replay_split(Kind::Rsync, Some("rsync-progress2-plain.txt"), None, &['\r', '\n']);
    assert_eq!(summary(&split).0, Some(300));
}
