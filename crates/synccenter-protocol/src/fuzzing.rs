//! The line framer as one function over bytes, shared by the fuzz target (`fuzz/fuzz_targets/
//! frame_decoder.rs`, run with cargo-fuzz) and by the normal test suite, which replays every file of the
//! committed corpus (`fuzz/corpus/frame_decoder/`) through it (the daemon's tests replay it through the
//! daemon's read path as well). It panics when an invariant breaks; it never panics on any input otherwise.
//!
//! Not part of the protocol: a testing aid, kept here so that every caller runs exactly the framing of the
//! daemon ([`LineBuffer`]), the client ([`LineCodec`]) and the supervisor (a truncating framer that also splits
//! on `\r`).

use bytes::BytesMut;
use tokio_util::codec::Decoder;

use crate::{Frame, LineBuffer, LineCodec, LineFrame, LineFramer, parse_incoming};

/// What [`decode_frames`] saw, for tests that want to check more.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decoded {
    /// Complete lines within the limit.
    pub lines: usize,
    /// Over-long lines discarded.
    pub too_long: usize,
    /// Lines that parsed as a JSON-RPC message.
    pub messages: usize,
}

/// A frame with its bytes owned, so that frames of different passes and readers compare.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owned {
    /// [`LineFrame::Line`] or [`Frame::Line`].
    Line(Vec<u8>),
    /// [`LineFrame::TooLong`] or [`Frame::TooLong`].
    TooLong,
    /// [`LineFrame::Truncated`].
    Truncated(Vec<u8>),
}

impl From<LineFrame<'_>> for Owned {
    fn from(f: LineFrame<'_>) -> Owned {
        match f {
            LineFrame::Line(l) => Owned::Line(l.to_vec()),
            LineFrame::TooLong => Owned::TooLong,
            LineFrame::Truncated(l) => Owned::Truncated(l.to_vec()),
        }
    }
}

impl From<Frame> for Owned {
    fn from(f: Frame) -> Owned {
        match f {
            Frame::Line(l) => Owned::Line(l.to_vec()),
            Frame::TooLong => Owned::TooLong,
        }
    }
}

/// The frames [`LineBuffer::drain`] (the daemon's framing) gives for `data` read in pieces at `cuts` (offsets
/// into `data`, in any order, out-of-range ones wrapped), then at end of input, with a framer of limit `max`
/// that splits on `\r` too when `split_cr` and truncates when `truncate`. Panics if it buffers anything but the
/// line in progress, more than the limit, or reports the wrong line in progress.
pub fn line_buffer_frames(max: usize, split_cr: bool, truncate: bool, data: &[u8], cuts: &[usize]) -> Vec<Owned> {
    let mut framer = LineFramer::new(max);
    if split_cr {
        framer = framer.split_cr();
    }
    if truncate {
        framer = framer.truncating();
    }
    let mut lb = LineBuffer::new(framer, 64);
    let mut frames = Vec::new();
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    points.push(data.len());
    points.sort_unstable();
    let is_end = |b: &u8| *b == b'\n' || (split_cr && *b == b'\r');
    // Where the line in progress began: after the last line end read so far.
    let (mut at, mut line_start) = (0, 0);
    for p in points {
        let piece = &data[at..p];
        lb.buf_mut().extend_from_slice(piece);
        line_start = piece.iter().rposition(is_end).map_or(line_start, |i| at + i + 1);
        at = p;
        lb.drain(false, |f| frames.push(Owned::from(f)));
        // Exactly the line in progress stays buffered, or nothing once it is over the limit.
        let line = at - line_start;
        assert_eq!(lb.buffered(), if line > max { 0 } else { line }, "buffered after {at} bytes, limit {max}");
        assert_eq!(lb.line_in_progress(), line > 0, "line in progress after {at} bytes");
    }
    lb.drain(true, |f| frames.push(Owned::from(f)));
    assert!(lb.buffered() == 0 && !lb.line_in_progress(), "a line left in progress after end of input");
    frames
}

/// The frames [`LineCodec`] (the client's framing) gives for `data` in chunks of `chunk` bytes.
fn codec_frames(data: &[u8], max: usize, chunk: usize) -> Vec<Owned> {
    let mut codec = LineCodec::new(max);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for piece in data.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        // A decoder error is impossible for this codec; treat one as a broken invariant.
        while let Some(f) = codec.decode(&mut buf).expect("the line codec never errors") {
            frames.push(Owned::from(f));
        }
        assert!(buf.len() <= max, "the codec buffered {} bytes past a limit of {max}", buf.len());
    }
    while let Some(f) = codec.decode_eof(&mut buf).expect("the line codec never errors") {
        frames.push(Owned::from(f));
    }
    assert!(buf.is_empty(), "bytes left after end of input");
    frames
}

/// What the frames of `data` must be: one per terminated segment plus a non-empty tail. Segments end at `\n`,
/// and with `split_cr` also at `\r` (`\r\n` being one end); a segment longer than `max` is `TooLong`, or its
/// first `max` bytes when `truncate`.
pub fn expected(data: &[u8], max: usize, split_cr: bool, truncate: bool) -> Vec<Owned> {
    let frame = |s: &[u8]| match (s.len() > max, truncate) {
        (false, _) => Owned::Line(s.to_vec()),
        (true, false) => Owned::TooLong,
        (true, true) => Owned::Truncated(s[..max].to_vec()),
    };
    let mut out = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < data.len() {
        let b = data[i];
        if b == b'\n' || (split_cr && b == b'\r') {
            out.push(frame(&data[start..i]));
            if b == b'\r' && data.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
            start = i + 1;
        }
        i += 1;
    }
    if start < data.len() {
        out.push(frame(&data[start..]));
    }
    out
}

/// Checks every line of the default limit through [`parse_incoming`] (which must not panic and must be
/// deterministic) and counts what it saw.
fn parse_all(frames: &[Owned]) -> Decoded {
    let mut decoded = Decoded::default();
    for frame in frames {
        let line = match frame {
            Owned::Line(line) => line,
            _ => {
                decoded.too_long += 1;
                continue;
            }
        };
        decoded.lines += 1;
        assert!(line.len() <= crate::MAX_LINE_BYTES && !line.contains(&b'\n'));
        match (parse_incoming(line), parse_incoming(line)) {
            (Ok(a), Ok(b)) => {
                assert_eq!((&a.id, &a.method), (&b.id, &b.method));
                assert_eq!(a.params.map(|p| p.get()), b.params.map(|p| p.get()));
                decoded.messages += 1;
            }
            (Err(a), Err(b)) => assert_eq!(a, b),
            _ => panic!("parse_incoming is not deterministic"),
        }
    }
    decoded
}

/// Runs `data` through every framing (the daemon's [`LineBuffer`], the client's [`LineCodec`], the supervisor's
/// truncating framer that also splits on `\r`), with the default limit and a small one so that over-long lines
/// are common, in chunk sizes taken from the data itself, one byte at a time and all at once, and every line
/// through [`parse_incoming`]. Panics if framing depends on chunking or on the reader, differs from
/// [`expected`], a frame breaks the limit, or parsing a line panics or is not deterministic.
pub fn decode_frames(data: &[u8]) -> Decoded {
    let chunk = data.first().map_or(1, |b| usize::from(*b % 31) + 1);
    let every = |size: usize| (size..data.len()).step_by(size.max(1)).collect::<Vec<_>>();
    let mut decoded = Decoded::default();
    for max in [crate::MAX_LINE_BYTES, 32] {
        let want = expected(data, max, false, false);
        let supervisor = expected(data, max, true, true);
        for size in [chunk, data.len().max(1), 1] {
            assert_eq!(codec_frames(data, max, size), want, "codec, chunks of {size} bytes, limit {max}");
            let cuts = every(size);
            assert_eq!(line_buffer_frames(max, false, false, data, &cuts), want, "chunks of {size}, limit {max}");
            let truncating = line_buffer_frames(max, true, true, data, &cuts);
            assert_eq!(truncating, supervisor, "supervisor's framing, chunks of {size}, limit {max}");
        }
        if max == crate::MAX_LINE_BYTES {
            decoded = parse_all(&want);
        }
    }
    decoded
}
