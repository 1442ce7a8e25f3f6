//! The one line framer: every reader of lines in synccenter (the client's codec, the daemon's connections, the
//! supervisor's reading of a child's output) splits its bytes here, so there is one framing logic to test and
//! fuzz.
//!
//! It works in place on the caller's buffer: a frame borrows its bytes (no copy, no allocation per line), and a
//! pass reports how many bytes it used so that the caller advances its buffer afterwards. A line longer than the
//! limit is a frame, not an error, because the protocol requires that the connection survive it; the rest of it
//! is discarded as it arrives, so nothing is buffered beyond the limit. Bytes already searched for a terminator
//! are never searched again, however the line trickles in.

use std::ops::Range;

use bytes::{Buf, BytesMut};

/// One line, borrowed from the buffer it was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineFrame<'a> {
    /// A line within the limit, without its terminator (without `\r` splitting, a `\r` before the `\n` is kept).
    Line(&'a [u8]),
    /// A line longer than the limit ended (or the input did, inside it); its bytes were discarded.
    TooLong,
    /// Only from a [truncating](LineFramer::truncating) framer: the first `max` bytes of a line longer than the
    /// limit, given as soon as the line passes the limit; the rest of the line is discarded silently.
    Truncated(&'a [u8]),
}

/// A frame found by [`LineFramer::step`], as positions in the bytes it was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Found {
    Line(Range<usize>),
    TooLong,
    Truncated(Range<usize>),
}

impl Found {
    #[inline]
    fn resolve(self, buf: &[u8]) -> LineFrame<'_> {
        match self {
            Found::Line(r) => LineFrame::Line(&buf[r]),
            Found::TooLong => LineFrame::TooLong,
            Found::Truncated(r) => LineFrame::Truncated(&buf[r]),
        }
    }
}

/// Splits bytes into lines of at most `max` bytes, ended by `\n` (and by `\r` when [splitting on
/// it](LineFramer::split_cr)). It holds no bytes, only where it is in the line in progress: the caller keeps
/// the buffer and gives the framer its unconsumed bytes (those after what the last pass consumed) each time.
#[derive(Clone, Debug)]
pub struct LineFramer {
    max: usize,
    split_cr: bool,
    truncate: bool,
    /// Bytes at the front of the unconsumed input already searched, so that a search never rescans.
    scanned: usize,
    /// Inside an over-long line whose end has not arrived yet.
    discarding: bool,
    /// The last line ended with `\r`: a `\n` right after it belongs to it.
    after_cr: bool,
}

impl LineFramer {
    /// A framer of `\n`-ended lines of at most `max` bytes; a longer line is [`LineFrame::TooLong`] when it ends.
    pub fn new(max: usize) -> Self {
        Self { max, split_cr: false, truncate: false, scanned: 0, discarding: false, after_cr: false }
    }

    /// Also ends a line at `\r` (progress that a tool redraws in place); `\r\n` ends one line, not two.
    #[must_use]
    pub fn split_cr(mut self) -> Self {
        self.split_cr = true;
        self
    }

    /// Gives the head of an over-long line as [`LineFrame::Truncated`] instead of reporting [`LineFrame::TooLong`].
    #[must_use]
    pub fn truncating(mut self) -> Self {
        self.truncate = true;
        self
    }

    /// The longest line given whole.
    pub fn max(&self) -> usize {
        self.max
    }

    /// True while a line has begun and not ended: after a pass that ran to its end, the bytes it left
    /// unconsumed are the start of a line, or the rest of an over-long line is being discarded.
    pub fn line_in_progress(&self) -> bool {
        self.scanned > 0 || self.discarding
    }

    /// True while the rest of an over-long line is being discarded (a line has begun and not ended although
    /// nothing of it is buffered).
    pub fn is_discarding(&self) -> bool {
        self.discarding
    }

    /// Forgets the line in progress; the caller drops its unconsumed bytes too.
    pub fn reset(&mut self) {
        self.scanned = 0;
        self.discarding = false;
        self.after_cr = false;
    }

    /// The frames at the front of `buf`, the caller's unconsumed bytes; `eof` when no more will come (an
    /// unterminated last line then counts). After the frames, [`Frames::consumed`] says how many bytes to
    /// advance past.
    pub fn frames<'a, 'f>(&'f mut self, buf: &'a [u8], eof: bool) -> Frames<'a, 'f> {
        Frames { framer: self, buf, at: 0, eof }
    }

    #[inline]
    fn find(&self, bytes: &[u8]) -> Option<usize> {
        if self.split_cr { memchr::memchr2(b'\n', b'\r', bytes) } else { memchr::memchr(b'\n', bytes) }
    }

    /// The next frame at the front of `buf` and how many bytes it consumed; `None` when the bytes left are
    /// the start of a line (they are then all searched) or were discarded.
    #[inline]
    pub(crate) fn step(&mut self, buf: &[u8], eof: bool) -> (usize, Option<Found>) {
        let mut at = 0;
        loop {
            let rest = &buf[at..];
            if self.after_cr && !rest.is_empty() {
                self.after_cr = false;
                if rest[0] == b'\n' {
                    at += 1;
                    continue;
                }
            }
            // A caller that dropped bytes it was not told to (without `reset`) gets its bytes searched again
            // rather than a panic.
            let from = if self.scanned <= rest.len() { self.scanned } else { 0 };
            let Some(pos) = self.find(&rest[from..]) else {
                return self.unterminated(buf, at, eof);
            };
            let end = from + pos;
            self.scanned = 0;
            self.after_cr = self.split_cr && rest[end] == b'\r';
            let line = at..at + end;
            at += end + 1;
            if std::mem::take(&mut self.discarding) {
                if self.truncate {
                    // Its head was given when it passed the limit.
                    continue;
                }
                return (at, Some(Found::TooLong));
            }
            return (at, Some(self.whole(line)));
        }
    }

    /// A line that ended: itself, or the over-long frame.
    #[inline]
    fn whole(&self, line: Range<usize>) -> Found {
        if line.len() <= self.max {
            Found::Line(line)
        } else if self.truncate {
            Found::Truncated(line.start..line.start + self.max)
        } else {
            Found::TooLong
        }
    }

    /// No terminator in `buf[at..]`: keep it as the line in progress, discard it, or end it at end of input.
    fn unterminated(&mut self, buf: &[u8], at: usize, eof: bool) -> (usize, Option<Found>) {
        let rest = buf.len() - at;
        if eof {
            self.scanned = 0;
            if std::mem::take(&mut self.discarding) {
                return (buf.len(), (!self.truncate).then_some(Found::TooLong));
            }
            return (buf.len(), (rest > 0).then(|| self.whole(at..buf.len())));
        }
        if self.discarding {
            self.scanned = 0;
            return (buf.len(), None);
        }
        if rest > self.max {
            self.scanned = 0;
            self.discarding = true;
            return (buf.len(), self.truncate.then(|| Found::Truncated(at..at + self.max)));
        }
        self.scanned = rest;
        (at, None)
    }
}

/// The frames of one pass over a buffer (see [`LineFramer::frames`]).
#[derive(Debug)]
pub struct Frames<'a, 'f> {
    framer: &'f mut LineFramer,
    buf: &'a [u8],
    at: usize,
    eof: bool,
}

impl Frames<'_, '_> {
    /// How many bytes at the front of the buffer the frames so far used (or discarded): the caller advances
    /// past them when done. The bytes after them stay buffered, as the start of the line in progress.
    pub fn consumed(&self) -> usize {
        self.at
    }
}

impl<'a> Iterator for Frames<'a, '_> {
    type Item = LineFrame<'a>;

    #[inline]
    fn next(&mut self) -> Option<LineFrame<'a>> {
        let from = self.at;
        let (used, found) = self.framer.step(&self.buf[from..], self.eof);
        self.at += used;
        found.map(|f| f.resolve(&self.buf[from..]))
    }
}

/// A read buffer with its framer: what the daemon frames each connection's input with (and the fuzz target
/// and the property tests drive), so that all of them run the same function.
#[derive(Debug)]
pub struct LineBuffer {
    buf: BytesMut,
    framer: LineFramer,
}

impl LineBuffer {
    /// An empty buffer of `capacity` bytes framed by `framer`.
    pub fn new(framer: LineFramer, capacity: usize) -> Self {
        Self { buf: BytesMut::with_capacity(capacity), framer }
    }

    /// The buffer, to read into (append only: the framer remembers how much of it it has searched).
    pub fn buf_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Bytes buffered and not yet framed: at most the limit (plus what was appended since the last pass).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// See [`LineFramer::line_in_progress`].
    pub fn line_in_progress(&self) -> bool {
        self.framer.line_in_progress()
    }

    /// A pass over the frames now buffered; at `eof` also the unterminated last line. The bytes of the frames
    /// taken go when the pass ends (is dropped), however it ends.
    pub fn pass(&mut self, eof: bool) -> Pass<'_> {
        Pass { buf: &mut self.buf, framer: &mut self.framer, at: 0, eof, frames: 0 }
    }

    /// Gives every frame now buffered to `each`, in order, and drops their bytes; at `eof` also the
    /// unterminated last line. Returns how many frames there were.
    pub fn drain(&mut self, eof: bool, mut each: impl FnMut(LineFrame<'_>)) -> usize {
        let mut pass = self.pass(eof);
        while let Some(frame) = pass.next_frame() {
            each(frame);
        }
        pass.frames()
    }

    /// Forgets the line in progress and every byte buffered.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.framer.reset();
    }
}

/// One pass over a [`LineBuffer`]: its frames one at a time, each borrowed from the buffer until the next is
/// asked for, so that a caller may wait between them (the daemon waits for room in the hub's queue).
#[derive(Debug)]
pub struct Pass<'b> {
    buf: &'b mut BytesMut,
    framer: &'b mut LineFramer,
    at: usize,
    eof: bool,
    frames: usize,
}

impl Pass<'_> {
    /// The next frame, or `None` when the bytes left are the start of a line (or none are left).
    #[inline]
    pub fn next_frame(&mut self) -> Option<LineFrame<'_>> {
        let from = self.at;
        let (used, found) = self.framer.step(&self.buf[from..], self.eof);
        self.at += used;
        let frame = found?.resolve(&self.buf[from..]);
        self.frames += 1;
        Some(frame)
    }

    /// How many frames the pass gave so far.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// See [`LineFramer::line_in_progress`] (true after the last frame when a line is left unfinished).
    pub fn line_in_progress(&self) -> bool {
        self.framer.line_in_progress()
    }
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        self.buf.advance(self.at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The frames of `chunks` fed one by one, then end of input, as owned bytes (`None` for `TooLong`).
    fn frames(framer: LineFramer, chunks: &[&[u8]]) -> Vec<Option<Vec<u8>>> {
        let mut lb = LineBuffer::new(framer, 16);
        let mut out = Vec::new();
        let mut push = |f: LineFrame<'_>| {
            out.push(match f {
                LineFrame::Line(l) => Some(l.to_vec()),
                LineFrame::Truncated(l) => Some([b"T:", l].concat()),
                LineFrame::TooLong => None,
            });
        };
        for c in chunks {
            lb.buf_mut().extend_from_slice(c);
            lb.drain(false, &mut push);
            assert!(lb.buffered() <= lb.framer.max(), "buffered {} bytes", lb.buffered());
        }
        lb.drain(true, &mut push);
        assert_eq!(lb.buffered(), 0);
        assert!(!lb.line_in_progress());
        out
    }

    fn some(s: &str) -> Option<Vec<u8>> {
        Some(s.as_bytes().to_vec())
    }

    #[test]
    fn splits_lines_and_survives_an_over_long_one() {
        let got = frames(LineFramer::new(8), &[b"abc\nlonglonglong", b"long\nok\n", b"tail"]);
        assert_eq!(got, [some("abc"), None, some("ok"), some("tail")]);
        let got = frames(LineFramer::new(8), &[b"abc\n", b"longlonglong"]);
        assert_eq!(got, [some("abc"), None], "an over-long unterminated last line");
    }

    #[test]
    fn the_limit_is_exact() {
        assert_eq!(frames(LineFramer::new(4), &[b"abcd\n"]), [some("abcd")]);
        assert_eq!(frames(LineFramer::new(4), &[b"abcde\n"]), [None]);
        assert_eq!(frames(LineFramer::new(4), &[b"abcd", b"e\n"]), [None]);
        assert_eq!(frames(LineFramer::new(4), &[b"ab", b"cd", b"\n"]), [some("abcd")]);
    }

    #[test]
    fn cr_splitting_treats_crlf_as_one_end_even_across_chunks() {
        let f = || LineFramer::new(8).split_cr();
        assert_eq!(frames(f(), &[b"a\rb\r", b"\nc\n", b"\r\n"]), [some("a"), some("b"), some("c"), some("")]);
        assert_eq!(frames(f(), &[b"a\r", b"", b"\nb"]), [some("a"), some("b")]);
        assert_eq!(frames(LineFramer::new(8), &[b"x\ry\r\nz"]), [some("x\ry\r"), some("z")]);
    }

    #[test]
    fn truncating_gives_the_head_once() {
        let f = || LineFramer::new(8).split_cr().truncating();
        let got = frames(f(), &[b"c\n0123456789", b"abc\nd"]);
        assert_eq!(got, [some("c"), some("T:01234567"), some("d")]);
        assert_eq!(frames(f(), &[b"0123456789abc\rz"]), [some("T:01234567"), some("z")]);
        assert_eq!(frames(f(), &[b"0123456", b"789"]), [some("T:01234567")]);
    }

    #[test]
    fn a_line_in_progress_is_reported() {
        let mut lb = LineBuffer::new(LineFramer::new(4), 16);
        lb.buf_mut().extend_from_slice(b"ab\nc");
        assert_eq!(lb.drain(false, |_| {}), 1);
        assert!(lb.line_in_progress());
        lb.buf_mut().extend_from_slice(b"\n");
        assert_eq!(lb.drain(false, |_| {}), 1);
        assert!(!lb.line_in_progress());
        lb.buf_mut().extend_from_slice(b"abcdefg");
        assert_eq!(lb.drain(false, |_| {}), 0);
        assert!(lb.line_in_progress() && lb.buffered() == 0, "discarding is a line in progress");
    }

    #[test]
    fn a_pass_ended_early_keeps_the_frames_it_did_not_give() {
        let mut lb = LineBuffer::new(LineFramer::new(8), 16);
        lb.buf_mut().extend_from_slice(b"a\nb\nc");
        let mut pass = lb.pass(false);
        assert_eq!(pass.next_frame(), Some(LineFrame::Line(b"a")));
        assert_eq!(pass.frames(), 1);
        drop(pass);
        assert_eq!(lb.buffered(), 3, "only the given line's bytes went");
        let mut rest = Vec::new();
        lb.drain(true, |f| rest.push(format!("{f:?}")));
        assert_eq!(rest, ["Line([98])", "Line([99])"]);
    }

    #[test]
    fn a_trickled_line_is_searched_once() {
        let mut framer = LineFramer::new(1 << 20);
        let mut buf = Vec::new();
        for _ in 0..100 {
            buf.push(b'x');
            assert_eq!(framer.frames(&buf, false).count(), 0);
            assert_eq!(framer.scanned, buf.len(), "every byte buffered was searched, and only once");
        }
    }

    #[test]
    fn a_pass_of_frames_says_how_many_bytes_it_used() {
        let mut framer = LineFramer::new(8);
        let buf = b"a\nbc\r\nde";
        let mut frames = framer.frames(buf, false);
        assert_eq!(frames.consumed(), 0);
        assert_eq!(frames.next(), Some(LineFrame::Line(b"a")));
        assert_eq!(frames.consumed(), 2);
        assert_eq!(frames.next(), Some(LineFrame::Line(b"bc\r")));
        assert_eq!(frames.consumed(), 6);
        assert_eq!(frames.next(), None, "`de` is the line in progress");
        assert_eq!(frames.consumed(), 6);
        // The caller advances past them; the line in progress then ends at end of input.
        let mut frames = framer.frames(&buf[6..], true);
        assert_eq!((frames.next(), frames.consumed()), (Some(LineFrame::Line(b"de")), 2));
        assert_eq!(frames.next(), None);
    }

    #[test]
    fn discarding_lasts_from_the_limit_to_the_line_s_end() {
        let mut framer = LineFramer::new(4);
        assert!(!framer.is_discarding());
        let mut frames = framer.frames(b"ab\nabcdef", false);
        assert_eq!(frames.next(), Some(LineFrame::Line(b"ab")));
        assert_eq!((frames.next(), frames.consumed()), (None, 9), "the over-long line's bytes are dropped");
        assert!(framer.is_discarding());
        assert_eq!(framer.frames(b"gh", false).count(), 0);
        assert!(framer.is_discarding(), "still inside the over-long line");
        let mut frames = framer.frames(b"i\nj", false);
        assert_eq!((frames.next(), frames.consumed()), (Some(LineFrame::TooLong), 2));
        assert!(!framer.is_discarding());
    }

    /// The frames of one pass over `buf`, at most 4 (a broken pass that never advances ends too).
    fn first_frames<'a>(framer: &mut LineFramer, buf: &'a [u8]) -> Vec<LineFrame<'a>> {
        framer.frames(buf, false).take(4).collect()
    }

    #[test]
    fn reset_forgets_the_line_in_progress() {
        // A line begun, then dropped by the caller.
        let mut framer = LineFramer::new(4);
        assert_eq!(framer.frames(b"abc", false).count(), 0);
        assert!(framer.line_in_progress());
        framer.reset();
        assert!(!framer.line_in_progress());
        // An over-long line being discarded: after `reset` the next line is a line, not the over-long one's end.
        assert_eq!(framer.frames(b"abcdef", false).count(), 0);
        framer.reset();
        assert!(!framer.is_discarding() && !framer.line_in_progress());
        assert_eq!(first_frames(&mut framer, b"xy\n"), [LineFrame::Line(b"xy")]);
        // A `\r` just ended a line: after `reset` a `\n` is an empty line of its own.
        let mut framer = LineFramer::new(4).split_cr();
        assert_eq!(first_frames(&mut framer, b"a\r"), [LineFrame::Line(b"a")]);
        framer.reset();
        assert_eq!(first_frames(&mut framer, b"\nb\n"), [LineFrame::Line(b""), LineFrame::Line(b"b")]);
    }

    #[test]
    fn clear_drops_the_bytes_and_the_line_in_progress() {
        let mut lb = LineBuffer::new(LineFramer::new(4), 16);
        lb.buf_mut().extend_from_slice(b"ab\ncd");
        assert_eq!(lb.drain(false, |_| {}), 1);
        assert_eq!(lb.buffered(), 2);
        lb.clear();
        assert!(lb.buffered() == 0 && !lb.line_in_progress());
        lb.buf_mut().extend_from_slice(b"ef\nabcdefg");
        let mut got = Vec::new();
        assert_eq!(lb.drain(false, |f| got.push(format!("{f:?}"))), 1);
        assert_eq!(got, ["Line([101, 102])"], "`cd` is gone");
        assert!(lb.line_in_progress(), "discarding");
        lb.clear();
        assert!(!lb.line_in_progress());
        lb.buf_mut().extend_from_slice(b"g\n");
        let mut got = Vec::new();
        lb.drain(false, |f| got.push(format!("{f:?}")));
        assert_eq!(got, ["Line([103])"], "not the end of the over-long line");
    }

    #[test]
    fn a_pass_tells_whether_it_left_a_line_in_progress() {
        let mut lb = LineBuffer::new(LineFramer::new(4), 16);
        lb.buf_mut().extend_from_slice(b"a\nb");
        let mut pass = lb.pass(false);
        assert!(!pass.line_in_progress(), "nothing searched yet");
        assert_eq!(pass.next_frame(), Some(LineFrame::Line(b"a")));
        assert_eq!(pass.next_frame(), None);
        assert!(pass.line_in_progress(), "`b` has begun");
        drop(pass);
        lb.buf_mut().extend_from_slice(b"\n");
        let mut pass = lb.pass(false);
        assert_eq!(pass.next_frame(), Some(LineFrame::Line(b"b")));
        assert_eq!(pass.next_frame(), None);
        assert!(!pass.line_in_progress(), "every line ended");
    }
}
