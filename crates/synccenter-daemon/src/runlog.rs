//! Per-run logs: the whole output of every command run, kept in the data directory so that "what did last
//! night's backup print?" has an answer (`synccenter logs`, the dashboard's "log" links, `logs.read`).
//!
//! One file per run (a run is a session the daemon owns): `logs/<session>.log`. Item IDs may hold any
//! character but control characters and can be longer in bytes than a file name may be, so they are not file
//! names: each line names its item instead, and the items of a run, which run one after another, follow each
//! other in its file. A line is `TIME STREAM ITEM<tab>TEXT`: the time in RFC 3339 UTC, `out` or `err` for what
//! the command printed, `---` for synccenter's own notes (start, end, cuts). The text is the command's line as
//! the supervisor framed it (at most [`MAX_TEXT_BYTES`]), bytes that are not UTF-8 and control characters but
//! tab replaced by U+FFFD, so that a log stays valid, line-structured UTF-8 whatever the command printed.
//!
//! Bounds: a run's log keeps its first lines up to [`LogLimits::max_run`] less a sixteenth of it, then only the
//! last lines within that sixteenth (a rolling tail in memory, at most [`MAX_TAIL_BYTES`]), written at its end
//! after a note of what was left out. Retention ([`prune`], at the start of every run) removes logs older than
//! [`LogLimits::max_age`], then the oldest while all of them together exceed [`LogLimits::max_total`].
//! Files are created owner-only. Writes are synchronous and small (one per chunk read from a pipe), on the
//! supervisor's task, never the hub's; reads ([`read`]) run on a blocking thread.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use synccenter_core::{Clock, SessionId};

use crate::convert;
use crate::runtime::SystemClock;

/// Bytes of one line's text kept in a log (the supervisor's line cap; U+FFFD replacements may not grow it).
pub(crate) const MAX_TEXT_BYTES: usize = 64 * 1024;
/// The longest line a log can hold: the text, the time, the stream and an item ID (63 UTF-16 units, at most
/// 189 bytes of UTF-8).
pub(crate) const MAX_RECORD_BYTES: usize = MAX_TEXT_BYTES + 512;

/// The most a run's rolling tail holds in memory, whatever [`LogLimits::max_run`] is.
pub(crate) const MAX_TAIL_BYTES: u64 = 1 << 20;

/// How much run logs may keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogLimits {
    /// Bytes of one run's log (plus a few notes); default 16 MiB.
    pub max_run: u64,
    /// Bytes of all run logs together, enforced at the start of each run; default 512 MiB.
    pub max_total: u64,
    /// Logs older than this are removed at the start of a run; default 30 days.
    pub max_age: Duration,
    /// How many runs' logs are kept (the newest), enforced at the start of each run; default 1,000.
    pub max_runs: u32,
}

impl LogLimits {
    /// These limits with the keys `config.toml`'s `[logs]` sets.
    pub(crate) fn with(self, config: &synccenter_config::LogsConfig) -> LogLimits {
        LogLimits {
            max_run: config.max_per_run.unwrap_or(self.max_run),
            max_total: config.max_total.unwrap_or(self.max_total),
            max_age: config.max_age.unwrap_or(self.max_age),
            max_runs: config.max_runs.unwrap_or(self.max_runs),
        }
    }
}

impl Default for LogLimits {
    fn default() -> Self {
        LogLimits {
            max_run: 16 << 20,
            max_total: 512 << 20,
            max_age: Duration::from_secs(30 * 24 * 3600),
            max_runs: 1000,
        }
    }
}

/// Where run logs go and how much they keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LogSetup {
    /// `logs/` in the data directory.
    pub(crate) dir: PathBuf,
    pub(crate) limits: LogLimits,
}

impl LogSetup {
    pub(crate) fn new(data_dir: &Path, limits: LogLimits) -> LogSetup {
        LogSetup { dir: data_dir.join("logs"), limits }
    }

    pub(crate) fn path(&self, session: SessionId) -> PathBuf {
        self.dir.join(format!("{session}.log"))
    }
}

/// Which stream a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stream {
    Out,
    Err,
    /// synccenter's own note.
    Note,
}

impl Stream {
    fn tag(self) -> &'static str {
        match self {
            Stream::Out => "out",
            Stream::Err => "err",
            Stream::Note => "---",
        }
    }
}

/// What a run logs to: one item of one session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LogTarget {
    pub(crate) setup: LogSetup,
    pub(crate) session: SessionId,
    pub(crate) item: String,
}

/// One item's part of a run's log, open for writing. A log that cannot be written is logged once and then
/// left alone: a full disk must not fail the run.
#[derive(Debug)]
pub(crate) struct RunLog {
    file: Option<File>,
    item: String,
    buf: Vec<u8>,
    written: u64,
    head_budget: u64,
    tail_budget: usize,
    /// Past the head budget: lines go to `tail`.
    over: bool,
    tail: VecDeque<Vec<u8>>,
    tail_bytes: usize,
    left_out_lines: u64,
    left_out_bytes: u64,
}

impl RunLog {
    /// Opens (or appends to) the run's log; without a target, or when the file cannot be opened, nothing is
    /// written.
    pub(crate) fn open(target: Option<&LogTarget>) -> RunLog {
        let (file, written, limits, item) = match target {
            Some(t) => match open_file(&t.setup, t.session) {
                Ok((file, len)) => (Some(file), len, t.setup.limits, t.item.clone()),
                Err(e) => {
                    tracing::warn!(session = %t.session, error = %e, "cannot write the run's log");
                    (None, 0, t.setup.limits, t.item.clone())
                }
            },
            None => (None, 0, LogLimits::default(), String::new()),
        };
        let tail_budget = (limits.max_run / 16).min(MAX_TAIL_BYTES);
        RunLog {
            file,
            item,
            buf: Vec::new(),
            written,
            head_budget: limits.max_run - tail_budget,
            tail_budget: usize::try_from(tail_budget).unwrap_or(usize::MAX),
            over: false,
            tail: VecDeque::new(),
            tail_bytes: 0,
            left_out_lines: 0,
            left_out_bytes: 0,
        }
    }

    /// One line the command printed (or a note); `cut` when the line was longer than the supervisor keeps.
    pub(crate) fn line(&mut self, stream: Stream, text: &str, cut: bool) {
        if self.file.is_none() {
            return;
        }
        let record = self.record(stream, text);
        self.keep(record);
        if cut {
            let note = format!("the line above was longer than {MAX_TEXT_BYTES} bytes: the rest of it was not kept");
            let record = self.record(Stream::Note, &note);
            self.keep(record);
        }
    }

    /// synccenter's own note about the run.
    pub(crate) fn note(&mut self, text: &str) {
        self.line(Stream::Note, text, false);
    }

    fn record(&self, stream: Stream, text: &str) -> Vec<u8> {
        let text = clean(text);
        let time = convert::ts(SystemClock.now());
        format!("{time} {} {}\t{text}\n", stream.tag(), self.item).into_bytes()
    }

    fn keep(&mut self, record: Vec<u8>) {
        if !self.over && self.written + (record.len() as u64) <= self.head_budget {
            self.written += record.len() as u64;
            self.buf.extend_from_slice(&record);
            return;
        }
        if !self.over {
            self.over = true;
            let note = format!(
                "this run's log reached {} bytes: lines are left out from here, and the last ones follow at its end",
                self.head_budget
            );
            let note = self.record(Stream::Note, &note);
            self.written += note.len() as u64;
            self.buf.extend_from_slice(&note);
        }
        self.tail_bytes += record.len();
        self.tail.push_back(record);
        while self.tail_bytes > self.tail_budget
            && let Some(old) = self.tail.pop_front()
        {
            self.tail_bytes -= old.len();
            self.left_out_lines += 1;
            self.left_out_bytes += old.len() as u64;
        }
    }

    /// Writes what the lines so far produced (after every chunk read, so that a follower sees them).
    pub(crate) fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        if let Some(file) = &mut self.file
            && let Err(e) = file.write_all(&self.buf)
        {
            tracing::warn!(error = %e, "cannot write the run's log; the rest of it is not kept");
            self.file = None;
        }
        self.buf.clear();
    }

    /// The end of the item's part: what was left out, the kept tail, and `last` (how the command ended).
    pub(crate) fn finish(&mut self, last: &str) {
        if self.over && self.left_out_lines > 0 {
            let note = format!(
                "{} lines ({} bytes) were left out; the last lines follow",
                self.left_out_lines, self.left_out_bytes
            );
            let note = self.record(Stream::Note, &note);
            self.buf.extend_from_slice(&note);
        }
        for record in std::mem::take(&mut self.tail) {
            self.buf.extend_from_slice(&record);
        }
        self.tail_bytes = 0;
        let last = self.record(Stream::Note, last);
        self.buf.extend_from_slice(&last);
        self.flush();
    }
}

fn open_file(setup: &LogSetup, session: SessionId) -> io::Result<(File, u64)> {
    std::fs::create_dir_all(&setup.dir)?;
    let path = setup.path(session);
    let file = match synccenter_platform::fs::create_new_private(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let f = OpenOptions::new().append(true).open(&path)?;
            synccenter_platform::fs::check_private(&f.metadata()?).map_err(io::Error::other)?;
            f
        }
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    Ok((file, len))
}

/// `text` as a log keeps it: control characters but tab as U+FFFD (the supervisor already decoded it lossily),
/// at most [`MAX_TEXT_BYTES`] bytes (cut at a character boundary).
fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_TEXT_BYTES));
    for c in text.chars() {
        let c = if c.is_control() && c != '\t' { char::REPLACEMENT_CHARACTER } else { c };
        if out.len() + c.len_utf8() > MAX_TEXT_BYTES {
            break;
        }
        out.push(c);
    }
    out
}

/// Removes logs older than the age bound, then the oldest while all logs together exceed the total bound or
/// there are more than the count bound; `keep` (the log of the run starting now) stays and counts. Returns how
/// many were removed.
pub(crate) fn prune(setup: &LogSetup, keep: SessionId) -> usize {
    let Ok(entries) = std::fs::read_dir(&setup.dir) else { return 0 };
    let keep = setup.path(keep);
    let now = SystemTime::now();
    let mut logs: Vec<(SystemTime, u64, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            Some((meta.modified().unwrap_or(now), meta.len(), e.path()))
        })
        .collect();
    let mut total: u64 = logs.iter().map(|l| l.1).sum();
    logs.retain(|l| l.2 != keep);
    // The new run's log counts, whether or not it was written yet.
    let mut count = logs.len() + 1;
    logs.sort();
    let mut removed = 0;
    for (modified, len, path) in logs {
        let old = now.duration_since(modified).is_ok_and(|age| age > setup.limits.max_age);
        let too_many = count > usize::try_from(setup.limits.max_runs).unwrap_or(usize::MAX);
        if !old && total <= setup.limits.max_total && !too_many {
            continue;
        }
        match std::fs::remove_file(&path) {
            Ok(()) => {
                total -= len;
                count -= 1;
                removed += 1;
            }
            Err(e) => tracing::warn!(path = %path.display(), error = %e, "cannot remove an old run log"),
        }
    }
    removed
}

/// A page of a log.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Page {
    pub(crate) text: String,
    pub(crate) next_offset: u64,
    /// `next_offset` is the end of the file as it was read.
    pub(crate) at_end: bool,
}

/// Why a page could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    #[error("no log")]
    Missing,
    #[error("offset {offset} is past the end of the log ({len} bytes)")]
    PastEnd { offset: u64, len: u64 },
    #[error("cannot read the log: {0}")]
    Io(#[from] io::Error),
}

/// Reads whole lines from `offset`, at most `limit` bytes of the file (more when its first line is longer),
/// keeping those of `item` when one is named.
pub(crate) fn read(path: &Path, item: Option<&str>, offset: u64, limit: usize) -> Result<Page, ReadError> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(ReadError::Missing),
        Err(e) => return Err(e.into()),
    };
    let len = file.metadata()?.len();
    if offset > len {
        return Err(ReadError::PastEnd { offset, len });
    }
    file.seek(SeekFrom::Start(offset))?;
    let want = usize::try_from(len - offset).unwrap_or(usize::MAX).min(limit.max(MAX_RECORD_BYTES));
    let mut buf = Vec::with_capacity(want);
    file.take(want as u64).read_to_end(&mut buf)?;
    // Whole lines only, within `limit` unless the first line alone is longer.
    let within = &buf[..buf.len().min(limit)];
    let end = match within.iter().rposition(|&b| b == b'\n') {
        Some(i) => i + 1,
        None => buf.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1),
    };
    let whole = &buf[..end];
    let text = String::from_utf8_lossy(whole);
    let text = match item {
        None => text.into_owned(),
        Some(item) => text.split_inclusive('\n').filter(|l| line_item(l) == Some(item)).collect(),
    };
    let next_offset = offset + end as u64;
    Ok(Page { text, next_offset, at_end: next_offset == len })
}

/// The item a log line names.
fn line_item(line: &str) -> Option<&str> {
    let (head, _) = line.split_once('\t')?;
    let mut parts = head.splitn(3, ' ');
    let (_time, _stream) = (parts.next()?, parts.next()?);
    parts.next()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(dir: &Path, max_run: u64) -> LogSetup {
        LogSetup::new(dir, LogLimits { max_run, ..LogLimits::default() })
    }

    fn target(setup: &LogSetup, item: &str) -> LogTarget {
        LogTarget { setup: setup.clone(), session: SessionId(uuid_v4::Uuid::from_u128(7)), item: item.into() }
    }

    fn texts(page: &str) -> Vec<String> {
        page.lines().map(|l| l.split_once('\t').expect("a tab").1.to_owned()).collect()
    }

    #[test]
    fn lines_are_kept_cleaned_and_read_back_per_item() {
        let dir = tempfile::tempdir().expect("tempdir");
        let setup = setup(dir.path(), 1 << 20);
        let mut a = RunLog::open(Some(&target(&setup, "a b")));
        a.line(Stream::Out, "hello\tworld", false);
        a.line(Stream::Err, "bell\u{7} esc\u{1b}[31m", true);
        a.finish("ended");
        let mut b = RunLog::open(Some(&target(&setup, "b")));
        b.line(Stream::Out, "other", false);
        b.finish("ended");
        let path = setup.path(SessionId(uuid_v4::Uuid::from_u128(7)));
        let all = read(&path, None, 0, 1 << 20).expect("read");
        assert!(all.at_end);
        assert_eq!(all.text.lines().count(), 6, "{}", all.text);
        let page = read(&path, Some("a b"), 0, 1 << 20).expect("read");
        let want = [
            "hello\tworld".to_owned(),
            "bell\u{fffd} esc\u{fffd}[31m".to_owned(),
            format!("the line above was longer than {MAX_TEXT_BYTES} bytes: the rest of it was not kept"),
            "ended".to_owned(),
        ];
        assert_eq!(texts(&page.text), want);
        assert!(page.text.lines().nth(1).is_some_and(|l| l.contains(" err a b\t")), "{}", page.text);
        // Paging: a small limit gives whole lines and continues where it stopped.
        let first = read(&path, None, 0, 10).expect("read");
        assert_eq!(first.text.lines().count(), 1);
        let rest = read(&path, None, first.next_offset, 1 << 20).expect("read");
        assert_eq!(format!("{}{}", first.text, rest.text), all.text);
        assert!(matches!(read(&path, None, all.next_offset + 1, 10), Err(ReadError::PastEnd { .. })));
        assert!(matches!(read(&dir.path().join("none.log"), None, 0, 10), Err(ReadError::Missing)));
    }

    #[test]
    fn a_run_over_its_cap_keeps_its_head_and_its_last_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let setup = setup(dir.path(), 64 * 1024);
        let mut log = RunLog::open(Some(&target(&setup, "i")));
        for n in 0..10_000 {
            log.line(Stream::Out, &format!("line {n}"), false);
            log.flush();
        }
        log.finish("ended");
        let path = setup.path(SessionId(uuid_v4::Uuid::from_u128(7)));
        let len = std::fs::metadata(&path).expect("log").len();
        assert!(len <= 64 * 1024 + 1024, "{len}");
        let page = read(&path, None, 0, 1 << 20).expect("read");
        let texts = texts(&page.text);
        assert_eq!(texts[0], "line 0");
        assert!(texts.iter().any(|t| t.ends_with("the last ones follow at its end")), "{texts:?}");
        assert!(texts.iter().any(|t| t.contains("were left out")), "{texts:?}");
        assert_eq!(texts[texts.len() - 2], "line 9999");
        assert!(!texts.contains(&"line 5000".to_owned()));
    }

    #[test]
    fn retention_removes_the_oldest_past_the_total_and_keeps_the_new_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut setup = setup(dir.path(), 1 << 20);
        setup.limits.max_total = 2500;
        std::fs::create_dir_all(&setup.dir).expect("dir");
        let ids: Vec<SessionId> = (1..=4).map(|n| SessionId(uuid_v4::Uuid::from_u128(n))).collect();
        for (n, id) in ids.iter().enumerate() {
            let file = File::create(setup.path(*id)).expect("create");
            file.set_len(1000).expect("size");
            let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000 + n as u64);
            file.set_modified(at).expect("mtime");
        }
        // The oldest go first; the run starting now (`ids[0]`, oldest of all) stays.
        setup.limits.max_age = Duration::from_secs(100 * 365 * 24 * 3600);
        assert_eq!(prune(&setup, ids[0]), 2);
        assert!(setup.path(ids[0]).exists() && !setup.path(ids[1]).exists() && !setup.path(ids[2]).exists());
        assert!(setup.path(ids[3]).exists());
        setup.limits.max_age = Duration::ZERO;
        assert_eq!(prune(&setup, ids[0]), 1, "past the age bound");
        assert!(setup.path(ids[0]).exists());
    }

    #[test]
    fn retention_keeps_at_most_max_runs_logs_the_newest_and_the_new_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut setup = setup(dir.path(), 1 << 20);
        setup.limits.max_runs = 3;
        std::fs::create_dir_all(&setup.dir).expect("dir");
        let ids: Vec<SessionId> = (1..=6).map(|n| SessionId(uuid_v4::Uuid::from_u128(n))).collect();
        for (n, id) in ids.iter().enumerate() {
            let file = File::create(setup.path(*id)).expect("create");
            let at = SystemTime::now() - Duration::from_secs(600 - n as u64);
            file.set_modified(at).expect("mtime");
        }
        // Six logs, three kept: the run starting now (the oldest file) and the two newest.
        assert_eq!(prune(&setup, ids[0]), 3);
        let left: Vec<bool> = ids.iter().map(|id| setup.path(*id).exists()).collect();
        assert_eq!(left, [true, false, false, false, true, true]);
        assert_eq!(prune(&setup, ids[0]), 0, "nothing more to remove");
    }
}
