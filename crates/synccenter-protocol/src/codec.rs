//! The line framer as a tokio-util codec, for `FramedRead`/`FramedWrite` (the client, the test support). It is a
//! thin wrapper over [`LineFramer`], which does all the framing. An over-long line is a frame, not an error,
//! because a `FramedRead` ends its stream after any decoder error (tokio PR #4166) while the protocol requires
//! that the connection survive it.

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::framer::{Found, LineFramer};

/// One decoded line, owning its bytes (a [`LineFrame`](crate::LineFrame) made into `Bytes` without a copy).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete line without its `\n` (a trailing `\r` is kept; JSON ignores it).
    Line(Bytes),
    /// A line longer than the limit was discarded; the connection carries on with the next one.
    TooLong,
}

/// `\n`-delimited frames of at most `max` bytes.
#[derive(Clone, Debug)]
pub struct LineCodec {
    framer: LineFramer,
}

impl LineCodec {
    /// A codec with the given limit.
    pub fn new(max: usize) -> Self {
        Self { framer: LineFramer::new(max) }
    }

    /// True while the rest of an over-long line is being discarded: a line has begun and not ended, although
    /// nothing of it is buffered.
    pub fn is_discarding(&self) -> bool {
        self.framer.is_discarding()
    }

    /// The next frame at the front of `buf`: the line's bytes are split off the buffer, not copied.
    fn next(&mut self, buf: &mut BytesMut, eof: bool) -> Option<Frame> {
        let (used, found) = self.framer.step(buf, eof);
        match found {
            // The codec's framer does not truncate; a head would be a line within the limit anyway.
            Some(Found::Line(line) | Found::Truncated(line)) => {
                let mut taken = buf.split_to(used);
                taken.truncate(line.end);
                taken.advance(line.start);
                Some(Frame::Line(taken.freeze()))
            }
            Some(Found::TooLong) => {
                buf.advance(used);
                Some(Frame::TooLong)
            }
            None => {
                buf.advance(used);
                None
            }
        }
    }
}

impl Default for LineCodec {
    fn default() -> Self {
        Self::new(crate::MAX_LINE_BYTES)
    }
}

impl Decoder for LineCodec {
    type Item = Frame;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, std::io::Error> {
        Ok(self.next(buf, false))
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, std::io::Error> {
        Ok(self.next(buf, true))
    }
}

impl<T: AsRef<str>> Encoder<T> for LineCodec {
    type Error = std::io::Error;

    fn encode(&mut self, line: T, buf: &mut BytesMut) -> Result<(), std::io::Error> {
        let line = line.as_ref();
        buf.reserve(line.len() + 1);
        buf.extend_from_slice(line.as_bytes());
        buf.extend_from_slice(b"\n");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(max: usize, chunks: &[&[u8]]) -> Vec<Frame> {
        let mut c = LineCodec::new(max);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            while let Some(f) = c.decode(&mut buf).expect("decode") {
                out.push(f);
            }
            assert!(buf.len() <= max, "buffered more than the limit");
        }
        while let Some(f) = c.decode_eof(&mut buf).expect("eof") {
            out.push(f);
        }
        assert!(buf.is_empty() && !c.is_discarding());
        out
    }

    #[test]
    fn splits_lines_and_survives_an_over_long_one() {
        let frames = decode_all(8, &[b"abc\nlonglonglong", b"long\nok\r\n", b"tail"]);
        assert_eq!(
            frames,
            vec![
                Frame::Line(Bytes::from_static(b"abc")),
                Frame::TooLong,
                Frame::Line(Bytes::from_static(b"ok\r")),
                Frame::Line(Bytes::from_static(b"tail")),
            ]
        );
    }

    #[test]
    fn the_limit_is_exact() {
        assert_eq!(decode_all(4, &[b"abcd\n"]), vec![Frame::Line(Bytes::from_static(b"abcd"))]);
        assert_eq!(decode_all(4, &[b"abcde\n"]), vec![Frame::TooLong]);
        assert_eq!(decode_all(4, &[b"abcde"]), vec![Frame::TooLong], "an over-long last line at end of input");
    }
}
