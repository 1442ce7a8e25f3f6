//! The `@synccenter` line protocol, for scripts and any program without its own progress format.
//!
//! A script reports by printing lines to **stdout** that start with `@synccenter ` (the word, then one
//! space) followed by a verb. Every other stdout line, and every stderr line, is kept as a log line.
//!
//! | Line | Observation |
//! |---|---|
//! | `@synccenter progress 3/10 copying photos` | [`Observation::Progress`]: 3 of 10 files, text `copying photos` |
//! | `@synccenter progress 45% indexing` | [`Observation::Progress`]: 45 %, text `indexing` |
//! | `@synccenter progress {"done":1024,"total":4096,"unit":"bytes","text":"…","rate":512,"eta_seconds":6}` | [`Observation::Progress`]; `unit` is `bytes`, `files` (the default) or `percent`; all but `done` optional |
//! | `@synccenter text Now indexing` | [`Observation::Text`] |
//! | `@synccenter warning <message>` | [`Observation::Warning`] |
//! | `@synccenter error <message>` or `@synccenter error {"message":"…","path":"…"}` | [`Observation::Error`] |
//! | `@synccenter conflict {"path":"…","description":"…","versions":[["laptop","modified 10:00"],["nas","modified 11:30"]]}` | [`Observation::Conflict`]; a version may also be `{"location":"…","detail":"…"}` |
//! | `@synccenter summary <text>` or `@synccenter summary {"text":"…","files":3,"bytes":1024,"errors":0}` | [`Observation::Summary`] |
//! | `@synccenter log <line>` | [`Observation::Log`] |
//!
//! Verbs are lower case. JSON objects may carry extra fields, which are ignored. A conflict may have at
//! most [`synccenter_core::MAX_CONFLICT_VERSIONS`] versions. A line that starts with `@synccenter` but
//! does not parse (unknown verb, bad numbers, bad JSON) becomes an [`Observation::Warning`] that quotes the line and says why; the reader never
//! fails and never panics. `done` greater than `total` is accepted (Sync Center clamps the steps).
//!
//! Exit status: 0 is success; 75 (`EX_TEMPFAIL`) asks for a retry; 69 (`EX_UNAVAILABLE`) means the target
//! is absent (a disconnected drive or host); anything else is a failure. See [`crate::outcome`].

use serde::Deserialize;

use crate::progress::{Observation, Progress, Reader, Stream, Unit};
use crate::units;

/// The prefix that marks a protocol line.
pub const PREFIX: &str = "@synccenter";

/// Why an `@synccenter` line could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MalformedLine {
    /// No verb after the prefix.
    #[error("no verb after @synccenter")]
    NoVerb,
    /// A verb this protocol does not define.
    #[error("unknown verb {0:?}")]
    UnknownVerb(String),
    /// A verb that needs an argument got none.
    #[error("{verb} needs an argument")]
    MissingArgument {
        /// The verb.
        verb: &'static str,
    },
    /// `progress` with something other than `N/M`, `N%` or a JSON object.
    #[error("progress must be N/M, N% or a JSON object, not {0:?}")]
    BadProgress(String),
    /// A JSON argument that does not have the expected shape.
    #[error("bad JSON for {verb}: {reason}")]
    BadJson {
        /// The verb.
        verb: &'static str,
        /// serde's explanation.
        reason: String,
    },
    /// A conflict with more versions than Sync Center keeps.
    #[error("conflict has {count} versions; the limit is {max}")]
    TooManyVersions {
        /// Versions given.
        count: usize,
        /// The limit.
        max: usize,
    },
}

/// The reader for [`crate::Kind::Script`].
#[derive(Debug, Default)]
pub struct ScriptReader {
    _private: (),
}

impl ScriptReader {
    /// A reader for one run.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Reader for ScriptReader {
    fn line(&mut self, stream: Stream, line: &str) -> Vec<Observation> {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.trim().is_empty() {
            return Vec::new();
        }
        if stream == Stream::Stdout && is_protocol_line(line) {
            return vec![match parse(line) {
                Ok(o) => o,
                Err(e) => {
                    Observation::warning(&format!("malformed @synccenter line ({e}): {}", units::clip_to(line, 512)))
                }
            }];
        }
        vec![Observation::log(line)]
    }

    fn finish(&mut self) -> Vec<Observation> {
        Vec::new()
    }
}

fn is_protocol_line(line: &str) -> bool {
    line.strip_prefix(PREFIX).is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

/// Parses one protocol line (it must start with [`PREFIX`]).
pub fn parse(line: &str) -> Result<Observation, MalformedLine> {
    let rest = line.strip_prefix(PREFIX).unwrap_or(line).trim();
    if rest.is_empty() {
        return Err(MalformedLine::NoVerb);
    }
    let (verb, arg) = match rest.split_once([' ', '\t']) {
        Some((v, a)) => (v, a.trim()),
        None => (rest, ""),
    };
    let need = |verb: &'static str| if arg.is_empty() { Err(MalformedLine::MissingArgument { verb }) } else { Ok(()) };
    match verb {
        "progress" => {
            need("progress")?;
            progress(arg).map(Observation::Progress)
        }
        "text" => {
            need("text")?;
            Ok(Observation::Text { text: units::clip(arg) })
        }
        "warning" => {
            need("warning")?;
            Ok(Observation::warning(arg))
        }
        "log" => Ok(Observation::log(arg)),
        "error" => {
            need("error")?;
            if arg.starts_with('{') {
                let e: ErrorJson = json("error", arg)?;
                Ok(Observation::error(&e.message, e.path.as_deref()))
            } else {
                Ok(Observation::error(arg, None))
            }
        }
        "conflict" => {
            need("conflict")?;
            let c: ConflictJson = json("conflict", arg)?;
            let max = synccenter_core::MAX_CONFLICT_VERSIONS;
            if c.versions.len() > max {
                return Err(MalformedLine::TooManyVersions { count: c.versions.len(), max });
            }
            Ok(Observation::Conflict {
                path: units::clip(&c.path),
                description: units::clip(&c.description),
                versions: c
                    .versions
                    .into_iter()
                    .map(|v| match v {
                        VersionJson::Pair(l, d) | VersionJson::Named { location: l, detail: d } => {
                            (units::clip(&l), units::clip(&d))
                        }
                    })
                    .collect(),
            })
        }
        "summary" => {
            need("summary")?;
            if arg.starts_with('{') {
                let s: SummaryJson = json("summary", arg)?;
                Ok(Observation::Summary {
                    text: units::clip(&s.text),
                    files: s.files,
                    bytes: s.bytes,
                    errors: s.errors,
                })
            } else {
                Ok(Observation::Summary { text: units::clip(arg), files: None, bytes: None, errors: None })
            }
        }
        other => Err(MalformedLine::UnknownVerb(units::clip_to(other, 64).to_owned())),
    }
}

fn json<T: for<'de> Deserialize<'de>>(verb: &'static str, arg: &str) -> Result<T, MalformedLine> {
    serde_json::from_str(arg).map_err(|e| MalformedLine::BadJson { verb, reason: e.to_string() })
}

fn progress(arg: &str) -> Result<Progress, MalformedLine> {
    if arg.starts_with('{') {
        let p: ProgressJson = json("progress", arg)?;
        return Ok(Progress {
            done: p.done,
            total: p.total,
            unit: p.unit.map_or(Unit::Files, UnitJson::unit),
            rate: p.rate,
            eta: p.eta_seconds.map(std::time::Duration::from_secs),
            text: units::clip(p.text.as_deref().unwrap_or("")),
        });
    }
    let (amount, text) = match arg.split_once([' ', '\t']) {
        Some((a, t)) => (a, t.trim()),
        None => (arg, ""),
    };
    let bad = || MalformedLine::BadProgress(units::clip_to(amount, 64).to_owned());
    let (done, total, unit) = if let Some(pct) = amount.strip_suffix('%') {
        let pct: u64 = pct.parse().map_err(|_| bad())?;
        if pct > 100 {
            return Err(bad());
        }
        (pct, Some(100), Unit::Percent)
    } else if let Some((d, t)) = amount.split_once('/') {
        (d.parse().map_err(|_| bad())?, Some(t.parse().map_err(|_| bad())?), Unit::Files)
    } else {
        return Err(bad());
    };
    Ok(Progress { done, total, unit, rate: None, eta: None, text: units::clip(text) })
}

#[derive(Deserialize)]
struct ProgressJson {
    done: u64,
    total: Option<u64>,
    unit: Option<UnitJson>,
    text: Option<String>,
    rate: Option<u64>,
    eta_seconds: Option<u64>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum UnitJson {
    Bytes,
    Files,
    Percent,
}

impl UnitJson {
    fn unit(self) -> Unit {
        match self {
            UnitJson::Bytes => Unit::Bytes,
            UnitJson::Files => Unit::Files,
            UnitJson::Percent => Unit::Percent,
        }
    }
}

#[derive(Deserialize)]
struct ErrorJson {
    message: String,
    path: Option<String>,
}

#[derive(Deserialize)]
struct ConflictJson {
    path: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    versions: Vec<VersionJson>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum VersionJson {
    Pair(String, String),
    Named { location: String, detail: String },
}

#[derive(Deserialize)]
struct SummaryJson {
    #[serde(default)]
    text: String,
    files: Option<u64>,
    bytes: Option<u64>,
    errors: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Observation {
        let mut v = ScriptReader::new().line(Stream::Stdout, line);
        assert_eq!(v.len(), 1, "{line}");
        v.remove(0)
    }

    fn malformed(line: &str) -> String {
        match one(line) {
            Observation::Warning { message } => message,
            other => panic!("{line} gave {other:?}"),
        }
    }

    #[test]
    fn simple_verbs() {
        assert_eq!(
            one("@synccenter progress 3/10 copying photos"),
            Observation::Progress(Progress {
                done: 3,
                total: Some(10),
                unit: Unit::Files,
                rate: None,
                eta: None,
                text: "copying photos".into()
            })
        );
        let p = one("@synccenter progress 45%");
        assert_eq!(p.as_progress().map(|p| (p.done, p.unit)), Some((45, Unit::Percent)));
        assert_eq!(one("@synccenter text Now indexing"), Observation::Text { text: "Now indexing".into() });
        assert_eq!(one("@synccenter log hi"), Observation::Log { line: "hi".into() });
        assert_eq!(
            one("@synccenter summary all done"),
            Observation::Summary { text: "all done".into(), files: None, bytes: None, errors: None }
        );
    }

    #[test]
    fn conflict_versions_in_both_shapes() {
        let o = one(
            r#"@synccenter conflict {"path":"a","description":"d","versions":[["x","1"],{"location":"y","detail":"2"}],"extra":true}"#,
        );
        assert_eq!(
            o,
            Observation::Conflict {
                path: "a".into(),
                description: "d".into(),
                versions: vec![("x".into(), "1".into()), ("y".into(), "2".into())]
            }
        );
    }

    #[test]
    fn malformed_lines_become_warnings() {
        assert!(malformed("@synccenter").contains("no verb"));
        assert!(malformed("@synccenter frobnicate now").contains("unknown verb \"frobnicate\""));
        assert!(malformed("@synccenter progress three of ten").contains("progress must be"));
        assert!(malformed("@synccenter progress 101%").contains("progress must be"));
        assert!(malformed("@synccenter progress 1/").contains("progress must be"));
        assert!(malformed("@synccenter progress 99999999999999999999999/1").contains("progress must be"));
        assert!(malformed("@synccenter warning").contains("warning needs an argument"));
        assert!(malformed("@synccenter conflict {\"path\":1}").contains("bad JSON for conflict"));
        assert!(malformed("@synccenter conflict nope").contains("bad JSON for conflict"));
        let many =
            format!(r#"@synccenter conflict {{"path":"a","versions":[{}]}}"#, vec![r#"["l","d"]"#; 65].join(","));
        assert!(malformed(&many).contains("65 versions; the limit is 64"));
    }

    #[test]
    fn other_lines_are_logs() {
        assert!(matches!(one("@synccenterx progress 1/2"), Observation::Log { .. }));
        assert!(matches!(one("hello"), Observation::Log { .. }));
        let v = ScriptReader::new().line(Stream::Stderr, "@synccenter progress 1/2");
        assert!(matches!(v[..], [Observation::Log { .. }]));
        assert!(ScriptReader::new().line(Stream::Stdout, "").is_empty());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "@synccenter .{0,200}") {
            let _ = ScriptReader::new().line(Stream::Stdout, &s);
        }
    }
}
