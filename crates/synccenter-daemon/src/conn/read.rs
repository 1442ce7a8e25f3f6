//! The read side of one connection, as far as it works on bytes: the input buffer, framed in place by the
//! protocol's [`LineBuffer`] (the framing the fuzz target and the property tests check), each line parsed as it
//! is taken, and the line clock. It sends nothing, so its tests drive it from bytes; [`super::serve`] queues
//! what it yields for the hub.

use std::time::Duration;

use synccenter_platform::transport::ReadHalf;
use synccenter_protocol::{LineBuffer, LineFrame, LineFramer, MAX_LINE_BYTES, Pass};
use tokio::io::AsyncReadExt;
use tokio::time::Instant;

use super::{ConnId, Parsed, parse_line, too_long_line};
use crate::calls::LastTarget;

/// How much is read from the socket at a time (an idle connection keeps a buffer of about this size).
const READ_CHUNK: usize = 8 * 1024;

/// What one read from the socket found.
pub(super) enum Read {
    /// More bytes are in the buffer.
    Bytes,
    /// The client closed its side (an unterminated last line still counts).
    End,
    /// Reading failed.
    Failed,
    /// A line was begun and not finished within the line timeout.
    TimedOut,
}

/// One connection's input: its buffer and when the line in progress (the bytes after the last whole line, or an
/// over-long line being discarded) began.
pub(super) struct Input {
    lines: LineBuffer,
    began: Option<Instant>,
    last: LastTarget,
}

impl Input {
    pub(super) fn new() -> Input {
        Input {
            lines: LineBuffer::new(LineFramer::new(MAX_LINE_BYTES), READ_CHUNK),
            began: None,
            last: LastTarget::default(),
        }
    }

    /// Reads more; while a line is in progress, only until the line timeout from its first byte. Cancel-safe
    /// (`read_buf` is): nothing read is lost when another branch of a `select!` wins.
    pub(super) async fn read(&mut self, read: &mut ReadHalf, timeout: Duration) -> Read {
        let buf = self.lines.buf_mut();
        buf.reserve(READ_CHUNK);
        let r = match self.began {
            None => read.read_buf(buf).await,
            Some(began) => tokio::select! {
                r = read.read_buf(buf) => r,
                () = tokio::time::sleep_until(began + timeout) => return Read::TimedOut,
            },
        };
        match r {
            Ok(0) => Read::End,
            Ok(_) => Read::Bytes,
            Err(e) => {
                tracing::debug!(error = %e, "read failed");
                Read::Failed
            }
        }
    }

    /// Whether the last read filled its chunk: more is waiting, the connection has a backlog.
    pub(super) fn has_backlog(&mut self) -> bool {
        self.lines.buf_mut().len() >= READ_CHUNK
    }

    /// The whole lines buffered (at `eof` also an unterminated last one), each parsed in place as it is taken.
    pub(super) fn lines(&mut self, conn: ConnId, eof: bool) -> Lines<'_> {
        Lines { pass: self.lines.pass(eof), began: &mut self.began, last: &mut self.last, conn }
    }
}

/// One pass over a connection's buffered lines. When it ends, the lines' bytes go and the line clock is set:
/// it runs from the first byte of a line in progress, and not at all between lines.
pub(super) struct Lines<'a> {
    pass: Pass<'a>,
    began: &'a mut Option<Instant>,
    last: &'a mut LastTarget,
    conn: ConnId,
}

impl Lines<'_> {
    /// What the next whole line amounts to, or `None` when none is left.
    pub(super) fn next_parsed(&mut self) -> Option<Parsed> {
        Some(match self.pass.next_frame()? {
            LineFrame::Line(line) => parse_line(line, self.conn, self.last),
            LineFrame::TooLong | LineFrame::Truncated(_) => Parsed::Reply(too_long_line()),
        })
    }
}

impl Drop for Lines<'_> {
    fn drop(&mut self) {
        let in_progress = self.pass.line_in_progress();
        if self.pass.frames() > 0 || !in_progress {
            *self.began = None;
        }
        if in_progress && self.began.is_none() {
            *self.began = Some(Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// What `data` read in pieces ending at `cuts`, then at end of input, amounts to (one entry per line), and
    /// whether the line clock ran after each read.
    fn run(data: &[u8], cuts: &[usize]) -> (Vec<String>, Vec<bool>) {
        let mut input = Input::new();
        let (mut out, mut clock) = (Vec::new(), Vec::new());
        let mut at = 0;
        for cut in cuts.iter().copied().chain([data.len()]) {
            input.lines.buf_mut().extend_from_slice(&data[at..cut]);
            at = cut;
            take(&mut input, false, &mut out);
            assert!(input.lines.buffered() <= MAX_LINE_BYTES);
            clock.push(input.began.is_some());
        }
        take(&mut input, true, &mut out);
        assert!(input.began.is_none() && input.lines.buffered() == 0);
        (out, clock)
    }

    fn take(input: &mut Input, eof: bool, out: &mut Vec<String>) {
        let mut lines = input.lines(1, eof);
        while let Some(parsed) = lines.next_parsed() {
            out.push(match parsed {
                Parsed::Progress(p) => format!("progress {p:?}"),
                Parsed::Call(id, call) => format!("call {id:?} {call:?}"),
                Parsed::Reply(line) => format!("reply {line}"),
                Parsed::Nothing => "nothing".to_owned(),
            });
        }
    }

    fn kinds(out: &[String]) -> Vec<&str> {
        out.iter().map(|l| l.split(' ').next().unwrap_or_default()).collect()
    }

    const SESSION: &str = "6f1c1a34-1d6b-4c59-9d0c-8d8a2c1e5b01";

    fn progress(n: u32) -> String {
        format!(
            r#"{{"jsonrpc":"2.0","method":"session.report_progress","params":{{"session":"{SESSION}","item":"i{n}","status":"updating","step":{n}}}}}"#
        )
    }

    fn mixed() -> Vec<u8> {
        let lines = [
            progress(1),
            String::new(),
            r#"{"jsonrpc":"2.0","id":7,"method":"status"}"#.to_owned(),
            "not json".to_owned(),
            progress(2),
            "x".repeat(MAX_LINE_BYTES + 1),
            progress(3) + "\r",
            r#"{"jsonrpc":"2.0","id":8,"method":"no.such.method"}"#.to_owned(),
            progress(4),
        ];
        // The last line is left unterminated.
        lines.join("\n").into_bytes()
    }

    #[test]
    fn lines_come_out_in_order_whatever_the_reads() {
        let data = mixed();
        let (one, _) = run(&data, &[]);
        let want = ["progress", "nothing", "call", "reply", "progress", "reply", "progress", "reply", "progress"];
        assert_eq!(kinds(&one), want, "{one:#?}");
        assert!(one[5].contains(&format!("longer than {MAX_LINE_BYTES} bytes")), "{}", one[5]);
        assert!(one[8].contains("i4"), "the unterminated last line counts: {}", one[8]);
        let len = data.len();
        let splits: [Vec<usize>; 5] =
            [vec![1], vec![len / 2], vec![len - 1], (1..len).step_by(997).collect(), (1..len).step_by(8192).collect()];
        for cuts in splits {
            assert_eq!(run(&data, &cuts).0, one, "reads ending at {cuts:?}");
        }
    }

    #[test]
    fn every_split_of_a_short_input_gives_the_same_lines() {
        let data = format!("{}\r\n\n{{\"jsonrpc\":\"2.0\",\"id\":1}}\n{}", progress(1), progress(2)).into_bytes();
        let (one, _) = run(&data, &[]);
        assert_eq!(kinds(&one), ["progress", "nothing", "reply", "progress"], "{one:#?}");
        for a in 0..=data.len() {
            for b in (a..=data.len()).step_by(7) {
                assert_eq!(run(&data, &[a, b]).0, one, "reads ending at {a} and {b}");
            }
        }
    }

    #[test]
    fn the_line_clock_runs_only_inside_a_line() {
        let line = progress(1) + "\n";
        let long = "y".repeat(MAX_LINE_BYTES + 10);
        let data = format!("{line}{long}\n{line}");
        let half = line.len() / 2;
        let over = line.len() + MAX_LINE_BYTES + 5;
        let cuts = [half, line.len(), line.len() + 3, over, data.len() - line.len(), data.len() - 2];
        let (_, clock) = run(data.as_bytes(), &cuts);
        assert_eq!(clock, [true, false, true, true, false, true, false]);
    }

    proptest::proptest! {
        /// The daemon's read path, fed the same bytes in random chunks, yields what one big read yields.
        #[test]
        fn random_chunkings_read_like_one_big_read(
            picks in proptest::collection::vec(0usize..6, 0..24),
            cuts in proptest::collection::vec(proptest::num::usize::ANY, 0..40),
        ) {
            let pieces = [
                progress(1),
                r#"{"jsonrpc":"2.0","id":7,"method":"status"}"#.to_owned(),
                "not json".to_owned(),
                "z".repeat(MAX_LINE_BYTES + 3),
                progress(2) + "\r",
                String::new(),
            ];
            let data = picks.iter().map(|i| pieces[*i].as_str()).collect::<Vec<_>>().join("\n").into_bytes();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (data.len() + 1)).collect();
            cuts.sort_unstable();
            proptest::prop_assert_eq!(run(&data, &cuts).0, run(&data, &[]).0);
        }
    }

    #[test]
    fn the_fuzz_corpus_reads_the_same_whatever_the_reads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/frame_decoder");
        let entries =
            std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("the corpus {} is missing: {e}", dir.display()));
        let (mut files, mut calls, mut too_long) = (0, 0, 0);
        for entry in entries {
            let data = std::fs::read(entry.expect("corpus entry").path()).expect("read a corpus file");
            let (one, _) = run(&data, &[]);
            let size = data.first().map_or(1, |b| usize::from(*b % 31) + 1);
            let cuts: Vec<usize> = (size..data.len()).step_by(size).collect();
            assert_eq!(run(&data, &cuts).0, one, "chunks of {size} bytes");
            let bytes: Vec<usize> = (1..data.len()).collect();
            assert_eq!(run(&data, &bytes).0, one, "one byte at a time");
            files += 1;
            calls += kinds(&one).iter().filter(|k| **k == "call" || **k == "progress").count();
            too_long += one.iter().filter(|l| l.contains("it was discarded")).count();
        }
        assert!(files >= 10, "the corpus has only {files} files");
        // The corpus reaches the hub and the over-long answer both.
        assert!(calls > 0 && too_long > 0, "calls {calls}, over-long lines {too_long}");
    }
}
