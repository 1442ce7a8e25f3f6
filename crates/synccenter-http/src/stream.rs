//! `GET /api/v1/stream`: Server-Sent Events fed by the dashboard's one subscription.
//!
//! A client that sends `Last-Event-ID` (or `?since=`) naming the current epoch and a seq the ring buffer still
//! covers gets exactly the updates it missed, then live ones. Any other client first gets a `snapshot` event
//! (handlers and live sessions, as `subscribe` answers, with the id of the seq it reflects). Events:
//! `snapshot`, `update` (`data` is the protocol's `Update`), `daemon` (`{"connected": false}` when the daemon
//! connection drops), `reset` (a new epoch began: reconnect, and a fresh snapshot follows; the stream ends).
//! A stream that falls more than the live channel's capacity behind ends without a word, so the browser
//! reconnects with its `Last-Event-ID` and resumes from the buffer. Keep-alive comments every 15 s.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast;

use crate::connection::fresh_snapshot;
use crate::error::ApiError;
use crate::feed::Live;
use crate::state::AppState;

/// Interval of the keep-alive comments on the stream.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

#[derive(Debug, Default, Deserialize)]
pub(crate) struct StreamQuery {
    since: Option<String>,
}

struct StreamState {
    queue: VecDeque<Event>,
    rx: Option<broadcast::Receiver<Live>>,
    /// Updates up to this seq were sent (or are covered by the snapshot).
    sent: u64,
}

fn update_event(id: &str, data: &str) -> Event {
    Event::default().event("update").id(id).data(data)
}

pub(crate) async fn stream(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    q: Result<Query<StreamQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = q.map(|Query(q)| q).map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let last = headers.get("last-event-id").and_then(|v| v.to_str().ok()).map(str::to_owned).or(q.since);
    let resumed = last.as_deref().and_then(|id| {
        let feed = state.feed();
        let missed = feed.missed_since(id)?;
        Some((missed, state.listen(&feed), feed.head))
    });
    let start = match resumed {
        Some((missed, rx, head)) => {
            let queue = missed.iter().map(|(id, e)| update_event(id, &e.data)).collect();
            StreamState { queue, rx: Some(rx), sent: head }
        }
        None => {
            let (rx, epoch) = {
                let feed = state.feed();
                (state.listen(&feed), feed.epoch.clone())
            };
            let snap = fresh_snapshot(&state.config.socket).await.map_err(|_| ApiError::Unavailable)?;
            let data = json!({"epoch": epoch, "seq": snap.seq, "handlers": snap.handlers, "sessions": snap.sessions});
            let event = Event::default().event("snapshot").id(format!("{epoch}-{}", snap.seq)).data(data.to_string());
            StreamState { queue: VecDeque::from([event]), rx: Some(rx), sent: snap.seq }
        }
    };
    let events = stream::unfold(start, |mut st| async move {
        if let Some(event) = st.queue.pop_front() {
            return Some((Ok::<_, Infallible>(event), st));
        }
        let mut rx = st.rx.take()?;
        loop {
            match rx.recv().await {
                Ok(Live::Update { id, entry }) if entry.seq > st.sent => {
                    st.sent = entry.seq;
                    st.rx = Some(rx);
                    return Some((Ok(update_event(&id, &entry.data)), st));
                }
                Ok(Live::Update { .. }) => {}
                Ok(Live::Down) => {
                    st.rx = Some(rx);
                    return Some((Ok(Event::default().event("daemon").data(r#"{"connected":false}"#)), st));
                }
                Ok(Live::Reset { epoch }) => {
                    let data = json!({"epoch": epoch}).to_string();
                    return Some((Ok(Event::default().event("reset").data(data)), st));
                }
                Err(broadcast::error::RecvError::Lagged(_) | broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive")).into_response())
}
