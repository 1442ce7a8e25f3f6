//! Reads `restic backup --json` output.
//!
//! # Flags the command must use
//!
//! `restic backup --json [-v] PATHS…` (restic 0.14 or later). `-v` adds `verbose_status` lines, reported
//! as [`Observation::Log`]. Other restic commands are run as [`crate::Kind::Script`] or read only for
//! their errors.
//!
//! Stdout carries one JSON object per line with a `message_type`:
//!
//! - `status` → [`Observation::Progress`] in bytes (`bytes_done` of `total_bytes`, `seconds_remaining` as
//!   the ETA, a rate from `seconds_elapsed`, `current_files` as the text). A `status` with an `action`
//!   (restic's `scan_finished` report in verbose mode) is a log line.
//! - `verbose_status` → [`Observation::Log`] (`action item`).
//! - `error` → [`Observation::Error`] with `item` as the path. restic 0.14 serialises `error` as Go's
//!   error struct (`{"Op":"open","Path":"x","Err":13}`); newer versions as `{"message":"…"}`. Both are
//!   turned into a message.
//! - `summary` → [`Observation::Summary`]: `files` is `total_files_processed`, `bytes` is
//!   `total_bytes_processed`, `errors` the number of errors seen; the text names the snapshot, new,
//!   changed and unmodified files and `data_added`.
//! - `exit_error` (restic 0.17) → [`Observation::Error`].
//!
//! Stderr: JSON `error` lines as above (restic 0.14 writes them there), `Fatal: …` → error,
//! `Warning: …` and `… does not exist, skipping` → warning, anything else is a log line. Any stdout line
//! that is not JSON is a log line. restic never reports conflicts.

use std::time::Duration;

use serde_json::Value;

use crate::progress::{Observation, Progress, Reader, Stream, Unit};
use crate::units;

/// The reader for [`crate::Kind::Restic`]. See the module docs for the flags it expects.
#[derive(Debug, Default)]
pub struct ResticReader {
    errors: u64,
}

impl ResticReader {
    /// A reader for one run.
    pub fn new() -> Self {
        Self::default()
    }

    fn json(&mut self, v: &Value, raw: &str) -> Vec<Observation> {
        let o = match v.get("message_type").and_then(Value::as_str) {
            Some("status") if v.get("action").is_some() => Observation::log(raw),
            Some("status") => Observation::Progress(status(v)),
            Some("verbose_status") => {
                let action = str_field(v, "action").unwrap_or("?");
                let item = str_field(v, "item").unwrap_or("");
                Observation::log(&format!("{action} {item}"))
            }
            Some("error") => {
                self.errors += 1;
                let mut message = error_message(v.get("error"));
                if let Some(during) = str_field(v, "during") {
                    message = format!("{message} (during {during})");
                }
                Observation::error(&message, str_field(v, "item").filter(|s| !s.is_empty()))
            }
            Some("exit_error") => {
                self.errors += 1;
                Observation::error(str_field(v, "message").unwrap_or("restic exited with an error"), None)
            }
            Some("summary") => self.summary(v),
            _ => Observation::log(raw),
        };
        vec![o]
    }

    fn summary(&self, v: &Value) -> Observation {
        let n = |k: &str| v.get(k).and_then(Value::as_u64);
        let files = n("total_files_processed");
        let bytes = n("total_bytes_processed");
        let mut text = match str_field(v, "snapshot_id") {
            Some(id) => format!("snapshot {id}: "),
            None => String::new(),
        };
        text.push_str(&format!(
            "{} new, {} changed, {} unmodified files; {} added",
            n("files_new").unwrap_or(0),
            n("files_changed").unwrap_or(0),
            n("files_unmodified").unwrap_or(0),
            units::bytes(n("data_added").unwrap_or(0)),
        ));
        if self.errors > 0 {
            text.push_str(&format!("; {}", units::count(self.errors, "error")));
        }
        Observation::Summary { text, files, bytes, errors: Some(self.errors) }
    }
}

impl Reader for ResticReader {
    fn line(&mut self, stream: Stream, line: &str) -> Vec<Observation> {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            return Vec::new();
        }
        if trimmed.starts_with('{')
            && let Ok(v) = serde_json::from_str::<Value>(trimmed)
        {
            return self.json(&v, trimmed);
        }
        if stream == Stream::Stderr {
            if trimmed.starts_with("Fatal:") {
                self.errors += 1;
                return vec![Observation::error(trimmed, None)];
            }
            if trimmed.starts_with("Warning:") || trimmed.ends_with("does not exist, skipping") {
                return vec![Observation::warning(trimmed)];
            }
        }
        vec![Observation::log(trimmed)]
    }

    fn finish(&mut self) -> Vec<Observation> {
        Vec::new()
    }
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn status(v: &Value) -> Progress {
    let n = |k: &str| v.get(k).and_then(Value::as_u64);
    let done = n("bytes_done").unwrap_or(0);
    let rate = match n("seconds_elapsed") {
        Some(s) if s > 0 => Some(done / s),
        _ => None,
    };
    let mut text = match (n("files_done"), n("total_files")) {
        (Some(d), Some(t)) => format!("{d} of {t} files"),
        (None, Some(t)) => format!("0 of {t} files"),
        _ => String::new(),
    };
    if let Some(files) = v.get("current_files").and_then(Value::as_array) {
        let names: Vec<&str> = files.iter().filter_map(Value::as_str).collect();
        if !names.is_empty() {
            text.push_str(": ");
            text.push_str(&names.join(", "));
        }
    }
    Progress {
        done,
        total: n("total_bytes"),
        unit: Unit::Bytes,
        rate,
        eta: n("seconds_remaining").map(Duration::from_secs),
        text: units::clip(&text),
    }
}

/// restic's `error` field as a sentence, whatever shape its Go error was serialised in.
fn error_message(e: Option<&Value>) -> String {
    match e {
        None | Some(Value::Null) => "unknown error".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(obj @ Value::Object(map)) => {
            if let Some(m) = map.get("message").and_then(Value::as_str) {
                return m.to_owned();
            }
            let op = map.get("Op").and_then(Value::as_str);
            let path = map.get("Path").and_then(Value::as_str);
            let err = match map.get("Err") {
                Some(Value::Number(n)) => n.as_i64().map(errno_text),
                Some(Value::String(s)) => Some(s.clone()),
                _ => None,
            };
            match (op, path, err) {
                (Some(op), Some(path), Some(err)) => format!("{op} {path}: {err}"),
                _ => obj.to_string(),
            }
        }
        Some(other) => other.to_string(),
    }
}

/// A few errno values restic reports as bare numbers, spelled like Go spells them.
fn errno_text(n: i64) -> String {
    let name = match n {
        1 => "operation not permitted",
        2 => "no such file or directory",
        5 => "input/output error",
        13 => "permission denied",
        16 => "device or resource busy",
        20 => "not a directory",
        21 => "is a directory",
        24 => "too many open files",
        _ => return format!("errno {n}"),
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_error_struct_becomes_a_sentence() {
        let mut r = ResticReader::new();
        let o = r.line(
            Stream::Stderr,
            r#"{"message_type":"error","error":{"Op":"open","Path":"secret.txt","Err":13},"during":"archival","item":"/p/secret.txt"}"#,
        );
        assert_eq!(
            o,
            [Observation::Error {
                message: "open secret.txt: permission denied (during archival)".into(),
                path: Some("/p/secret.txt".into())
            }]
        );
    }

    #[test]
    fn newer_error_shape_and_exit_error() {
        let mut r = ResticReader::new();
        let o = r.line(Stream::Stdout, r#"{"message_type":"error","error":{"message":"boom"},"item":""}"#);
        assert_eq!(o, [Observation::Error { message: "boom".into(), path: None }]);
        let o =
            r.line(Stream::Stdout, r#"{"message_type":"exit_error","code":10,"message":"repository does not exist"}"#);
        assert_eq!(o, [Observation::Error { message: "repository does not exist".into(), path: None }]);
        assert_eq!(error_message(Some(&serde_json::json!({"x": 1}))), r#"{"x":1}"#);
        assert_eq!(errno_text(99), "errno 99");
    }

    #[test]
    fn status_without_files_done() {
        let mut r = ResticReader::new();
        let o =
            r.line(Stream::Stdout, r#"{"message_type":"status","percent_done":0,"total_files":1,"total_bytes":1000}"#);
        let p = o[0].as_progress().unwrap();
        assert_eq!((p.done, p.total, p.text.as_str()), (0, Some(1000), "0 of 1 files"));
        let o = r.line(
            Stream::Stdout,
            r#"{"message_type":"status","seconds_elapsed":2,"seconds_remaining":40,"bytes_done":100}"#,
        );
        let p = o[0].as_progress().unwrap();
        assert_eq!((p.eta, p.rate, p.total), (Some(Duration::from_secs(40)), Some(50), None));
    }

    #[test]
    fn malformed_json_and_plain_lines_are_logs() {
        let mut r = ResticReader::new();
        assert!(matches!(r.line(Stream::Stdout, "{not json")[..], [Observation::Log { .. }]));
        assert!(matches!(r.line(Stream::Stdout, r#"{"message_type":"new_kind"}"#)[..], [Observation::Log { .. }]));
        assert!(r.line(Stream::Stdout, "   ").is_empty());
        assert!(matches!(r.line(Stream::Stderr, "nosuch does not exist, skipping")[..], [Observation::Warning { .. }]));
    }
}
