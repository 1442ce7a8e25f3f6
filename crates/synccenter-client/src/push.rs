//! What the daemon sends unasked, other than a session's cancellation (which goes to its [`crate::Session`])
//! and the live feed (a [`crate::Subscription`]): requests to a serving handler and results of starts, which go
//! to [`crate::Client::pushes`], bounded, so a consumer that stops reading cannot grow the client without limit.

use synccenter_protocol::methods::{ResolutionRequestedPush, SyncRequestedPush, SyncResultPush};

/// A push for the connection as a whole.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Push {
    /// `handler.sync_requested`: sync these items (create a session) or answer `handler.sync_failed`.
    SyncRequested(SyncRequestedPush),
    /// `control.sync_result`: a start request of this connection finished.
    SyncResult(SyncResultPush),
    /// `conflict.resolution_requested`: the user chose how to resolve a conflict.
    ResolutionRequested(ResolutionRequestedPush),
}
