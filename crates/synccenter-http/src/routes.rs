//! The one list of routes. [`route_table`] (what the OpenAPI document and `docs/dashboard.md` describe) and
//! the router are both built from `routes()`, so a route cannot be served without being documented.

use std::sync::Arc;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{MethodRouter, delete, get, post};
use tower_http::limit::RequestBodyLimitLayer;

use crate::feed::Inner;
use crate::{api, assets, security, stream};

/// Where a parameter travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamIn {
    /// In the path (`{name}`).
    Path,
    /// In the query string.
    Query,
    /// In a header.
    Header,
}

/// A documented parameter.
#[derive(Clone, Copy, Debug)]
pub struct ParamDoc {
    /// Name.
    pub name: &'static str,
    /// Where.
    pub location: ParamIn,
    /// JSON Schema type: `string`, `integer` or `boolean`.
    pub kind: &'static str,
    /// Meaning.
    pub description: &'static str,
}

/// A documented route.
#[derive(Clone, Copy, Debug)]
pub struct RouteDoc {
    /// `GET`, `POST` or `DELETE`.
    pub method: &'static str,
    /// Path with `{param}` placeholders.
    pub path: &'static str,
    /// One line.
    pub summary: &'static str,
    /// Path, query and header parameters.
    pub params: &'static [ParamDoc],
    /// The request body's schema name in the OpenAPI components, if any.
    pub body: Option<&'static str>,
    /// The response: a schema name in the components, or a media type (`text/html` …).
    pub response: &'static str,
    /// The route needs the token.
    pub auth: bool,
}

const fn p(name: &'static str, location: ParamIn, kind: &'static str, description: &'static str) -> ParamDoc {
    ParamDoc { name, location, kind, description }
}

const INCLUDE_HIDDEN: ParamDoc = p("include_hidden", ParamIn::Query, "boolean", "Include hidden entries.");
const HANDLER_PATH: ParamDoc = p("h", ParamIn::Path, "string", "The handler ID.");
const ID_PATH: ParamDoc = p("id", ParamIn::Path, "string", "The ID.");

struct Route {
    doc: RouteDoc,
    service: MethodRouter<Arc<Inner>>,
}

fn r(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    params: &'static [ParamDoc],
    body: Option<&'static str>,
    response: &'static str,
    service: MethodRouter<Arc<Inner>>,
) -> Route {
    let auth = path.starts_with("/api/") || path == "/metrics";
    Route { doc: RouteDoc { method, path, summary, params, body, response, auth }, service }
}

fn routes() -> Vec<Route> {
    use ParamIn::{Header, Query};
    vec![
        r("GET", "/", "The dashboard page.", &[], None, "text/html", get(assets::index)),
        r("GET", "/app.js", "The dashboard script.", &[], None, "text/javascript", get(assets::app_js)),
        r("GET", "/style.css", "The dashboard style sheet.", &[], None, "text/css", get(assets::style_css)),
        r(
            "GET",
            "/login",
            "Checks the token, sets the HttpOnly SameSite=Strict cookie and redirects (303) to /.",
            const { &[p("token", Query, "string", "The dashboard token.")] },
            None,
            "redirect",
            get(api::login),
        ),
        r("GET", "/api/v1/status", "Daemon status (`status`).", &[], None, "Status", get(api::status)),
        r(
            "GET",
            "/api/v1/handlers",
            "Handlers (`handler.list`).",
            const { &[INCLUDE_HIDDEN] },
            None,
            "HandlerList",
            get(api::handlers),
        ),
        r(
            "GET",
            "/api/v1/handlers/{h}/items",
            "A handler's items (`item.list`).",
            const { &[HANDLER_PATH, INCLUDE_HIDDEN] },
            None,
            "ItemList",
            get(api::items),
        ),
        r(
            "GET",
            "/api/v1/handlers/{h}/history-chart",
            "Succeeded, failed and other finished sessions per UTC day, oldest day first (from `sessions.history`).",
            const { &[HANDLER_PATH, p("days", Query, "integer", "Days to cover, 1..=366 (default 14).")] },
            None,
            "HistoryChart",
            get(api::history_chart),
        ),
        r("GET", "/api/v1/sessions", "Live sessions (`sessions.list`).", &[], None, "SessionList", get(api::sessions)),
        r(
            "GET",
            "/api/v1/sessions/history",
            "Finished and live sessions, newest first (`sessions.history`).",
            const {
                &[
                    p("handler", Query, "string", "Only this handler's sessions."),
                    p("before", Query, "string", "Only sessions started before this RFC 3339 time (next page)."),
                    p("limit", Query, "integer", "Page size."),
                ]
            },
            None,
            "SessionHistory",
            get(api::history),
        ),
        r(
            "GET",
            "/api/v1/fleet",
            "Every host of the fleet with its liveness, handlers and live sessions (`fleet.hosts`, `fleet.handlers`, `fleet.sessions` with `live`); a daemon on its own store is a fleet of one.",
            const { &[INCLUDE_HIDDEN] },
            None,
            "Fleet",
            get(api::fleet),
        ),
        r(
            "GET",
            "/api/v1/events",
            "Sync Results, newest first (`events.list`).",
            const {
                &[
                    p("handler", Query, "string", "Handler."),
                    p("item", Query, "string", "Item (with handler)."),
                    p("level", Query, "string", "Levels, comma-separated: info, warning, error."),
                    p("session", Query, "string", "Reporting session."),
                    p("handler_level_only", Query, "boolean", "Only handler-level events."),
                    p("since", Query, "string", "At or after this RFC 3339 time."),
                    p("until", Query, "string", "Before this RFC 3339 time."),
                    p("after", Query, "string", "The `next` cursor of the previous page."),
                    p("limit", Query, "integer", "Page size."),
                ]
            },
            None,
            "EventList",
            get(api::events),
        ),
        r(
            "GET",
            "/api/v1/events/{id}",
            "One event (`events.get`).",
            const { &[ID_PATH] },
            None,
            "Event",
            get(api::event),
        ),
        r(
            "DELETE",
            "/api/v1/events/{id}",
            "Removes one event (`events.remove`).",
            const { &[ID_PATH] },
            None,
            "Removed",
            delete(api::event_delete),
        ),
        r(
            "POST",
            "/api/v1/events/clear",
            "Removes the matching events (`events.clear`); an empty body removes all.",
            &[],
            Some("EventsFilter"),
            "Removed",
            post(api::events_clear),
        ),
        r(
            "GET",
            "/api/v1/conflicts",
            "Conflicts (`conflicts.list`).",
            const { &[p("handler", Query, "string", "Handler."), p("item", Query, "string", "Item (with handler).")] },
            None,
            "ConflictList",
            get(api::conflicts),
        ),
        r(
            "GET",
            "/api/v1/conflicts/{id}",
            "One conflict (`conflicts.get`).",
            const { &[ID_PATH] },
            None,
            "Conflict",
            get(api::conflict),
        ),
        r(
            "POST",
            "/api/v1/conflicts/{id}/resolve",
            "Chooses a resolution (`conflicts.resolve`).",
            const { &[ID_PATH] },
            Some("Resolve"),
            "ResolveResult",
            post(api::resolve),
        ),
        r(
            "POST",
            "/api/v1/control/start",
            "Starts syncs (`control.start`): everything, a handler, or items of a handler.",
            &[],
            Some("ControlTarget"),
            "StartResult",
            post(api::control_start),
        ),
        r(
            "POST",
            "/api/v1/control/stop",
            "Stops syncs (`control.stop`).",
            &[],
            Some("ControlTarget"),
            "Empty",
            post(api::control_stop),
        ),
        r(
            "POST",
            "/api/v1/control/enable",
            "Enables or disables a handler or item (`control.enable`).",
            &[],
            Some("Enable"),
            "Empty",
            post(api::control_enable),
        ),
        r(
            "POST",
            "/api/v1/control/activate",
            "Activates or deactivates a handler (`control.activate`).",
            &[],
            Some("Activate"),
            "Empty",
            post(api::control_activate),
        ),
        r(
            "POST",
            "/api/v1/control/pause",
            "Pauses a handler, or every handler (`control.pause`).",
            &[],
            Some("Pause"),
            "Empty",
            post(api::control_pause),
        ),
        r(
            "POST",
            "/api/v1/control/resume",
            "Resumes a handler, or every paused handler (`control.resume`).",
            &[],
            Some("Resume"),
            "Empty",
            post(api::control_resume),
        ),
        r(
            "GET",
            "/api/v1/stream",
            "Server-Sent Events: `snapshot`, then `update`s with ids `<epoch>-<seq>`; resumable with Last-Event-ID or ?since=.",
            const {
                &[
                    p("Last-Event-ID", Header, "string", "Resume after this event id."),
                    p("since", Query, "string", "Resume after this event id (for clients that cannot set headers)."),
                ]
            },
            None,
            "text/event-stream",
            get(stream::stream),
        ),
        r("GET", "/api/v1/openapi.json", "This document.", &[], None, "OpenApi", get(api::openapi)),
        r("GET", "/metrics", "Prometheus metrics (text format 0.0.4).", &[], None, "text/plain", get(api::metrics)),
    ]
}

/// Every route the dashboard serves, with its documentation.
pub fn route_table() -> Vec<RouteDoc> {
    routes().into_iter().map(|r| r.doc).collect()
}

/// The router behind the security layers.
pub(crate) fn router(inner: Arc<Inner>) -> Router {
    let mut router: Router<Arc<Inner>> = Router::new();
    for route in routes() {
        router = router.route(route.doc.path, route.service);
    }
    router
        .fallback(api::no_route)
        .layer(RequestBodyLimitLayer::new(inner.config.max_body))
        .layer(from_fn_with_state(inner.clone(), security::guard))
        .layer(from_fn(security::headers))
        .with_state(inner)
}
