//! Reads rsync's output.
//!
//! # Flags the command must use
//!
//! `rsync -a --info=progress2 [--itemize-changes] [--stats] SRC/ DST/` (any other options may be added, but
//! not `--progress`, `-P`, `--info=progress1`, `--out-format` or `-v`, which change the line shapes).
//!
//! - `--info=progress2` prints whole-transfer progress, `  1,238,099  45%  1.18MB/s    0:00:01 (xfr#12,
//!   to-chk=34/60)`, rewritten in place with `\r`. Each `\r`- or `\n`-terminated chunk is one progress
//!   line; this reader also splits a line on embedded `\r`s, so the runner may split on `\n` only. rsync
//!   does not print the total size: it is estimated as `done * 100 / percent` (exact at 100 %), and is
//!   absent while the percentage is 0. The rate is in rsync's 1024-based units. The time column is an
//!   ETA only on lines without `(xfr#…)`; on those it is the elapsed time, so no ETA is reported.
//!   Repeated identical progress lines are reported once.
//! - `--itemize-changes` (optional) prints `>f+++++++++ dir/file` for each transferred file; the reader
//!   counts `<f`/`>f` lines as transferred files and reports every itemized line as [`Observation::Log`].
//!   Without it the files are counted from the progress lines' `xfr#N` (files transferred so far); with
//!   both, the larger count wins.
//! - `--stats` prints totals at the end; the reader turns them into one [`Observation::Summary`] (regular
//!   files transferred, total transferred file size). Without `--stats`, `finish` summarises the counted
//!   files and the last progress instead.
//!
//! Stderr: `rsync: …` and `rsync error: …` lines are errors (the quoted path, if any, becomes the path);
//! `file has vanished: "…"` and `rsync warning: …` are warnings; anything else is a log line.
//!
//! rsync has no notion of conflicts, so this reader never reports one.

use std::time::Duration;

use crate::progress::{Observation, Progress, Reader, Stream, Unit};
use crate::units;

/// The reader for [`crate::Kind::Rsync`]. See the module docs for the flags it expects.
#[derive(Debug, Default)]
pub struct RsyncReader {
    files_transferred: u64,
    /// The highest `xfr#N` of the progress lines.
    files_xfr: u64,
    errors: u64,
    last_progress: Option<Progress>,
    stats_files: Option<u64>,
    stats_bytes: Option<u64>,
    summarised: bool,
}

impl RsyncReader {
    /// A reader for one run.
    pub fn new() -> Self {
        Self::default()
    }

    fn chunk(&mut self, stream: Stream, chunk: &str, out: &mut Vec<Observation>) {
        if chunk.trim().is_empty() {
            return;
        }
        match stream {
            Stream::Stderr => self.stderr(chunk, out),
            Stream::Stdout => self.stdout(chunk, out),
        }
    }

    fn stderr(&mut self, line: &str, out: &mut Vec<Observation>) {
        let line = line.trim_end();
        if let Some(rest) = line.strip_prefix("file has vanished: ") {
            let path = quoted(rest);
            out.push(Observation::warning(&match path {
                Some(p) => format!("file has vanished: {p}"),
                None => line.to_owned(),
            }));
        } else if line.starts_with("rsync warning:") {
            out.push(Observation::warning(line));
        } else if line.starts_with("rsync error:") || line.starts_with("rsync:") {
            self.errors += 1;
            out.push(Observation::error(line, quoted(line)));
        } else {
            out.push(Observation::log(line));
        }
    }

    fn stdout(&mut self, line: &str, out: &mut Vec<Observation>) {
        if let Some(p) = parse_progress2(line) {
            self.files_xfr = self.files_xfr.max(xfr(&p.text).unwrap_or(0));
            if self.last_progress.as_ref() != Some(&p) {
                self.last_progress = Some(p.clone());
                out.push(Observation::Progress(p));
            }
            return;
        }
        let trimmed = line.trim();
        if is_itemized(trimmed) {
            let b = trimmed.as_bytes();
            if (b[0] == b'>' || b[0] == b'<') && b[1] == b'f' {
                self.files_transferred += 1;
            }
        } else if let Some(v) = trimmed.strip_prefix("Number of regular files transferred: ") {
            self.stats_files = units::integer_with_commas(v.trim());
        } else if let Some(v) = trimmed.strip_prefix("Total transferred file size: ") {
            self.stats_bytes = units::integer_with_commas(v.trim_end_matches(" bytes").trim());
        } else if trimmed.starts_with("total size is ") && (self.stats_files.is_some() || self.stats_bytes.is_some()) {
            out.push(Observation::log(trimmed));
            out.push(self.summary());
            return;
        }
        out.push(Observation::log(trimmed));
    }

    fn summary(&mut self) -> Observation {
        self.summarised = true;
        let files = self.stats_files.unwrap_or(self.files_transferred.max(self.files_xfr));
        let bytes = self.stats_bytes.or(self.last_progress.as_ref().map(|p| p.done));
        let mut text = format!("{} transferred", units::count(files, "file"));
        if let Some(b) = bytes {
            text.push_str(&format!(", {}", units::bytes(b)));
        }
        if self.errors > 0 {
            text.push_str(&format!(", {}", units::count(self.errors, "error")));
        }
        Observation::Summary { text, files: Some(files), bytes, errors: Some(self.errors) }
    }
}

impl Reader for RsyncReader {
    fn line(&mut self, stream: Stream, line: &str) -> Vec<Observation> {
        let mut out = Vec::new();
        for chunk in line.split('\r') {
            self.chunk(stream, chunk, &mut out);
        }
        out
    }

    fn finish(&mut self) -> Vec<Observation> {
        if self.summarised || (self.last_progress.is_none() && self.files_transferred == 0) {
            return Vec::new();
        }
        vec![self.summary()]
    }
}

/// The path in the first `"…"` of `s`, if any.
fn quoted(s: &str) -> Option<&str> {
    let start = s.find('"')? + 1;
    let len = s[start..].find('"')?;
    Some(&s[start..start + len])
}

/// `N` of a progress line's `xfr#N, to-chk=A/B`.
fn xfr(text: &str) -> Option<u64> {
    let rest = text.strip_prefix("xfr#")?;
    let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Whether `line` starts with an `--itemize-changes` code such as `>f+++++++++` or `cd..t......`.
fn is_itemized(line: &str) -> bool {
    if line.starts_with("*deleting ") {
        return true;
    }
    let Some((code, _name)) = line.split_once(' ') else { return false };
    let b = code.as_bytes();
    b.len() == 11
        && matches!(b[0], b'<' | b'>' | b'c' | b'h' | b'.' | b'*')
        && matches!(b[1], b'f' | b'd' | b'L' | b'D' | b'S')
        && b[2..].iter().all(|c| c.is_ascii_alphabetic() || matches!(c, b'.' | b'+' | b' ' | b'?'))
}

/// One `--info=progress2` line: `bytes pct% rate time [(xfr#N, to-chk=A/B)]`.
pub(crate) fn parse_progress2(line: &str) -> Option<Progress> {
    let line = line.trim();
    let mut parts = line.split_whitespace();
    let done = units::integer_with_commas(parts.next()?)?;
    let pct: u64 = parts.next()?.strip_suffix('%')?.parse().ok()?;
    let rate = parse_rate(parts.next()?)?;
    let time = parse_hms(parts.next()?)?;
    let rest = line.find('(').map(|i| line[i..].trim_matches(|c| c == '(' || c == ')'));
    let total = if pct == 0 || pct > 100 { None } else { Some(done.saturating_mul(100) / pct) };
    let file_done = rest.is_some_and(|r| r.starts_with("xfr#"));
    Some(Progress {
        done,
        total,
        unit: Unit::Bytes,
        rate: Some(rate),
        eta: if file_done { None } else { Some(time) },
        text: rest.map(units::clip).unwrap_or_default(),
    })
}

/// `1.18MB/s` (rsync's units are 1024-based) as bytes per second.
fn parse_rate(s: &str) -> Option<u64> {
    let (num, mult) = if let Some(n) = s.strip_suffix("kB/s") {
        (n, 1024.0)
    } else if let Some(n) = s.strip_suffix("MB/s") {
        (n, 1024.0 * 1024.0)
    } else if let Some(n) = s.strip_suffix("GB/s") {
        (n, 1024.0 * 1024.0 * 1024.0)
    } else if let Some(n) = s.strip_suffix("B/s") {
        (n, 1.0)
    } else {
        return None;
    };
    let v: f64 = num.replace(',', "").parse().ok()?;
    units::float_to_u64(v * mult)
}

/// `h:mm:ss` as a duration.
fn parse_hms(s: &str) -> Option<Duration> {
    let mut secs = 0_u64;
    let mut n = 0;
    for part in s.split(':') {
        secs = secs.checked_mul(60)?.checked_add(part.parse().ok()?)?;
        n += 1;
    }
    (n == 3).then(|| Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress2_line_mid_file_has_eta() {
        let p = parse_progress2("      4,298,912  35%    3.94MB/s    0:00:01  ").unwrap();
        assert_eq!(p.done, 4_298_912);
        assert_eq!(p.total, Some(12_282_605));
        assert_eq!(p.rate, Some(4_131_389));
        assert_eq!(p.eta, Some(Duration::from_secs(1)));
        assert_eq!(p.text, "");
    }

    #[test]
    fn progress2_line_at_file_end_has_no_eta() {
        let p = parse_progress2("  1,238,099  45%  1.18MB/s    0:00:01 (xfr#12, to-chk=34/60)").unwrap();
        assert_eq!(p.done, 1_238_099);
        assert_eq!(p.eta, None);
        assert_eq!(p.text, "xfr#12, to-chk=34/60");
        let zero = parse_progress2("          1,000   0%    0.00kB/s    0:00:00").unwrap();
        assert_eq!(zero.total, None);
    }

    #[test]
    fn non_progress_lines_are_not_progress() {
        assert!(parse_progress2(">f+++++++++ docs/note1.txt").is_none());
        assert!(parse_progress2("sent 12,007,663 bytes  received 251 bytes  3,430,832.57 bytes/sec").is_none());
        assert!(parse_progress2("").is_none());
    }

    #[test]
    fn embedded_carriage_returns_are_split() {
        let mut r = RsyncReader::new();
        let obs = r.line(Stream::Stdout, "\r   1,000   0%  0.00kB/s  0:00:00  \r   2,000  50%  1.00kB/s  0:00:01");
        let done: Vec<u64> = obs.iter().filter_map(|o| o.as_progress()).map(|p| p.done).collect();
        assert_eq!(done, [1000, 2000]);
    }

    #[test]
    fn stderr_classification() {
        let mut r = RsyncReader::new();
        let o =
            r.line(Stream::Stderr, r#"rsync: [sender] change_dir "/x/nosuch" failed: No such file or directory (2)"#);
        assert_eq!(
            o,
            [Observation::Error {
                message: r#"rsync: [sender] change_dir "/x/nosuch" failed: No such file or directory (2)"#.into(),
                path: Some("/x/nosuch".into())
            }]
        );
        let o = r.line(Stream::Stderr, r#"file has vanished: "/x/a.bin""#);
        assert_eq!(o, [Observation::Warning { message: "file has vanished: /x/a.bin".into() }]);
        let o = r.line(Stream::Stderr, "ssh: connect to host nas port 22: Connection refused");
        assert!(matches!(o[..], [Observation::Log { .. }]));
    }

    #[test]
    fn itemize_codes() {
        assert!(is_itemized(">f+++++++++ docs/note1.txt"));
        assert!(is_itemized("cd+++++++++ ./"));
        assert!(is_itemized(".d..t...... photos/"));
        assert!(is_itemized("*deleting   old.txt"));
        assert!(!is_itemized("created directory dst"));
        assert!(!is_itemized("Number of files: 13 (reg: 10, dir: 3)"));
    }

    #[test]
    fn finish_without_stats_summarises_counts() {
        let mut r = RsyncReader::new();
        r.line(Stream::Stdout, ">f+++++++++ a");
        r.line(Stream::Stdout, "  10 100%  0.00kB/s  0:00:00 (xfr#1, to-chk=0/2)");
        let s = r.finish();
        assert_eq!(
            s,
            [Observation::Summary {
                text: "1 file transferred, 10 B".into(),
                files: Some(1),
                bytes: Some(10),
                errors: Some(0)
            }]
        );
        assert!(RsyncReader::new().finish().is_empty());
    }

    #[test]
    fn xfr_counts() {
        assert_eq!(xfr("xfr#12, to-chk=34/60"), Some(12));
        assert_eq!(xfr("xfr#7"), Some(7));
        assert_eq!(xfr("to-chk=3/4"), None);
        assert_eq!(xfr("xfr#, to-chk=3/4"), None);
    }
}
