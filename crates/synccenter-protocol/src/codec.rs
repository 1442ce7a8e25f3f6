//! Line framing with a hard limit. An over-long line is reported as a frame, not an error, because a
//! `FramedRead` ends its stream after any decoder error (tokio PR #4166) while the protocol requires that the
//! connection survive it. The decoder never buffers more than the limit: the rest of an over-long line is
//! discarded as it arrives.

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// One decoded line.
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
    max: usize,
    /// Bytes of the current line already examined, so that a search never rescans.
    scanned: usize,
    /// Inside an over-long line whose end has not arrived yet.
    discarding: bool,
}

impl LineCodec {
    /// A codec with the given limit.
    pub fn new(max: usize) -> Self {
        Self { max, scanned: 0, discarding: false }
    }

    /// True while the rest of an over-long line is being discarded: a line has begun and not ended, although
    /// nothing of it is buffered.
    pub fn is_discarding(&self) -> bool {
        self.discarding
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
        {
            if let Some(pos) = buf[self.scanned..].iter().position(|b| *b == b'\n') {
                let end = self.scanned + pos;
                self.scanned = 0;
                if self.discarding {
                    buf.advance(end + 1);
                    self.discarding = false;
                    return Ok(Some(Frame::TooLong));
                }
                if end > self.max {
                    buf.advance(end + 1);
                    return Ok(Some(Frame::TooLong));
                }
                let line = buf.split_to(end + 1).freeze().slice(..end);
                return Ok(Some(Frame::Line(line)));
            }
            if self.discarding || buf.len() > self.max {
                self.discarding = true;
                buf.clear();
                self.scanned = 0;
                return Ok(None);
            }
            self.scanned = buf.len();
            Ok(None)
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, std::io::Error> {
        match self.decode(buf)? {
            Some(frame) => Ok(Some(frame)),
            None if self.discarding => {
                self.discarding = false;
                Ok(Some(Frame::TooLong))
            }
            None if buf.is_empty() => Ok(None),
            None => {
                let line = buf.split().freeze();
                self.scanned = 0;
                Ok(Some(Frame::Line(line)))
            }
        }
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
            assert!(buf.len() <= max + 1 + chunk.len(), "buffered more than the limit");
        }
        while let Some(f) = c.decode_eof(&mut buf).expect("eof") {
            out.push(f);
        }
        out
    }

    #[test]
    fn splits_lines_and_survives_an_over_long_one() {
        let frames = decode_all(8, &[b"abc\nlonglonglong", b"long\nok\n", b"tail"]);
        assert_eq!(
            frames,
            vec![
                Frame::Line(Bytes::from_static(b"abc")),
                Frame::TooLong,
                Frame::Line(Bytes::from_static(b"ok")),
                Frame::Line(Bytes::from_static(b"tail")),
            ]
        );
    }

    #[test]
    fn the_limit_is_exact() {
        assert_eq!(decode_all(4, &[b"abcd\n"]), vec![Frame::Line(Bytes::from_static(b"abcd"))]);
        assert_eq!(decode_all(4, &[b"abcde\n"]), vec![Frame::TooLong]);
    }
}
