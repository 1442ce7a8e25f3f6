//! The one list of routes. [`route_table`] (what the OpenAPI document and `docs/dashboard.md` describe) and
//! the router are both built from `routes()`, so a route cannot be served without being documented. The
//! OpenAPI document's own handler is here too: it is the one handler that needs the table.

use std::sync::Arc;

use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{MethodRouter, delete, get, post};
use axum::{Json, Router};
use serde_json::Value;
use tower_http::limit::RequestBodyLimitLayer;

use crate::route_doc::{ParamDoc, ParamIn, RouteDoc, param};
use crate::state::AppState;
use crate::{api, assets, openapi, ping, security, stream};

const INCLUDE_HIDDEN: ParamDoc = param("include_hidden", ParamIn::Query, "boolean", "Include hidden entries.");
const HANDLER_PATH: ParamDoc = param("h", ParamIn::Path, "string", "The handler ID.");
const ID_PATH: ParamDoc = param("id", ParamIn::Path, "string", "The ID.");
const ITEM_PATH: ParamDoc = param("i", ParamIn::Path, "string", "The item ID.");
const PING_CHECK: ParamDoc = param("check", ParamIn::Path, "string", "The item's ping UUID (`synccenter ping-url`).");
const PING_FIRST: ParamDoc =
    param("first", ParamIn::Path, "string", "The item's ping UUID, or the handler's ping key.");
const PING_SECOND: ParamDoc =
    param("second", ParamIn::Path, "string", "After a UUID: start, fail, log or 0-255; after a key: the slug.");
const PING_KEY: ParamDoc = param("key", ParamIn::Path, "string", "The handler's ping key.");
const PING_SLUG: ParamDoc = param("slug", ParamIn::Path, "string", "The item ID in lower case.");
const PING_SIGNAL: ParamDoc = param("signal", ParamIn::Path, "string", "start, fail, log or an exit status 0-255.");
const PING_RID: ParamDoc =
    param("rid", ParamIn::Query, "string", "A run ID (canonical UUID) pairing a start with its end.");
const PING_CREATE: ParamDoc =
    param("create", ParamIn::Query, "string", "1: register the slug's item when the handler has none (201 Created).");
const PUSH_TOKEN: ParamDoc = param("token", ParamIn::Path, "string", "The item's ping UUID.");
const PUSH_STATUS: ParamDoc = param("status", ParamIn::Query, "string", "up (default) or down.");
const PUSH_MSG: ParamDoc = param("msg", ParamIn::Query, "string", "Text kept with the event.");
const PUSH_PING: ParamDoc = param("ping", ParamIn::Query, "string", "A response time in ms (checked, not stored).");

struct Route {
    doc: RouteDoc,
    service: MethodRouter<Arc<AppState>>,
}

fn route(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    params: &'static [ParamDoc],
    body: Option<&'static str>,
    response: &'static str,
    service: MethodRouter<Arc<AppState>>,
) -> Route {
    let auth = (path.starts_with("/api/") && !security::is_ping(path)) || path == "/metrics";
    Route { doc: RouteDoc { method, path, summary, params, body, response, auth }, service }
}

fn routes() -> Vec<Route> {
    use ParamIn::{Header, Query};
    vec![
        route("GET", "/", "The dashboard page.", &[], None, "text/html", get(assets::index)),
        route("GET", "/app.js", "The dashboard script.", &[], None, "text/javascript", get(assets::app_js)),
        route("GET", "/style.css", "The dashboard style sheet.", &[], None, "text/css", get(assets::style_css)),
        route(
            "GET",
            "/login",
            "Checks the token, sets the HttpOnly SameSite=Strict cookie and redirects (303) to /.",
            const { &[param("token", Query, "string", "The dashboard token.")] },
            None,
            "redirect",
            get(api::login),
        ),
        route("GET", "/api/v1/status", "Daemon status (`status`).", &[], None, "Status", get(api::status)),
        route(
            "GET",
            "/api/v1/handlers",
            "Handlers (`handler.list`).",
            const { &[INCLUDE_HIDDEN] },
            None,
            "HandlerList",
            get(api::handlers),
        ),
        route(
            "GET",
            "/api/v1/handlers/{h}/items",
            "A handler's items (`item.list`).",
            const { &[HANDLER_PATH, INCLUDE_HIDDEN] },
            None,
            "ItemList",
            get(api::items),
        ),
        route(
            "GET",
            "/api/v1/handlers/{h}/items/{i}/ping-url",
            "The item's ping UUID, its handler's ping key and the Healthchecks and Uptime Kuma URLs built from them (`ping.url`; docs/integrations.md).",
            const { &[HANDLER_PATH, ITEM_PATH] },
            None,
            "PingUrl",
            get(api::ping_url),
        ),
        route(
            "GET",
            "/api/v1/handlers/{h}/history-chart",
            "Succeeded, failed and other finished sessions per UTC day, oldest day first (from `sessions.history`).",
            const { &[HANDLER_PATH, param("days", Query, "integer", "Days to cover, 1..=366 (default 14).")] },
            None,
            "HistoryChart",
            get(api::history_chart),
        ),
        route(
            "GET",
            "/api/v1/sessions",
            "Live sessions (`sessions.list`).",
            &[],
            None,
            "SessionList",
            get(api::sessions),
        ),
        route(
            "GET",
            "/api/v1/sessions/history",
            "Finished and live sessions, newest first (`sessions.history`).",
            const {
                &[
                    param("handler", Query, "string", "Only this handler's sessions."),
                    param("before", Query, "string", "Only sessions started before this RFC 3339 time (next page)."),
                    param("limit", Query, "integer", "Page size."),
                ]
            },
            None,
            "SessionHistory",
            get(api::history),
        ),
        route(
            "GET",
            "/api/v1/sessions/{id}/log",
            "A page of a command run's log (`logs.read`; docs/commands.md, Run logs).",
            const {
                &[
                    ID_PATH,
                    param("item", Query, "string", "Only this item's lines."),
                    param("offset", Query, "integer", "Where to start: 0, or the `next_offset` of the previous page."),
                    param("limit", Query, "integer", "Bytes of the log to read (at most 1048576)."),
                ]
            },
            None,
            "RunLog",
            get(api::run_log),
        ),
        route(
            "GET",
            "/api/v1/fleet",
            "Every host of the fleet with its liveness, handlers and live sessions (`fleet.hosts`, `fleet.handlers`, `fleet.sessions` with `live`); a daemon on its own store is a fleet of one.",
            const { &[INCLUDE_HIDDEN] },
            None,
            "Fleet",
            get(api::fleet),
        ),
        route(
            "GET",
            "/api/v1/events",
            "Sync Results, newest first (`events.list`).",
            const {
                &[
                    param("handler", Query, "string", "Handler."),
                    param("item", Query, "string", "Item (with handler)."),
                    param("level", Query, "string", "Levels, comma-separated: info, warning, error."),
                    param("session", Query, "string", "Reporting session."),
                    param("handler_level_only", Query, "boolean", "Only handler-level events."),
                    param("since", Query, "string", "At or after this RFC 3339 time."),
                    param("until", Query, "string", "Before this RFC 3339 time."),
                    param("after", Query, "string", "The `next` cursor of the previous page."),
                    param("limit", Query, "integer", "Page size."),
                ]
            },
            None,
            "EventList",
            get(api::events),
        ),
        route(
            "GET",
            "/api/v1/events/{id}",
            "One event (`events.get`).",
            const { &[ID_PATH] },
            None,
            "Event",
            get(api::event),
        ),
        route(
            "DELETE",
            "/api/v1/events/{id}",
            "Removes one event (`events.remove`).",
            const { &[ID_PATH] },
            None,
            "Removed",
            delete(api::event_delete),
        ),
        route(
            "POST",
            "/api/v1/events/clear",
            "Removes the matching events (`events.clear`); an empty body removes all.",
            &[],
            Some("EventsFilter"),
            "Removed",
            post(api::events_clear),
        ),
        route(
            "GET",
            "/api/v1/conflicts",
            "Conflicts (`conflicts.list`).",
            const {
                &[param("handler", Query, "string", "Handler."), param("item", Query, "string", "Item (with handler).")]
            },
            None,
            "ConflictList",
            get(api::conflicts),
        ),
        route(
            "GET",
            "/api/v1/conflicts/{id}",
            "One conflict (`conflicts.get`).",
            const { &[ID_PATH] },
            None,
            "Conflict",
            get(api::conflict),
        ),
        route(
            "POST",
            "/api/v1/conflicts/{id}/resolve",
            "Chooses a resolution (`conflicts.resolve`).",
            const { &[ID_PATH] },
            Some("Resolve"),
            "ResolveResult",
            post(api::resolve),
        ),
        route(
            "POST",
            "/api/v1/control/start",
            "Starts syncs (`control.start`): everything, a handler, or items of a handler.",
            &[],
            Some("ControlTarget"),
            "StartResult",
            post(api::control_start),
        ),
        route(
            "POST",
            "/api/v1/control/stop",
            "Stops syncs (`control.stop`).",
            &[],
            Some("ControlTarget"),
            "Empty",
            post(api::control_stop),
        ),
        route(
            "POST",
            "/api/v1/control/enable",
            "Enables or disables a handler or item (`control.enable`).",
            &[],
            Some("Enable"),
            "Empty",
            post(api::control_enable),
        ),
        route(
            "POST",
            "/api/v1/control/activate",
            "Activates or deactivates a handler (`control.activate`).",
            &[],
            Some("Activate"),
            "Empty",
            post(api::control_activate),
        ),
        route(
            "POST",
            "/api/v1/control/pause",
            "Pauses a handler, or every handler (`control.pause`).",
            &[],
            Some("Pause"),
            "Empty",
            post(api::control_pause),
        ),
        route(
            "POST",
            "/api/v1/control/resume",
            "Resumes a handler, or every paused handler (`control.resume`).",
            &[],
            Some("Resume"),
            "Empty",
            post(api::control_resume),
        ),
        route(
            "GET",
            "/api/v1/stream",
            "Server-Sent Events: `snapshot`, then `update`s with ids `<epoch>-<seq>`; resumable with Last-Event-ID or ?since=.",
            const {
                &[
                    param("Last-Event-ID", Header, "string", "Resume after this event id."),
                    param(
                        "since",
                        Query,
                        "string",
                        "Resume after this event id (for clients that cannot set headers).",
                    ),
                ]
            },
            None,
            "text/event-stream",
            get(stream::stream),
        ),
        route(
            "GET",
            "/ping/{check}",
            "Healthchecks success ping for the item whose ping UUID this is (HEAD too); no token (docs/integrations.md).",
            const { &[PING_CHECK, PING_RID] },
            None,
            "text/plain",
            get(ping::ping_check),
        ),
        route(
            "POST",
            "/ping/{check}",
            "The same; the text/plain body (a log) is stored up to Ping-Body-Limit bytes.",
            const { &[PING_CHECK, PING_RID] },
            None,
            "text/plain",
            post(ping::ping_check),
        ),
        route(
            "GET",
            "/ping/{first}/{second}",
            "A ping UUID with /start, /fail, /log or /<exit status 0-255>; or a handler's ping key with a slug (the item ID in lower case): success.",
            const { &[PING_FIRST, PING_SECOND, PING_RID, PING_CREATE] },
            None,
            "text/plain",
            get(ping::ping_pair),
        ),
        route(
            "POST",
            "/ping/{first}/{second}",
            "The same with a body (a log).",
            const { &[PING_FIRST, PING_SECOND, PING_RID, PING_CREATE] },
            None,
            "text/plain",
            post(ping::ping_pair),
        ),
        route(
            "GET",
            "/ping/{key}/{slug}/{signal}",
            "A handler's ping key and a slug with /start, /fail, /log or /<exit status 0-255>.",
            const { &[PING_KEY, PING_SLUG, PING_SIGNAL, PING_RID, PING_CREATE] },
            None,
            "text/plain",
            get(ping::ping_slug),
        ),
        route(
            "POST",
            "/ping/{key}/{slug}/{signal}",
            "The same with a body (a log).",
            const { &[PING_KEY, PING_SLUG, PING_SIGNAL, PING_RID, PING_CREATE] },
            None,
            "text/plain",
            post(ping::ping_slug),
        ),
        route(
            "GET",
            "/api/push/{token}",
            "Uptime Kuma's push: status=up (default) is a success of the item whose ping UUID is the token, anything else a failure; msg is the event's text. No token cookie needed.",
            const { &[PUSH_TOKEN, PUSH_STATUS, PUSH_MSG, PUSH_PING] },
            None,
            "PushResult",
            get(ping::push),
        ),
        route(
            "POST",
            "/api/push/{token}",
            "The same by POST (the body is ignored, as Uptime Kuma ignores it).",
            const { &[PUSH_TOKEN, PUSH_STATUS, PUSH_MSG, PUSH_PING] },
            None,
            "PushResult",
            post(ping::push),
        ),
        route("GET", "/api/v1/openapi.json", "This document.", &[], None, "OpenApi", get(openapi_json)),
        route("GET", "/metrics", "Prometheus metrics (text format 0.0.4).", &[], None, "text/plain", get(api::metrics)),
    ]
}

/// `GET /api/v1/openapi.json`.
async fn openapi_json() -> Json<Value> {
    Json(openapi::document(&route_table()))
}

/// Every route the dashboard serves, with its documentation.
pub fn route_table() -> Vec<RouteDoc> {
    routes().into_iter().map(|route| route.doc).collect()
}

/// The router behind the security layers.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let mut router: Router<Arc<AppState>> = Router::new();
    for route in routes() {
        // Ping bodies (a job's log) may be larger than the API's: they are cut to Ping-Body-Limit when stored.
        let limit = if security::is_ping(route.doc.path) { ping::PING_MAX_REQUEST_BODY } else { state.config.max_body };
        router = router.route(route.doc.path, route.service.layer(RequestBodyLimitLayer::new(limit)));
    }
    router
        .fallback(api::no_route)
        .layer(from_fn_with_state(state.clone(), security::guard))
        .layer(from_fn(security::headers))
        .with_state(state)
}
