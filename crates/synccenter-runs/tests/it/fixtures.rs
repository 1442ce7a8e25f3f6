//! Loading fixtures and replaying them through a reader.

use std::path::PathBuf;

use synccenter_runs::progress::{Kind, Observation, Progress, Stream};
use synccenter_runs::reader;

/// The text of `tests/data/<name>`, or "" if there is no such file (an empty stream).
pub(crate) fn data(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name);
    std::fs::read_to_string(&path).unwrap_or_default()
}

/// Feeds `stdout` then `stderr` (fixture names; `None` for an empty stream) to a fresh reader, split on
/// `\n` only, and returns everything it observed including `finish`.
pub(crate) fn replay(kind: Kind, stdout: Option<&str>, stderr: Option<&str>) -> Vec<Observation> {
    replay_split(kind, stdout, stderr, &['\n'])
}

/// Like [`replay`], splitting lines on any of `seps` (the runner splits on `\r` and `\n`).
pub(crate) fn replay_split(kind: Kind, stdout: Option<&str>, stderr: Option<&str>, seps: &[char]) -> Vec<Observation> {
    let mut r = reader(kind);
    let mut out = Vec::new();
    for (stream, file) in [(Stream::Stdout, stdout), (Stream::Stderr, stderr)] {
        let Some(file) = file else { continue };
        let text = data(file);
        assert!(!text.is_empty(), "fixture {file} is missing or empty");
        for line in text.split(seps) {
            out.extend(r.line(stream, line));
        }
    }
    out.extend(r.finish());
    out
}

pub(crate) fn progress(obs: &[Observation]) -> Vec<&Progress> {
    obs.iter().filter_map(Observation::as_progress).collect()
}

pub(crate) fn errors(obs: &[Observation]) -> Vec<(&str, Option<&str>)> {
    obs.iter()
        .filter_map(|o| match o {
            Observation::Error { message, path } => Some((message.as_str(), path.as_deref())),
            _ => None,
        })
        .collect()
}

pub(crate) fn warnings(obs: &[Observation]) -> Vec<&str> {
    obs.iter()
        .filter_map(|o| match o {
            Observation::Warning { message } => Some(message.as_str()),
            _ => None,
        })
        .collect()
}

/// The one summary, as `(files, bytes, errors)`.
pub(crate) fn summary(obs: &[Observation]) -> (Option<u64>, Option<u64>, Option<u64>, &str) {
    let s: Vec<_> = obs
        .iter()
        .filter_map(|o| match o {
            Observation::Summary { text, files, bytes, errors } => Some((*files, *bytes, *errors, text.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(s.len(), 1, "expected exactly one summary in {obs:#?}");
    s[0]
}

/// At least three progress reports whose `done` never decreases, with at least three distinct values.
pub(crate) fn assert_progress_advances(p: &[&Progress]) {
    assert!(p.len() >= 3, "only {} progress observations", p.len());
    assert!(p.windows(2).all(|w| w[0].done <= w[1].done), "done decreased: {p:#?}");
    let mut distinct: Vec<u64> = p.iter().map(|p| p.done).collect();
    distinct.dedup();
    assert!(distinct.len() >= 3, "done took only {distinct:?}");
    for x in p {
        let (s, m) = x.steps();
        assert!(s <= m);
    }
}
