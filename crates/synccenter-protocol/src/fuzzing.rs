//! The frame decoder as one function over bytes, shared by the fuzz target (`fuzz/fuzz_targets/
//! frame_decoder.rs`, run with cargo-fuzz) and by the normal test suite, which replays every file of the
//! committed corpus (`fuzz/corpus/frame_decoder/`) through it. It panics when an invariant breaks; it never
//! panics on any input otherwise.
//!
//! Not part of the protocol: a testing aid, kept here so both callers run exactly the daemon's decoding.

use bytes::BytesMut;
use tokio_util::codec::Decoder;

use crate::{Frame, LineCodec, parse_incoming};

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

/// Decodes `data` with `codec`, fed in chunks of `chunk` bytes, then at end of input; checks the codec's
/// bounds on the way.
fn decode_chunked(data: &[u8], max: usize, chunk: usize) -> Vec<Frame> {
    let mut codec = LineCodec::new(max);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for piece in data.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        // A decoder error is impossible for this codec; treat one as a broken invariant.
        while let Some(f) = codec.decode(&mut buf).expect("the line codec never errors") {
            frames.push(f);
        }
        assert!(buf.len() <= max + 1, "the codec buffered {} bytes past a limit of {max}", buf.len());
    }
    while let Some(f) = codec.decode_eof(&mut buf).expect("the line codec never errors") {
        frames.push(f);
    }
    assert!(buf.is_empty(), "bytes left after end of input");
    frames
}

/// What the frames of `data` must be: one per `\n`-terminated segment plus a non-empty tail; a segment
/// longer than `max` is `TooLong`, any other is itself.
fn expected(data: &[u8], max: usize) -> Vec<Frame> {
    let mut out = Vec::new();
    let mut segments: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    let tail = segments.pop().unwrap_or_default();
    for s in segments {
        out.push(if s.len() > max { Frame::TooLong } else { Frame::Line(bytes::Bytes::copy_from_slice(s)) });
    }
    if !tail.is_empty() {
        out.push(if tail.len() > max { Frame::TooLong } else { Frame::Line(bytes::Bytes::copy_from_slice(tail)) });
    }
    out
}

/// Runs `data` through the daemon's framing (the default limit, and a small one so that over-long lines are
/// common), in chunk sizes taken from the data itself and all at once, and every line through
/// [`parse_incoming`]. Panics if framing depends on chunking, a frame breaks the limit, or parsing a line
/// panics or is not deterministic.
pub fn decode_frames(data: &[u8]) -> Decoded {
    let chunk = data.first().map_or(1, |b| usize::from(*b % 31) + 1);
    let mut decoded = Decoded::default();
    for max in [crate::MAX_LINE_BYTES, 32] {
        let want = expected(data, max);
        for size in [chunk, data.len().max(1), 1] {
            assert_eq!(decode_chunked(data, max, size), want, "chunks of {size} bytes, limit {max}");
        }
        if max != crate::MAX_LINE_BYTES {
            continue;
        }
        for frame in want {
            match frame {
                Frame::TooLong => decoded.too_long += 1,
                Frame::Line(line) => {
                    decoded.lines += 1;
                    assert!(line.len() <= max && !line.contains(&b'\n'));
                    let first = parse_incoming(&line);
                    let again = parse_incoming(&line);
                    match (&first, &again) {
                        (Ok(a), Ok(b)) => {
                            assert_eq!((&a.id, &a.method), (&b.id, &b.method));
                            assert_eq!(a.params.map(|p| p.get()), b.params.map(|p| p.get()));
                            decoded.messages += 1;
                        }
                        (Err(a), Err(b)) => assert_eq!(a, b),
                        _ => panic!("parse_incoming is not deterministic"),
                    }
                }
            }
        }
    }
    decoded
}
