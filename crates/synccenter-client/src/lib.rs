//! # synccenter-client
//!
//! A Rust client for the synccenter daemon's local protocol (JSON-RPC 2.0, one message per line, over the
//! per-user socket). It exists so that sync programs written in Rust get the protocol right without thinking
//! about it: the `hello` handshake, request IDs, pushes, and above all the hot path, where progress reports
//! are fire-and-forget, coalesced per item, and never overtake a later request such as `session.end`.
//!
//! It depends on `synccenter-protocol` only, never on the core: the wire types are the only types that cross
//! the socket. It does not retry or reconnect; a closed connection fails every pending call with
//! [`ClientError::Disconnected`] and the caller decides what to do.
//!
//! ```no_run
//! # async fn f() -> Result<(), synccenter_client::ClientError> {
//! use synccenter_client::{Client, StatusWire};
//! let client = Client::connect_default().await?;
//! let session = client.create_session("nas", ["docs"]).await?;
//! session.report_progress("docs", StatusWire::Updating, Some("copying"), 1, 10)?;
//! let end = session.end().await?;
//! # let _ = end; Ok(()) }
//! ```

#![warn(missing_docs)]

mod cancel;
mod client;
mod conn;
mod error;
mod push;
mod session;
mod subscription;

pub use cancel::CancelState;
pub use client::{Client, HELLO_TIMEOUT};
pub use error::ClientError;
pub use push::Push;
pub use session::Session;
pub use subscription::Subscription;

pub use synccenter_protocol::fleet;
pub use synccenter_protocol::methods;
pub use synccenter_protocol::{CancelWire, EventLevelWire, StatusWire, UnitWire};
