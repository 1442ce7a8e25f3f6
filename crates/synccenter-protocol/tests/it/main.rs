//! Integration tests of the protocol crate: the committed fuzz corpus replayed through the frame decoder, and
//! property tests of the decoder over random bytes, random split points and valid frames, and every
//! method's parameters against their decoder.

mod corpus;
mod decoder;
mod documented;
mod params;
