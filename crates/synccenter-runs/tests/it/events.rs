//! The events every reader's observations become: a short name that says what kind of thing happened, the
//! tool's words in the description.

use synccenter_runs::progress::{Kind, Observation};

use crate::fixtures::replay;

/// Every captured run: kind, stdout, stderr.
const RUNS: [(Kind, Option<&str>, Option<&str>); 15] = [
    (Kind::Rsync, Some("rsync-progress2.txt"), None),
    (Kind::Rsync, Some("rsync-progress2-plain.txt"), None),
    (Kind::Rsync, Some("rsync-missing-source.txt"), Some("rsync-missing-source.stderr.txt")),
    (Kind::Rsync, Some("rsync-vanished.txt"), Some("rsync-vanished.stderr.txt")),
    (Kind::Restic, Some("restic-backup.jsonl"), None),
    (Kind::Restic, Some("restic-backup-partial.jsonl"), Some("restic-backup-partial.stderr.txt")),
    (Kind::Restic, Some("restic-backup-unreadable.jsonl"), Some("restic-backup-unreadable.stderr.txt")),
    (Kind::Restic, None, Some("restic-no-repo.stderr.txt")),
    (Kind::Rclone, None, Some("rclone-copy.jsonl")),
    (Kind::Rclone, None, Some("rclone-missing-source.jsonl")),
    (Kind::Rclone, None, Some("rclone-unreadable.jsonl")),
    (Kind::Script, Some("script-run.txt"), Some("script-run.stderr.txt")),
    (Kind::Borg, Some("borg-create.json"), Some("borg-create.stderr.jsonl")),
    (Kind::Borg, Some("borg-unreadable.json"), Some("borg-unreadable.stderr.jsonl")),
    (Kind::Borg, None, Some("borg-no-repo.stderr.jsonl")),
];

const NAMES: [&str; 4] = ["Tool error", "Warning", "Transfer summary", "Conflict"];

#[test]
fn event_names_are_kinds_and_descriptions_the_detail() {
    let mut seen_names = std::collections::BTreeSet::new();
    for (kind, stdout, stderr) in RUNS {
        for o in replay(kind, stdout, stderr) {
            let Some(e) = o.event() else { continue };
            assert!(NAMES.contains(&e.name), "{kind}: {e:?}");
            assert_ne!(e.name, e.description, "{kind}");
            assert!(!e.description.is_empty(), "{kind}: {e:?}");
            seen_names.insert(e.name);
        }
    }
    assert_eq!(seen_names.len(), 3, "errors, warnings and summaries were all seen: {seen_names:?}");
}

#[test]
fn an_error_event_keeps_its_path_and_a_bare_conflict_is_a_warning() {
    let e = Observation::Error { message: "permission denied".into(), path: Some("a.txt".into()) }.event().unwrap();
    assert_eq!(
        (e.name, e.description.as_str(), e.context.as_deref()),
        ("Tool error", "permission denied", Some("a.txt"))
    );
    let c = Observation::Conflict { path: "x".into(), description: "changed on both sides".into(), versions: vec![] };
    let e = c.event().unwrap();
    assert_eq!((e.name, e.description.as_str()), ("Conflict", "x: changed on both sides"));
    assert_eq!(e.level, synccenter_core::EventLevel::Warning);
    assert!(Observation::Log { line: "x".into() }.event().is_none());
}
