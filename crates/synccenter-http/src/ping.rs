//! The Healthchecks-compatible ping routes (`/ping/…`) and Uptime Kuma's push route (`/api/push/<token>`): a
//! job that speaks only HTTP reports into one item. Each request becomes one `ping.report`; the replies are the
//! ones Healthchecks documents (`200 OK`, `201 Created`, `400 invalid url format`, `400 invalid uuid format`,
//! `404 not found`), in plain text, with `Ping-Body-Limit` on success. These routes need no token: the secret
//! UUID or ping key in the path is the credential, and it can only report for its own item (see
//! `docs/security.md`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use synccenter_client::ClientError;
use synccenter_protocol::methods::{PING_BODY_LIMIT, PingReportParams, PingSignal, is_canonical_uuid};

use crate::state::AppState;

/// Largest request body a ping route reads (bodies are then cut to [`PING_BODY_LIMIT`], as Healthchecks cuts
/// them): borgmatic sends up to 100 000 bytes of log by default, which must not be refused.
pub(crate) const PING_MAX_REQUEST_BODY: usize = 1024 * 1024;

/// The response header that tells clients how much of a body is stored.
const PING_BODY_LIMIT_HEADER: &str = "ping-body-limit";

type Params = HashMap<String, String>;

fn text(status: StatusCode, body: &'static str) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

/// A refusal in Healthchecks' words, before it becomes a response.
#[derive(Clone, Copy, Debug)]
struct Refusal(StatusCode, &'static str);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        text(self.0, self.1)
    }
}

const NOT_FOUND: Refusal = Refusal(StatusCode::NOT_FOUND, "not found");
const BAD_URL: Refusal = Refusal(StatusCode::BAD_REQUEST, "invalid url format");

fn not_found() -> Response {
    NOT_FOUND.into_response()
}

fn bad_url() -> Response {
    BAD_URL.into_response()
}

/// What a ping path's last segment says: nothing (success), `start`, `fail`, `log` or an exit status.
fn suffix(s: &str) -> Result<(PingSignal, Option<u8>), Refusal> {
    match s {
        "start" => Ok((PingSignal::Start, None)),
        "fail" => Ok((PingSignal::Fail, None)),
        "log" => Ok((PingSignal::Log, None)),
        digits if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            // Healthchecks routes any digits here and refuses a status over 255.
            digits.parse::<u8>().map(|n| (PingSignal::Exit, Some(n))).map_err(|_| BAD_URL)
        }
        _ => Err(NOT_FOUND),
    }
}

/// The first [`PING_BODY_LIMIT`] bytes of a body, as text (invalid UTF-8 replaced).
fn stored_body(bytes: &[u8]) -> Option<String> {
    if bytes.is_empty() {
        return None;
    }
    let mut text = String::from_utf8_lossy(&bytes[..bytes.len().min(PING_BODY_LIMIT)]).into_owned();
    while text.len() > PING_BODY_LIMIT {
        text.pop();
    }
    Some(text)
}

/// A report's parameters apart from what names the item, from the query and the body.
fn report(
    q: Result<Query<Params>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
    (signal, exit_status): (PingSignal, Option<u8>),
) -> Result<PingReportParams, Refusal> {
    let Query(q) = q.map_err(|_| BAD_URL)?;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Refusal(StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
        } else {
            Refusal(StatusCode::BAD_REQUEST, "invalid request body")
        }
    })?;
    let rid = q.get("rid").cloned();
    if rid.as_deref().is_some_and(|r| !is_canonical_uuid(r)) {
        return Err(Refusal(StatusCode::BAD_REQUEST, "invalid uuid format"));
    }
    Ok(PingReportParams {
        signal,
        exit_status,
        rid,
        body: stored_body(&body),
        create: q.get("create").is_some_and(|c| c == "1"),
        ..PingReportParams::default()
    })
}

/// Sends the report and answers as Healthchecks does.
async fn send(state: &AppState, params: PingReportParams) -> Response {
    let Some(client) = state.client() else {
        return text(StatusCode::SERVICE_UNAVAILABLE, "service unavailable");
    };
    match client.ping_report(params).await {
        Ok(r) if !r.found => not_found(),
        Ok(r) => {
            let mut response =
                if r.created { text(StatusCode::CREATED, "Created") } else { text(StatusCode::OK, "OK") };
            response.headers_mut().insert(PING_BODY_LIMIT_HEADER, HeaderValue::from(PING_BODY_LIMIT));
            response
        }
        Err(ClientError::Rpc { name, .. }) if name == "E_INVALIDARG" || name == "E_POINTER" => bad_url(),
        Err(e) => {
            tracing::warn!(error = %e, "a ping could not be recorded");
            text(StatusCode::SERVICE_UNAVAILABLE, "service unavailable")
        }
    }
}

/// A ping by UUID, with `signal`.
async fn by_uuid(state: &AppState, uuid: String, mut params: PingReportParams) -> Response {
    params.uuid = Some(uuid);
    params.create = false;
    send(state, params).await
}

/// A ping by ping key and slug.
async fn by_slug(state: &AppState, key: String, slug: String, mut params: PingReportParams) -> Response {
    if slug != slug.to_lowercase() {
        return bad_url();
    }
    params.key = Some(key);
    params.slug = Some(slug);
    send(state, params).await
}

/// `/ping/<uuid>`: success.
pub(crate) async fn ping_check(
    State(state): State<Arc<AppState>>,
    Path(check): Path<String>,
    q: Result<Query<Params>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if !is_canonical_uuid(&check) {
        return not_found();
    }
    match report(q, body, (PingSignal::Success, None)) {
        Ok(params) => by_uuid(&state, check, params).await,
        Err(r) => r.into_response(),
    }
}

/// `/ping/<uuid>/<suffix>`, or `/ping/<ping-key>/<slug>` (success).
pub(crate) async fn ping_pair(
    State(state): State<Arc<AppState>>,
    Path((first, second)): Path<(String, String)>,
    q: Result<Query<Params>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if is_canonical_uuid(&first) {
        let params = match suffix(&second).and_then(|s| report(q, body, s)) {
            Ok(p) => p,
            Err(r) => return r.into_response(),
        };
        return by_uuid(&state, first, params).await;
    }
    match report(q, body, (PingSignal::Success, None)) {
        Ok(params) => by_slug(&state, first, second, params).await,
        Err(r) => r.into_response(),
    }
}

/// `/ping/<ping-key>/<slug>/<suffix>`.
pub(crate) async fn ping_slug(
    State(state): State<Arc<AppState>>,
    Path((key, slug, last)): Path<(String, String, String)>,
    q: Result<Query<Params>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match suffix(&last).and_then(|s| report(q, body, s)) {
        Ok(params) => by_slug(&state, key, slug, params).await,
        Err(r) => r.into_response(),
    }
}

fn kuma(status: StatusCode, ok: bool, msg: Option<&str>) -> Response {
    let body = match msg {
        Some(msg) => json!({"ok": ok, "msg": msg}),
        None => json!({"ok": ok}),
    };
    (status, Json(body)).into_response()
}

/// `/api/push/<token>?status=up|down&msg=…&ping=…` (Uptime Kuma): `up` (the default) is a success, anything
/// else a failure; `msg` is kept as the event's text; `ping` is checked as Kuma checks it and not stored.
pub(crate) async fn push(
    State(state): State<Arc<AppState>>,
    Path(token): Path<String>,
    q: Result<Query<Params>, QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else { return kuma(StatusCode::BAD_REQUEST, false, Some("invalid query")) };
    if let Some(ping) = q.get("ping").filter(|p| !p.is_empty())
        && !ping.parse::<f64>().is_ok_and(|v| (0.0..=86_400_000.0).contains(&v))
    {
        return kuma(StatusCode::BAD_REQUEST, false, Some("Invalid ping value"));
    }
    let gone = || kuma(StatusCode::NOT_FOUND, false, Some("Monitor not found or not active."));
    if !is_canonical_uuid(&token) {
        return gone();
    }
    let up = q.get("status").is_none_or(|s| s == "up");
    let params = PingReportParams {
        uuid: Some(token),
        signal: if up { PingSignal::Success } else { PingSignal::Fail },
        body: q.get("msg").and_then(|m| stored_body(m.as_bytes())),
        ..PingReportParams::default()
    };
    let Some(client) = state.client() else {
        return kuma(StatusCode::SERVICE_UNAVAILABLE, false, Some("service unavailable"));
    };
    match client.ping_report(params).await {
        Ok(r) if r.found => kuma(StatusCode::OK, true, None),
        Ok(_) => gone(),
        Err(e) => {
            tracing::warn!(error = %e, "a push could not be recorded");
            kuma(StatusCode::SERVICE_UNAVAILABLE, false, Some("service unavailable"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_as_healthchecks_routes_them() {
        assert_eq!(suffix("start").ok(), Some((PingSignal::Start, None)));
        assert_eq!(suffix("0").ok(), Some((PingSignal::Exit, Some(0))));
        assert_eq!(suffix("255").ok(), Some((PingSignal::Exit, Some(255))));
        assert_eq!(suffix("256").map_err(|r| r.0).err(), Some(StatusCode::BAD_REQUEST));
        assert_eq!(suffix("99999999999999999999999").map_err(|r| r.0).err(), Some(StatusCode::BAD_REQUEST));
        assert_eq!(suffix("stop").map_err(|r| r.0).err(), Some(StatusCode::NOT_FOUND));
        assert_eq!(suffix("-1").map_err(|r| r.0).err(), Some(StatusCode::NOT_FOUND));
    }

    #[test]
    fn bodies_are_cut_at_the_limit_on_a_character_boundary() {
        assert_eq!(stored_body(b""), None);
        let long = "é".repeat(PING_BODY_LIMIT);
        let kept = stored_body(long.as_bytes()).expect("kept");
        assert!(kept.len() <= PING_BODY_LIMIT && kept.len() >= PING_BODY_LIMIT - 3, "{}", kept.len());
        assert!(kept.starts_with("éé"));
    }
}
