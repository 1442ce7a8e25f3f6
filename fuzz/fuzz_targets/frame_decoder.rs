//! Fuzzes the line framer (as the daemon's `LineBuffer`, the client's `LineCodec` and the supervisor's truncating
//! framer) at any chunking, and the JSON-RPC envelope parser, through
//! `synccenter_protocol::fuzzing::decode_frames`, which panics when an invariant breaks.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    synccenter_protocol::fuzzing::decode_frames(data);
});
