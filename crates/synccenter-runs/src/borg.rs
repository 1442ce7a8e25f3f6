//! Reads BorgBackup's JSON output (`borg create`).
//!
//! # Flags the command must use
//!
//! `borg create --progress --log-json --json REPO::ARCHIVE PATHS…` (borg 1.2 or later; `--list` may be
//! added). `--log-json` turns stderr into one JSON object per line with a `type`; `--progress` adds the
//! progress objects to it; `--json` prints the archive's statistics as one JSON document on stdout at the
//! end (indented over many lines). Other borg commands (`prune`, `check`, `compact`) are read the same way
//! for their progress and messages; they print no archive statistics.
//!
//! Stderr, by `type`:
//!
//! - `archive_progress` → [`Observation::Progress`] in bytes: `original_size` read so far, no total (borg
//!   does not count ahead), a rate from the first progress's `time`, `nfiles` and `path` as the text.
//! - `progress_percent` → [`Observation::Progress`] of `current` out of `total`, `message` as the text.
//! - `progress_message` → [`Observation::Text`] (`message`).
//! - `file_status` (`--list`) → [`Observation::Log`] (`status path`).
//! - `log_message`: `levelname` `ERROR` or `CRITICAL` → [`Observation::Error`], `WARNING` →
//!   [`Observation::Warning`] (such as `secret.txt: open: [Errno 13] Permission denied: 'secret.txt'`),
//!   anything lower → [`Observation::Log`].
//!
//! Objects whose `finished` is true only close a progress display and are skipped. A stderr line that is
//! not JSON (borg writes argument errors before `--log-json` is in force) is an error when it starts with
//! `borg: error:`, a log line otherwise.
//!
//! Stdout: the `--json` document becomes the [`Observation::Summary`]: `files` is `archive.stats.nfiles`,
//! `bytes` is `archive.stats.original_size`; the text names the archive, the files, the size read and
//! `deduplicated_size` (what the archive added to the repository) and the errors and warnings counted.
//! It is read once complete (at most [`MAX_JSON_BYTES`]) and reported at `finish`, so that the counts are
//! whole; without `--json`, `finish` summarises the last progress instead. borg never
//! reports conflicts.
//!
//! Exit status (borg's legacy codes, the default): 0 success, 1 success with warnings, 2 error, 128 + N
//! killed by signal N; see [`crate::outcome`].

use serde_json::Value;

use crate::progress::{Observation, Progress, Reader, Stream, Unit};
use crate::units;

/// The largest stdout JSON document read as the summary; a longer one is dropped with a warning.
pub const MAX_JSON_BYTES: usize = 1024 * 1024;

/// The reader for [`crate::Kind::Borg`]. See the module docs for the flags it expects.
#[derive(Debug, Default)]
pub struct BorgReader {
    errors: u64,
    warnings: u64,
    /// `time` of the first `archive_progress`, for the rate.
    first_time: Option<f64>,
    last_progress: Option<(u64, u64)>,
    /// The stdout JSON document being collected.
    json: String,
    /// The document outgrew [`MAX_JSON_BYTES`]; the rest of it is skipped.
    json_dropped: bool,
    /// The `archive` of the `--json` document, summarised at the end (when the warnings are all counted).
    archive: Option<Value>,
}

impl BorgReader {
    /// A reader for one run.
    pub fn new() -> Self {
        Self::default()
    }

    fn stderr_json(&mut self, v: &Value, raw: &str) -> Option<Observation> {
        if v.get("finished").and_then(Value::as_bool) == Some(true) {
            return None;
        }
        let text = |k: &str| v.get(k).and_then(Value::as_str);
        let n = |k: &str| v.get(k).and_then(Value::as_u64);
        Some(match text("type") {
            Some("archive_progress") => Observation::Progress(self.archive_progress(v)),
            Some("progress_percent") => Observation::Progress(Progress {
                done: n("current").unwrap_or(0),
                total: n("total"),
                unit: Unit::Percent,
                rate: None,
                eta: None,
                text: units::clip(text("message").unwrap_or("")),
            }),
            Some("progress_message") => Observation::Text { text: units::clip(text("message")?) },
            Some("file_status") => {
                Observation::log(&format!("{} {}", text("status").unwrap_or("?"), text("path").unwrap_or("")))
            }
            Some("log_message") => self.log_message(text("levelname").unwrap_or(""), text("message").unwrap_or(raw)),
            _ => Observation::log(raw),
        })
    }

    fn archive_progress(&mut self, v: &Value) -> Progress {
        let n = |k: &str| v.get(k).and_then(Value::as_u64);
        let (done, files) = (n("original_size").unwrap_or(0), n("nfiles").unwrap_or(0));
        self.last_progress = Some((done, files));
        let time = v.get("time").and_then(Value::as_f64);
        let first = *self.first_time.get_or_insert(time.unwrap_or(0.0));
        let rate = time.map(|t| t - first).filter(|s| *s >= 1.0).and_then(|s| units::float_to_u64(done as f64 / s));
        let mut text = units::count(files, "file");
        if let Some(path) = v.get("path").and_then(Value::as_str).filter(|p| !p.is_empty()) {
            text.push_str(": ");
            text.push_str(path);
        }
        Progress { done, total: None, unit: Unit::Bytes, rate, eta: None, text: units::clip(&text) }
    }

    fn log_message(&mut self, level: &str, message: &str) -> Observation {
        match level {
            "ERROR" | "CRITICAL" => {
                self.errors += 1;
                Observation::error(message, None)
            }
            "WARNING" => {
                self.warnings += 1;
                Observation::warning(message)
            }
            _ => Observation::log(message),
        }
    }

    /// One stdout line: part of the `--json` document, or a log line.
    fn stdout(&mut self, line: &str) -> Option<Observation> {
        if self.json_dropped {
            // Skipped up to borg's closing brace, alone at the start of its line.
            self.json_dropped = line.trim_end() != "}";
            return None;
        }
        if self.json.is_empty() && !line.trim_start().starts_with('{') {
            return Some(Observation::log(line.trim()));
        }
        if self.json.len() + line.len() + 1 > MAX_JSON_BYTES {
            self.json.clear();
            self.json_dropped = true;
            return Some(Observation::warning(&format!(
                "borg's JSON output is longer than {} and was not read",
                units::bytes(MAX_JSON_BYTES as u64)
            )));
        }
        self.json.push_str(line);
        self.json.push('\n');
        // The document is complete when it parses; borg ends it with a `}` alone on a line.
        if !line.trim_end().ends_with('}') {
            return None;
        }
        let v: Value = serde_json::from_str(&self.json).ok()?;
        self.json.clear();
        match v.get("archive") {
            Some(archive) => {
                self.archive = Some(archive.clone());
                None
            }
            None => Some(Observation::log(&v.to_string())),
        }
    }

    fn summary(&self, archive: &Value) -> Observation {
        let stat = |k: &str| archive.pointer(&format!("/stats/{k}")).and_then(Value::as_u64);
        let (files, bytes) = (stat("nfiles"), stat("original_size"));
        let mut text = match archive.get("name").and_then(Value::as_str) {
            Some(name) => format!("archive {name}: "),
            None => String::new(),
        };
        text.push_str(&format!(
            "{}, {} read, {} added",
            units::count(files.unwrap_or(0), "file"),
            units::bytes(bytes.unwrap_or(0)),
            units::bytes(stat("deduplicated_size").unwrap_or(0))
        ));
        self.push_counts(&mut text);
        Observation::Summary { text: units::clip(&text), files, bytes, errors: Some(self.errors) }
    }

    fn push_counts(&self, text: &mut String) {
        if self.errors > 0 {
            text.push_str(&format!("; {}", units::count(self.errors, "error")));
        }
        if self.warnings > 0 {
            text.push_str(&format!("; {}", units::count(self.warnings, "warning")));
        }
    }
}

impl Reader for BorgReader {
    fn line(&mut self, stream: Stream, line: &str) -> Vec<Observation> {
        if line.trim().is_empty() {
            return Vec::new();
        }
        let o = match stream {
            Stream::Stdout => self.stdout(line),
            Stream::Stderr => {
                let trimmed = line.trim();
                match serde_json::from_str::<Value>(trimmed) {
                    Ok(v) if v.is_object() => self.stderr_json(&v, trimmed),
                    _ if trimmed.starts_with("borg: error:") => {
                        self.errors += 1;
                        Some(Observation::error(trimmed, None))
                    }
                    _ => Some(Observation::log(trimmed)),
                }
            }
        };
        o.into_iter().collect()
    }

    fn finish(&mut self) -> Vec<Observation> {
        let mut out = Vec::new();
        if !self.json.is_empty() {
            out.push(Observation::warning("borg's JSON output ended before it was complete"));
            self.json.clear();
        }
        if let Some(archive) = self.archive.take() {
            out.push(self.summary(&archive));
        } else if let Some((bytes, files)) = self.last_progress {
            let mut text = format!("{}, {} read", units::count(files, "file"), units::bytes(bytes));
            self.push_counts(&mut text);
            out.push(Observation::Summary { text, files: Some(files), bytes: Some(bytes), errors: Some(self.errors) });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_kinds() {
        let mut r = BorgReader::new();
        let o = r.line(
            Stream::Stderr,
            r#"{"type":"progress_percent","operation":3,"msgid":"check","current":3,"total":12,"message":"Checking segments 25%","finished":false}"#,
        );
        let p = o[0].as_progress().expect("progress");
        assert_eq!((p.done, p.total, p.unit, p.text.as_str()), (3, Some(12), Unit::Percent, "Checking segments 25%"));
        let o =
            r.line(Stream::Stderr, r#"{"type":"progress_message","message":"Saving files cache","finished":false}"#);
        assert_eq!(o, [Observation::Text { text: "Saving files cache".into() }]);
        assert!(r.line(Stream::Stderr, r#"{"type":"progress_message","finished":true}"#).is_empty());
        let o = r.line(Stream::Stderr, r#"{"type":"file_status","status":"A","path":"src/a.txt"}"#);
        assert_eq!(o, [Observation::Log { line: "A src/a.txt".into() }]);
        assert!(r.finish().is_empty(), "no archive progress, no summary");
    }

    #[test]
    fn plain_stderr_and_odd_stdout() {
        let mut r = BorgReader::new();
        let o = r.line(Stream::Stderr, "borg: error: unrecognized arguments: --nope");
        assert_eq!(
            o,
            [Observation::Error { message: "borg: error: unrecognized arguments: --nope".into(), path: None }]
        );
        assert!(matches!(r.line(Stream::Stderr, "Traceback (most recent call last):")[..], [Observation::Log { .. }]));
        assert!(matches!(r.line(Stream::Stdout, "plain")[..], [Observation::Log { .. }]));
        assert!(r.line(Stream::Stdout, "{").is_empty());
        assert_eq!(r.finish(), [Observation::warning("borg's JSON output ended before it was complete")]);
        let mut r = BorgReader::new();
        assert!(matches!(r.line(Stream::Stdout, r#"{"repository": {}}"#)[..], [Observation::Log { .. }]));
    }

    #[test]
    fn an_endless_json_document_is_bounded() {
        let mut r = BorgReader::new();
        r.line(Stream::Stdout, "{");
        let line = format!("\"{}\": 1,", "x".repeat(1000));
        let mut warned = 0;
        for _ in 0..(MAX_JSON_BYTES / 1000 + 10) {
            warned += r.line(Stream::Stdout, &line).len();
        }
        assert_eq!(warned, 1);
        assert!(r.json.is_empty());
        assert!(r.line(Stream::Stdout, "}").is_empty());
        assert!(matches!(r.line(Stream::Stdout, "after")[..], [Observation::Log { .. }]));
    }
}
