//! # synccenter-protocol
//!
//! The local protocol spoken on the per-user socket: JSON-RPC 2.0, one message per line, both ways. This crate
//! holds only what crosses the socket (message envelopes, every method's parameters and results, server
//! pushes), the limits, the line framing, and where the socket lives. It does not depend on the core: the
//! daemon converts at its edge, so the core can change while the documented wire stays stable.
//!
//! Evolution is append-only: methods and fields are added, never repurposed; a client that skips `hello` is
//! taken to speak [`PROTOCOL_VERSION`].

#![warn(missing_docs)]

pub mod api;
mod codec;
mod envelope;
pub mod fleet;
mod framer;
pub mod fuzzing;
pub mod methods;
mod paths;
mod wire;

pub use codec::{Frame, LineCodec};
pub use envelope::{ErrorData, ErrorObject, Incoming, IncomingError, Outgoing, RequestId, error_codes, parse_incoming};
pub use framer::{Frames, LineBuffer, LineFrame, LineFramer, Pass};
pub use paths::{Env, Overrides, PIPE_NAME_PREFIX, Paths, PathsError, Platform, SOCKET_FILE_NAME};
pub use wire::{
    CancelWire, ControlFlagWire, EventLevelWire, HandlerTypeWire, RetentionWire, StatusWire, UnitWire, format_time,
    parse_time,
};

/// Bumped on any change a peer of the previous version cannot ignore. See `docs/protocol.md`.
pub const PROTOCOL_VERSION: u32 = 1;
/// Oldest version this build still speaks (negotiated in `hello`).
pub const MIN_SUPPORTED_PROTOCOL: u32 = 1;
/// Longest line accepted in either direction, excluding the `\n`.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Most items one request may name.
pub const MAX_ITEMS_PER_REQUEST: usize = 10_000;
/// Default page size of listings.
pub const DEFAULT_PAGE: u32 = 100;
/// Largest page of a listing.
pub const MAX_PAGE: u32 = 10_000;
