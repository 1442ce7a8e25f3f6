//! Replays every file of the fuzz corpus (`fuzz/corpus/frame_decoder/`) through the same function the fuzz
//! target calls, so inputs that once found a bug keep being checked by the normal suite, without cargo-fuzz.

use std::path::Path;

use synccenter_protocol::fuzzing::decode_frames;

#[test]
fn every_corpus_file_decodes_without_breaking_an_invariant() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/frame_decoder");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the corpus {} is missing: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the corpus has only {} files", files.len());
    let (mut messages, mut too_long) = (0, 0);
    for f in &files {
        let data = std::fs::read(f).expect("read a corpus file");
        let d = std::panic::catch_unwind(|| decode_frames(&data))
            .unwrap_or_else(|_| panic!("{} breaks the decoder", f.display()));
        messages += d.messages;
        too_long += d.too_long;
    }
    // The corpus covers both well-formed messages and over-long lines.
    assert!(messages > 0 && too_long > 0, "messages {messages}, over-long lines {too_long}");
}
