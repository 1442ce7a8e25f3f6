//! The one error type of the client. Each variant carries the facts a caller needs to decide (the method, the
//! HRESULT, the limit), so that callers match on variants instead of parsing messages.

use std::path::PathBuf;
use std::time::Duration;

use synccenter_protocol::PathsError;

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The socket could not be connected.
    #[error("cannot connect to the synccenter daemon at {}: {source}", path.display())]
    Connect {
        /// The socket.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The socket path could not be resolved from the environment.
    #[error("cannot find the synccenter socket: {0}")]
    Paths(#[from] PathsError),
    /// Reading or writing the connection failed.
    #[error("I/O error on the synccenter connection: {0}")]
    Io(#[from] std::io::Error),
    /// The connection closed (or failed) before the answer arrived.
    #[error("the connection to the synccenter daemon is closed")]
    Disconnected,
    /// The server sent something this client cannot read (a bad frame, JSON, or result shape).
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The server's protocol version is outside what this client speaks.
    #[error("the daemon speaks protocol version {server}; this client speaks {min}..={max}")]
    Version {
        /// The version the server answered with.
        server: u32,
        /// Oldest version this client speaks.
        min: u32,
        /// Newest version this client speaks.
        max: u32,
    },
    /// A phase with a deadline (the handshake) did not finish in time.
    #[error("{what} did not finish within {after:?}")]
    Timeout {
        /// The phase.
        what: &'static str,
        /// The deadline.
        after: Duration,
    },
    /// The daemon refused the call.
    #[error("{method} failed: {message} ({name}, {hresult:#010x})")]
    Rpc {
        /// The method called.
        method: String,
        /// The JSON-RPC error code.
        code: i64,
        /// What was wrong, in words.
        message: String,
        /// The spec's HRESULT, e.g. `0x80070057`.
        hresult: u32,
        /// The HRESULT's symbolic name, e.g. `E_INVALIDARG`.
        name: String,
    },
    /// The message would exceed the protocol's line limit; nothing was sent.
    #[error("{method}: the message is {len} bytes; the limit is {max}")]
    LineTooLong {
        /// The method.
        method: String,
        /// Its encoded length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The parameters could not be encoded as JSON.
    #[error("{method}: cannot encode the parameters: {source}")]
    Encode {
        /// The method.
        method: String,
        /// The serializer's error.
        #[source]
        source: serde_json::Error,
    },
    /// A subscription fell behind its bounded buffer and missed updates; subscribe again for a new snapshot.
    #[error("the subscription fell behind and missed {missed} updates; subscribe again")]
    Lagged {
        /// How many updates were dropped.
        missed: u64,
    },
}

impl ClientError {
    /// The HRESULT of an [`Rpc`](ClientError::Rpc) error.
    pub fn hresult(&self) -> Option<u32> {
        match self {
            ClientError::Rpc { hresult, .. } => Some(*hresult),
            _ => None,
        }
    }

    /// The HRESULT's symbolic name of an [`Rpc`](ClientError::Rpc) error.
    pub fn hresult_name(&self) -> Option<&str> {
        match self {
            ClientError::Rpc { name, .. } => Some(name),
            _ => None,
        }
    }
}
