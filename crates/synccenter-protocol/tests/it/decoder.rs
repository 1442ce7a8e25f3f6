//! Property tests of the line framer: arbitrary bytes read in arbitrary pieces never panic and frame the same
//! way whatever the pieces (through the daemon's [`LineBuffer`], the client's codec and the supervisor's
//! truncating framer); encoded lines within the limit come back exactly; an over-long line becomes one `TooLong`
//! and the lines around it survive.

use bytes::BytesMut;
use proptest::prelude::*;
use synccenter_protocol::fuzzing::{Owned, decode_frames, expected, line_buffer_frames};
use synccenter_protocol::{LineCodec, parse_incoming};
use tokio_util::codec::Encoder;

fn line_without_newline(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 0..max)
}

/// Bytes rich in line ends, so that short lines, `\r\n` pairs and empty lines are common.
fn line_soup() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop_oneof![4 => Just(b'a'), 1 => Just(b'\n'), 1 => Just(b'\r'), 1 => any::<u8>()], 0..400)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic_and_frame_the_same_at_any_split(
        data in prop::collection::vec(any::<u8>(), 0..600),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        decode_frames(&data);
        let once = line_buffer_frames(40, false, false, &data, &[]);
        prop_assert_eq!(&line_buffer_frames(40, false, false, &data, &cuts), &once);
        prop_assert_eq!(once, expected(&data, 40, false, false));
    }

    /// The daemon's read path, fed the same bytes in random reads, gives the same frames as one big read, for
    /// the protocol's framing and the supervisor's (`\r` splitting, truncation).
    #[test]
    fn random_reads_frame_like_one_big_read(
        data in line_soup(),
        cuts in prop::collection::vec(any::<usize>(), 0..40),
        max in 0usize..24,
        split_cr in any::<bool>(),
        truncate in any::<bool>(),
    ) {
        let once = line_buffer_frames(max, split_cr, truncate, &data, &[]);
        prop_assert_eq!(&line_buffer_frames(max, split_cr, truncate, &data, &cuts), &once);
        prop_assert_eq!(once, expected(&data, max, split_cr, truncate));
    }

    #[test]
    fn lines_within_the_limit_round_trip(
        lines in prop::collection::vec(line_without_newline(64), 0..20),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let mut encoded = Vec::new();
        for l in &lines {
            // The encoder takes text; arbitrary bytes go through the wire as they are.
            encoded.extend_from_slice(l);
            encoded.push(b'\n');
        }
        let want: Vec<Owned> = lines.iter().cloned().map(Owned::Line).collect();
        prop_assert_eq!(line_buffer_frames(64, false, false, &encoded, &cuts), want);
        let text: Vec<String> = lines.iter().map(|l| String::from_utf8_lossy(l).replace('\n', " ")).collect();
        let mut codec = LineCodec::new(64);
        let mut buf = BytesMut::new();
        for t in &text {
            codec.encode(t.as_str(), &mut buf).expect("encode");
        }
        let back = line_buffer_frames(usize::MAX / 2, false, false, &buf, &cuts);
        prop_assert_eq!(back, text.iter().map(|t| Owned::Line(t.clone().into_bytes())).collect::<Vec<_>>());
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
        let frames = line_buffer_frames(16, false, false, &data, &cuts);
        prop_assert_eq!(frames, vec![Owned::Line(before), Owned::TooLong, Owned::Line(after)]);
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
