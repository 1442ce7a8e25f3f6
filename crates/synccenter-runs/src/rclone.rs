//! Reads rclone's JSON log.
//!
//! # Flags the command must use
//!
//! `rclone <copy|sync|move|bisync|…> SRC DST --use-json-log --stats 1s --stats-log-level NOTICE` and
//! usually `-v` (so each copied file is logged). `--use-json-log` makes every log line on stderr a JSON
//! object (`level`, `msg`, `object`, `source`, `time`); `--stats 1s --stats-log-level NOTICE` makes rclone
//! log a line with a `stats` object every second and once at the end, whatever the verbosity. Do not add
//! `--progress` or `-P`, which draw a terminal UI on stdout instead.
//!
//! Lines are read from either stream (rclone logs to stderr):
//!
//! - a line with `stats` → [`Observation::Progress`] in bytes (`bytes` of `totalBytes`, `speed`, `eta`,
//!   `transfers` of `totalTransfers` and the names being transferred as text). At `finish` the last
//!   `stats` becomes the [`Observation::Summary`] (`files` = `transfers`, `bytes` = `bytes`,
//!   `errors` = `errors`).
//! - `level: error` → [`Observation::Error`] with `object` as the path; rclone's own restatements
//!   (`Attempt 1/3 failed with 1 errors and: …`) are log lines, since the error itself was already
//!   reported.
//! - `level: warning` / `notice` → [`Observation::Warning`], except the harmless `Config file … not found
//!   - using defaults`, which is a log line.
//! - other levels → [`Observation::Log`].
//! - a non-JSON line such as `2024/05/01 10:00:00 Failed to copy: …` (rclone's fatal exit message) →
//!   [`Observation::Error`] when its text begins with `Failed to` or `ERROR`; otherwise a log line.
//!
//! # Conflicts recognised
//!
//! - `rclone bisync` (1.60): `- WARNING  New or changed in both paths - PATH` opens a conflict on `PATH`;
//!   the following `- Path1    Renaming Path1 copy - FILE..path1` and `- Path2 … FILE..path2` lines add
//!   the versions as `("Path1", renamed file)` and `("Path2", renamed file)`. The conflict is reported
//!   once both versions are known, when the next conflict starts, or at `finish`.
//! - Any other warning or error whose message contains `conflict` (any case), as newer rclone versions
//!   print with `--conflict-resolve`/`--conflict-suffix`: a [`Observation::Conflict`] with `object` (or
//!   the message) as the path and no versions.

use std::time::Duration;

use serde_json::Value;

use crate::progress::{Observation, Progress, Reader, Stream, Unit};
use crate::units;

/// The reader for [`crate::Kind::Rclone`]. See the module docs for the flags it expects.
#[derive(Debug, Default)]
pub struct RcloneReader {
    last_stats: Option<Value>,
    pending: Option<PendingConflict>,
}

#[derive(Debug)]
struct PendingConflict {
    path: String,
    description: String,
    versions: Vec<(String, String)>,
}

impl RcloneReader {
    /// A reader for one run.
    pub fn new() -> Self {
        Self::default()
    }

    fn flush_conflict(&mut self, out: &mut Vec<Observation>) {
        if let Some(c) = self.pending.take() {
            out.push(Observation::Conflict { path: c.path, description: c.description, versions: c.versions });
        }
    }

    /// Handles the bisync conflict lines; true when `msg` was one.
    fn bisync(&mut self, msg: &str, out: &mut Vec<Observation>) -> bool {
        let tail = || msg.rsplit_once(" - ").map(|(_, t)| units::clip(t.trim()));
        if msg.contains("New or changed in both paths") {
            self.flush_conflict(out);
            let path = tail().unwrap_or_default();
            self.pending = Some(PendingConflict {
                path,
                description: "new or changed in both paths".to_owned(),
                versions: Vec::new(),
            });
            return true;
        }
        for side in ["Path1", "Path2"] {
            if msg.contains(&format!("Renaming {side} copy")) {
                if let (Some(p), Some(file)) = (self.pending.as_mut(), tail()) {
                    p.versions.push((side.to_owned(), file));
                    if p.versions.len() >= 2 {
                        self.flush_conflict(out);
                    }
                }
                return true;
            }
        }
        false
    }

    fn json(&mut self, v: &Value, raw: &str) -> Vec<Observation> {
        let mut out = Vec::new();
        if let Some(stats) = v.get("stats") {
            out.push(Observation::Progress(progress(stats)));
            self.last_stats = Some(stats.clone());
            return out;
        }
        let level = v.get("level").and_then(Value::as_str).unwrap_or("");
        let msg = v.get("msg").and_then(Value::as_str).unwrap_or(raw);
        let object = v.get("object").and_then(Value::as_str).filter(|s| !s.is_empty());
        if self.bisync(msg, &mut out) {
            return out;
        }
        let serious = matches!(level, "error" | "critical" | "alert" | "emergency" | "warning" | "notice");
        if serious && msg.to_ascii_lowercase().contains("conflict") {
            out.push(Observation::Conflict {
                path: units::clip(object.unwrap_or(msg)),
                description: units::clip(msg),
                versions: Vec::new(),
            });
            return out;
        }
        out.push(match level {
            "error" | "critical" | "alert" | "emergency" => {
                if msg.starts_with("Attempt ") && msg.contains(" failed with ") {
                    Observation::log(msg)
                } else {
                    Observation::error(msg, object)
                }
            }
            "warning" | "notice" => {
                if msg.starts_with("Config file ") && msg.ends_with("not found - using defaults") {
                    Observation::log(msg)
                } else {
                    Observation::warning(msg)
                }
            }
            _ => Observation::log(msg),
        });
        out
    }
}

impl Reader for RcloneReader {
    fn line(&mut self, _stream: Stream, line: &str) -> Vec<Observation> {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            return Vec::new();
        }
        if trimmed.starts_with('{')
            && let Ok(v) = serde_json::from_str::<Value>(trimmed)
        {
            return self.json(&v, trimmed);
        }
        let text = strip_log_timestamp(trimmed);
        if text.starts_with("Failed to") || text.starts_with("ERROR") {
            vec![Observation::error(text, None)]
        } else {
            vec![Observation::log(trimmed)]
        }
    }

    fn finish(&mut self) -> Vec<Observation> {
        let mut out = Vec::new();
        self.flush_conflict(&mut out);
        if let Some(stats) = self.last_stats.take() {
            let n = |k: &str| stats.get(k).and_then(Value::as_u64);
            let files = n("transfers");
            let bytes = n("bytes");
            let errors = n("errors");
            let mut text = format!(
                "{}, {} transferred",
                units::count(files.unwrap_or(0), "file"),
                units::bytes(bytes.unwrap_or(0))
            );
            if let Some(c) = n("checks").filter(|c| *c > 0) {
                text.push_str(&format!(", {c} checked"));
            }
            if let Some(e) = errors.filter(|e| *e > 0) {
                text.push_str(&format!(", {}", units::count(e, "error")));
            }
            out.push(Observation::Summary { text, files, bytes, errors });
        }
        out
    }
}

fn progress(stats: &Value) -> Progress {
    let n = |k: &str| stats.get(k).and_then(Value::as_u64);
    let f = |k: &str| stats.get(k).and_then(Value::as_f64).and_then(units::float_to_u64);
    let mut text = format!("{} of {} files", n("transfers").unwrap_or(0), n("totalTransfers").unwrap_or(0));
    if let Some(list) = stats.get("transferring").and_then(Value::as_array) {
        let names: Vec<&str> = list.iter().filter_map(|t| t.get("name").and_then(Value::as_str)).collect();
        if !names.is_empty() {
            text.push_str(": ");
            text.push_str(&names.join(", "));
        }
    }
    Progress {
        done: n("bytes").unwrap_or(0),
        total: n("totalBytes"),
        unit: Unit::Bytes,
        rate: f("speed"),
        eta: f("eta").map(Duration::from_secs),
        text: units::clip(&text),
    }
}

/// `2024/05/01 10:00:00 rest` → `rest`; other lines unchanged.
fn strip_log_timestamp(line: &str) -> &str {
    let b = line.as_bytes();
    let shape = b.len() > 20
        && b[4] == b'/'
        && b[7] == b'/'
        && b[10] == b' '
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b' '
        && b[..19].iter().enumerate().all(|(i, c)| matches!(i, 4 | 7 | 10 | 13 | 16) || c.is_ascii_digit());
    if shape { &line[20..] } else { line }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_conflict_message() {
        let mut r = RcloneReader::new();
        let o = r.line(
            Stream::Stderr,
            r#"{"level":"notice","msg":"Conflict detected, renaming to a.txt.conflict1","object":"a.txt"}"#,
        );
        assert_eq!(
            o,
            [Observation::Conflict {
                path: "a.txt".into(),
                description: "Conflict detected, renaming to a.txt.conflict1".into(),
                versions: vec![]
            }]
        );
    }

    #[test]
    fn half_read_bisync_conflict_is_flushed_at_finish() {
        let mut r = RcloneReader::new();
        let o = r.line(
            Stream::Stderr,
            r#"{"level":"warning","msg":"- WARNING  New or changed in both paths        - x.txt"}"#,
        );
        assert!(o.is_empty());
        let o = r.finish();
        assert!(
            matches!(&o[..], [Observation::Conflict { path, versions, .. }] if path == "x.txt" && versions.is_empty())
        );
    }

    #[test]
    fn fatal_plain_line_is_an_error() {
        let mut r = RcloneReader::new();
        let o = r.line(Stream::Stderr, "2026/11/25 08:23:08 Failed to copy: directory not found");
        assert_eq!(o, [Observation::Error { message: "Failed to copy: directory not found".into(), path: None }]);
        assert!(matches!(r.line(Stream::Stderr, "2026/11/25 08:23:08 hello")[..], [Observation::Log { .. }]));
        assert_eq!(strip_log_timestamp("short"), "short");
    }

    #[test]
    fn eta_null_and_negative_speed_are_absent() {
        let p = progress(&serde_json::json!({"bytes": 5, "totalBytes": 10, "eta": null, "speed": -1.0}));
        assert_eq!((p.done, p.total, p.eta, p.rate), (5, Some(10), None, None));
    }
}
