//! Property tests of the frame decoder: arbitrary bytes split at arbitrary points never panic and frame the
//! same way whatever the split; encoded lines within the limit come back exactly; an over-long line becomes
//! one `TooLong` and the lines around it survive.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use synccenter_protocol::fuzzing::decode_frames;
use synccenter_protocol::{Frame, LineCodec, parse_incoming};
use tokio_util::codec::{Decoder, Encoder};

/// Decodes `data` fed at the given split points.
fn decode_split(max: usize, data: &[u8], cuts: &[usize]) -> Vec<Frame> {
    let mut codec = LineCodec::new(max);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    points.push(data.len());
    points.sort_unstable();
    let mut at = 0;
    for p in points {
        buf.extend_from_slice(&data[at..p]);
        at = p;
        while let Some(f) = codec.decode(&mut buf).expect("never errors") {
            out.push(f);
        }
    }
    while let Some(f) = codec.decode_eof(&mut buf).expect("never errors") {
        out.push(f);
    }
    out
}

fn line_without_newline(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 0..max)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic_and_frame_the_same_at_any_split(
        data in prop::collection::vec(any::<u8>(), 0..600),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        decode_frames(&data);
        prop_assert_eq!(decode_split(40, &data, &cuts), decode_split(40, &data, &[]));
    }

    #[test]
    fn lines_within_the_limit_round_trip(
        lines in prop::collection::vec(line_without_newline(64), 0..20),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let mut encoded = BytesMut::new();
        let mut codec = LineCodec::new(64);
        for l in &lines {
            // The encoder takes text; arbitrary bytes go through the wire as they are.
            encoded.extend_from_slice(l);
            encoded.extend_from_slice(b"\n");
        }
        let want: Vec<Frame> = lines.iter().map(|l| Frame::Line(Bytes::copy_from_slice(l))).collect();
        prop_assert_eq!(decode_split(64, &encoded, &cuts), want);
        let text: Vec<String> = lines.iter().map(|l| String::from_utf8_lossy(l).replace('\n', " ")).collect();
        let mut buf = BytesMut::new();
        for t in &text {
            codec.encode(t.as_str(), &mut buf).expect("encode");
        }
        let back: Vec<Frame> = decode_split(usize::MAX / 2, &buf, &cuts);
        prop_assert_eq!(back, text.iter().map(|t| Frame::Line(Bytes::copy_from_slice(t.as_bytes()))).collect::<Vec<_>>());
    }

    #[test]
    fn an_over_long_line_is_one_too_long_and_its_neighbours_survive(
        before in line_without_newline(16),
        long in 17usize..400,
        after in line_without_newline(16),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let mut data = before.clone();
        data.push(b'\n');
        data.extend(std::iter::repeat_n(b'x', long));
        data.push(b'\n');
        data.extend_from_slice(&after);
        data.push(b'\n');
        let frames = decode_split(16, &data, &cuts);
        prop_assert_eq!(frames, vec![
            Frame::Line(Bytes::from(before)),
            Frame::TooLong,
            Frame::Line(Bytes::from(after)),
        ]);
    }

    #[test]
    fn valid_requests_parse_back_to_what_was_sent(
        id in any::<i64>(),
        method in "[a-z]{1,12}(\\.[a-z_]{1,16})?",
        key in "[a-z]{1,8}",
        value in any::<i32>(),
    ) {
        let line = serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": {key.clone(): value}}).to_string();
        let msg = parse_incoming(line.as_bytes()).expect("a valid request parses");
        prop_assert_eq!(msg.id, Some(synccenter_protocol::RequestId::Number(id)));
        prop_assert_eq!(msg.method, method);
        let params: serde_json::Value = serde_json::from_str(msg.params.expect("params").get()).expect("JSON");
        prop_assert_eq!(params, serde_json::json!({key: value}));
        prop_assert_eq!(decode_frames(format!("{line}\n").as_bytes()).messages, 1);
    }
}
