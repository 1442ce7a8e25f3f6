//! The `/api/v1` handlers, `/login` and `/metrics`: each turns a request into one or a few protocol calls
//! through the client and answers JSON (the protocol's own result shapes). Bodies are parsed here so that a
//! bad body is a JSON 400 and an over-long one a 413.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use synccenter_client::Client;
use synccenter_protocol::fleet::{
    FLEET_HANDLERS, FLEET_HOSTS, FLEET_SESSIONS, FleetHandlersParams, FleetHandlersResult, FleetHostsResult,
    FleetSessionsParams, FleetSessionsResult,
};
use synccenter_protocol::methods::{
    ActivateParams, ChoiceWire, ConflictsListParams, ControlTargetParams, Empty, EnableParams, EventsFilterParams,
    LogsReadParams, PauseParams, ResolveParams, ResumeParams, SessionsHistoryParams,
};
use synccenter_protocol::{EventLevelWire, MAX_PAGE};
use time::{Date, OffsetDateTime};

use crate::config::COOKIE_NAME;
use crate::error::ApiError;
use crate::security::token_matches;
use crate::state::AppState;
use crate::{metrics, timestamp};

type ApiResult = Result<Response, ApiError>;

fn client(state: &AppState) -> Result<Client, ApiError> {
    state.client().ok_or(ApiError::Unavailable)
}

fn json_ok<T: serde::Serialize>(value: T) -> ApiResult {
    Ok(Json(value).into_response())
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(t)| t).map_err(|e| ApiError::BadRequest(e.body_text()))
}

fn bytes(b: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    b.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge
        } else {
            ApiError::BadRequest(e.body_text())
        }
    })
}

/// A JSON body; an empty body is `T::default()`.
fn body_or_default<T: DeserializeOwned + Default>(b: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let b = bytes(b)?;
    if b.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&b).map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
}

/// A JSON body that must be there.
fn body_required<T: DeserializeOwned>(b: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let b = bytes(b)?;
    serde_json::from_slice(&b).map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
}

/// Unknown routes: a JSON 404.
pub(crate) async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::NoRoute { method: method.to_string(), path: uri.path().to_owned() }
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginQuery {
    token: Option<String>,
}

/// `GET /login?token=T`: sets the cookie and sends the browser to `/`, so the token leaves the address bar.
pub(crate) async fn login(
    State(state): State<Arc<AppState>>,
    q: Result<Query<LoginQuery>, QueryRejection>,
) -> ApiResult {
    let q = query(q)?;
    if !token_matches(&state.config.token, q.token.as_deref()) {
        return Err(ApiError::Unauthenticated);
    }
    let cookie = format!("{COOKIE_NAME}={}; HttpOnly; SameSite=Strict; Path=/", state.config.token);
    let cookie = HeaderValue::from_str(&cookie).map_err(|_| ApiError::Unauthenticated)?;
    let mut response = StatusCode::SEE_OTHER.into_response();
    response.headers_mut().insert(header::LOCATION, HeaderValue::from_static("/"));
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

pub(crate) async fn status(State(state): State<Arc<AppState>>) -> ApiResult {
    json_ok(client(&state)?.status().await?)
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct HiddenQuery {
    #[serde(default)]
    include_hidden: bool,
}

pub(crate) async fn handlers(
    State(state): State<Arc<AppState>>,
    q: Result<Query<HiddenQuery>, QueryRejection>,
) -> ApiResult {
    let q = query(q)?;
    json_ok(json!({"handlers": client(&state)?.handlers(q.include_hidden).await?}))
}

pub(crate) async fn items(
    State(state): State<Arc<AppState>>,
    Path(h): Path<String>,
    q: Result<Query<HiddenQuery>, QueryRejection>,
) -> ApiResult {
    let q = query(q)?;
    json_ok(json!({"items": client(&state)?.items(&h, q.include_hidden).await?}))
}

/// `GET /api/v1/handlers/{h}/items/{i}/ping-url`: where the item's pings go, as `synccenter ping-url` prints it.
pub(crate) async fn ping_url(State(state): State<Arc<AppState>>, Path((h, i)): Path<(String, String)>) -> ApiResult {
    json_ok(client(&state)?.ping_url(&h, &i).await?)
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct LogQuery {
    item: Option<String>,
    offset: Option<u64>,
    limit: Option<u32>,
}

/// `GET /api/v1/sessions/{id}/log`: `logs.read`.
pub(crate) async fn run_log(
    State(state): State<Arc<AppState>>,
    Path(session): Path<String>,
    q: Result<Query<LogQuery>, QueryRejection>,
) -> ApiResult {
    let q = query(q)?;
    let params = LogsReadParams { session, item: q.item, offset: q.offset, limit: q.limit };
    json_ok(client(&state)?.logs_read(params).await?)
}

pub(crate) async fn sessions(State(state): State<Arc<AppState>>) -> ApiResult {
    json_ok(json!({"sessions": client(&state)?.sessions().await?}))
}

/// `GET /api/v1/fleet`: `fleet.hosts`, `fleet.handlers` and the live `fleet.sessions` in one document, so the
/// page draws every host with its handlers and sessions from one consistent-enough snapshot.
pub(crate) async fn fleet(
    State(state): State<Arc<AppState>>,
    q: Result<Query<HiddenQuery>, QueryRejection>,
) -> ApiResult {
    let q = query(q)?;
    let client = client(&state)?;
    let handlers_params = FleetHandlersParams { host: None, include_hidden: q.include_hidden };
    let sessions_params = FleetSessionsParams { live: true, limit: Some(MAX_PAGE), ..FleetSessionsParams::default() };
    let (hosts, handlers, sessions) = tokio::try_join!(
        client.call::<_, FleetHostsResult>(FLEET_HOSTS, &Empty {}),
        client.call::<_, FleetHandlersResult>(FLEET_HANDLERS, &handlers_params),
        client.call::<_, FleetSessionsResult>(FLEET_SESSIONS, &sessions_params),
    )?;
    json_ok(json!({
        "host": hosts.host,
        "shared": hosts.shared,
        "hosts": hosts.hosts,
        "handlers": handlers.handlers,
        "sessions": sessions.sessions,
    }))
}

pub(crate) async fn history(
    State(state): State<Arc<AppState>>,
    q: Result<Query<SessionsHistoryParams>, QueryRejection>,
) -> ApiResult {
    let q = query(q)?;
    json_ok(json!({"sessions": client(&state)?.history(q).await?}))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct EventsQuery {
    handler: Option<String>,
    item: Option<String>,
    level: Option<String>,
    session: Option<String>,
    #[serde(default)]
    handler_level_only: bool,
    since: Option<String>,
    until: Option<String>,
    after: Option<String>,
    limit: Option<u32>,
}

fn levels(s: &str) -> Result<Vec<EventLevelWire>, ApiError> {
    s.split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_value(Value::String(l.to_owned()))
                .map_err(|_| ApiError::BadRequest(format!("unknown level {l:?}; use info, warning or error")))
        })
        .collect()
}

pub(crate) async fn events(
    State(state): State<Arc<AppState>>,
    q: Result<Query<EventsQuery>, QueryRejection>,
) -> ApiResult {
    let q = query(q)?;
    let filter = EventsFilterParams {
        handler: q.handler,
        item: q.item,
        handler_level_only: q.handler_level_only,
        levels: q.level.as_deref().map(levels).transpose()?,
        session: q.session,
        since: q.since,
        until: q.until,
        after: q.after,
        limit: q.limit,
    };
    json_ok(client(&state)?.events(filter).await?)
}

pub(crate) async fn event(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult {
    json_ok(client(&state)?.event(&id).await?)
}

pub(crate) async fn event_delete(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult {
    json_ok(json!({"removed": client(&state)?.remove_events(vec![id]).await?}))
}

pub(crate) async fn events_clear(State(state): State<Arc<AppState>>, body: Result<Bytes, BytesRejection>) -> ApiResult {
    let filter: EventsFilterParams = body_or_default(body)?;
    json_ok(json!({"removed": client(&state)?.clear_events(filter).await?}))
}

pub(crate) async fn conflicts(
    State(state): State<Arc<AppState>>,
    q: Result<Query<ConflictsListParams>, QueryRejection>,
) -> ApiResult {
    let q = query(q)?;
    json_ok(json!({"conflicts": client(&state)?.conflicts(q).await?}))
}

pub(crate) async fn conflict(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult {
    json_ok(client(&state)?.conflict(&id).await?)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResolveBody {
    /// The host that holds the conflict, in a fleet (forwarded by the daemon).
    #[serde(default)]
    host: Option<String>,
    choice: ChoiceWire,
    #[serde(default)]
    apply_to_all: bool,
}

pub(crate) async fn resolve(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let b: ResolveBody = body_required(body)?;
    let params = ResolveParams { host: b.host, conflict: id, choice: b.choice, apply_to_all: b.apply_to_all };
    json_ok(client(&state)?.resolve(params).await?)
}

pub(crate) async fn control_start(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let p: ControlTargetParams = body_or_default(body)?;
    json_ok(client(&state)?.start(p).await?)
}

pub(crate) async fn control_stop(State(state): State<Arc<AppState>>, body: Result<Bytes, BytesRejection>) -> ApiResult {
    let p: ControlTargetParams = body_or_default(body)?;
    client(&state)?.stop(p).await?;
    json_ok(json!({}))
}

pub(crate) async fn control_enable(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let p: EnableParams = body_required(body)?;
    client(&state)?.enable(p).await?;
    json_ok(json!({}))
}

pub(crate) async fn control_activate(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let p: ActivateParams = body_required(body)?;
    client(&state)?.activate(p).await?;
    json_ok(json!({}))
}

pub(crate) async fn control_pause(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let p: PauseParams = body_or_default(body)?;
    client(&state)?.pause(p).await?;
    json_ok(json!({}))
}

pub(crate) async fn control_resume(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let p: ResumeParams = body_or_default(body)?;
    client(&state)?.resume(p).await?;
    json_ok(json!({}))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ChartQuery {
    days: Option<u32>,
}

const CHART_PAGE: u32 = 500;
const CHART_MAX_PAGES: usize = 40;

/// Counts of finished sessions per day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DayCounts {
    pub(crate) succeeded: u64,
    pub(crate) failed: u64,
    pub(crate) other: u64,
}

/// Adds one finished session to its day, if the day is charted.
pub(crate) fn count_session(days: &mut BTreeMap<Date, DayCounts>, started_at: &str, status: Option<&str>) {
    let Some(day) = timestamp::parse(started_at).map(|t| t.to_offset(time::UtcOffset::UTC).date()) else {
        return;
    };
    if let Some(c) = days.get_mut(&day) {
        match status {
            Some("succeeded") => c.succeeded += 1,
            Some("failed") => c.failed += 1,
            _ => c.other += 1,
        }
    }
}

/// `GET /api/v1/handlers/{h}/history-chart?days=14`.
pub(crate) async fn history_chart(
    State(state): State<Arc<AppState>>,
    Path(h): Path<String>,
    q: Result<Query<ChartQuery>, QueryRejection>,
) -> ApiResult {
    let n = query(q)?.days.unwrap_or(14);
    if !(1..=366).contains(&n) {
        return Err(ApiError::BadRequest(format!("days is {n}; it must be 1..=366")));
    }
    let today = OffsetDateTime::now_utc().date();
    let mut days = BTreeMap::new();
    let mut day = today;
    for _ in 0..n {
        days.insert(day, DayCounts::default());
        day = day.previous_day().unwrap_or(day);
    }
    let first = days.keys().next().copied().unwrap_or(today);
    let client = client(&state)?;
    let mut before = None;
    for _ in 0..CHART_MAX_PAGES {
        let page = client
            .history(SessionsHistoryParams {
                handler: Some(h.clone()),
                before: before.clone(),
                limit: Some(CHART_PAGE),
            })
            .await?;
        for s in page.iter().filter(|s| s.ended_at.is_some()) {
            let status = s.status.and_then(|st| serde_json::to_value(st).ok());
            count_session(&mut days, &s.started_at, status.as_ref().and_then(Value::as_str));
        }
        let Some(oldest) = page.last() else { break };
        let reached = timestamp::parse(&oldest.started_at).is_none_or(|t| t.date() < first);
        if reached || page.len() < CHART_PAGE as usize {
            break;
        }
        before = Some(oldest.started_at.clone());
    }
    let days: Vec<Value> = days
        .iter()
        .map(|(d, c)| json!({"date": d.to_string(), "succeeded": c.succeeded, "failed": c.failed, "other": c.other}))
        .collect();
    json_ok(json!({"handler": h, "days": days}))
}

pub(crate) async fn metrics(State(state): State<Arc<AppState>>) -> ApiResult {
    let text = metrics::render(&client(&state)?).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse() {
        assert_eq!(levels("error, warning").expect("ok"), vec![EventLevelWire::Error, EventLevelWire::Warning]);
        assert!(levels("loud").is_err());
    }

    #[test]
    fn sessions_count_on_their_day() {
        let d = Date::from_calendar_date(2025, time::Month::March, 2).expect("date");
        let mut days = BTreeMap::from([(d, DayCounts::default())]);
        count_session(&mut days, "2025-03-02T10:00:00Z", Some("succeeded"));
        count_session(&mut days, "2025-03-02T23:00:00Z", Some("failed"));
        count_session(&mut days, "2025-03-02T23:30:00Z", Some("canceled"));
        count_session(&mut days, "2025-03-01T10:00:00Z", Some("succeeded"));
        assert_eq!(days[&d], DayCounts { succeeded: 1, failed: 1, other: 1 });
    }
}
