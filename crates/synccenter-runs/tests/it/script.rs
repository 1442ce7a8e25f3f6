//! The `@synccenter` script line protocol, replaying a captured script run.

use synccenter_runs::outcome::{ExitInfo, Final, classify};
use synccenter_runs::progress::{Kind, Observation, Progress, Unit};

use crate::fixtures::{errors, progress, replay, warnings};

#[test]
fn script_protocol_run() {
    let obs = replay(Kind::Script, Some("script-run.txt"), Some("script-run.stderr.txt"));
    assert_eq!(obs[0], Observation::Log { line: "starting backup of photos".into() });
    assert_eq!(obs[1], Observation::Text { text: "Scanning photos".into() });
    let p = progress(&obs);
    assert_eq!(
        p.iter().map(|p| (p.done, p.total, p.unit)).collect::<Vec<_>>(),
        [
            (0, Some(3), Unit::Files),
            (1, Some(3), Unit::Files),
            (2, Some(3), Unit::Files),
            (3, Some(3), Unit::Files),
            (100, Some(100), Unit::Percent),
            (3_145_728, Some(3_145_728), Unit::Bytes),
        ]
    );
    assert_eq!(p[1].text, "copying img1.jpg");
    assert_eq!(p[1].human(), "1 of 3 files · copying img1.jpg");
    assert_eq!(
        *p[5],
        Progress {
            done: 3_145_728,
            total: Some(3_145_728),
            unit: Unit::Bytes,
            rate: None,
            eta: None,
            text: "verified".into()
        }
    );
    assert!(obs.contains(&Observation::Conflict {
        path: "notes/todo.txt".into(),
        description: "changed on both sides".into(),
        versions: vec![
            ("laptop".into(), "modified 2024-05-01 10:00".into()),
            ("nas".into(), "modified 2024-05-01 11:30".into()),
        ],
    }));
    assert_eq!(
        errors(&obs),
        [("could not copy img4.jpg: permission denied", None), ("checksum mismatch", Some("photos/img5.jpg"))]
    );
    assert_eq!(
        warnings(&obs),
        [
            "img2.jpg has an odd timestamp",
            "malformed @synccenter line (progress must be N/M, N% or a JSON object, not \"three\"): @synccenter progress three of ten",
            "malformed @synccenter line (unknown verb \"frobnicate\"): @synccenter frobnicate now",
        ]
    );
    assert!(obs.contains(&Observation::Summary {
        text: "3 photos copied".into(),
        files: Some(3),
        bytes: Some(3_145_728),
        errors: Some(2)
    }));
    assert_eq!(obs.last(), Some(&Observation::Log { line: "plain output is kept as log".into() }));
    let o = classify(ExitInfo { code: Some(0), ..ExitInfo::default() }, Kind::Script, &obs);
    assert_eq!(o.status, Final::Succeeded);
    assert_eq!(o.reason, "script succeeded with 2 errors and 3 warnings reported");
}
