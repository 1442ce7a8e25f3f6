//! The OpenAPI 3.1 document served at `/api/v1/openapi.json`, built from the route table's descriptions
//! (paths, parameters, bodies, responses) and hand-written component schemas that follow the protocol's types.

use serde_json::{Map, Value, json};

use crate::config::COOKIE_NAME;
use crate::route_doc::{ParamIn, RouteDoc};

fn string() -> Value {
    json!({"type": "string"})
}
fn int() -> Value {
    json!({"type": "integer"})
}
fn boolean() -> Value {
    json!({"type": "boolean"})
}
fn strings() -> Value {
    json!({"type": "array", "items": {"type": "string"}})
}
/// The optional `host` of control bodies.
fn host() -> Value {
    json!({"type": "string", "description": "The fleet host that carries the call out; absent or this daemon's host: here. Another host's name is forwarded through the shared database."})
}
fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}
fn list(name: &str) -> Value {
    json!({"type": "array", "items": schema_ref(name)})
}

/// An object schema; `required` names must-have properties.
fn obj(props: &[(&str, Value)], required: &[&str], closed: bool) -> Value {
    let mut p = Map::new();
    for (k, v) in props {
        p.insert((*k).to_owned(), v.clone());
    }
    let mut o = json!({"type": "object", "properties": p, "required": required});
    if closed && let Some(m) = o.as_object_mut() {
        m.insert("additionalProperties".into(), Value::Bool(false));
    }
    o
}

fn schemas() -> Value {
    let status_enum = json!({"type": "string", "enum": ["pending", "updating", "updating_indeterminate", "succeeded", "failed", "canceled", "disconnected"]});
    let level = json!({"type": "string", "enum": ["info", "warning", "error"]});
    // The amount in its unit beside the steps (docs/protocol.md, Units).
    let amount = obj(
        &[("unit", json!({"type": "string", "enum": ["steps", "bytes", "files"]})), ("done", int()), ("total", int())],
        &["unit", "done", "total"],
        false,
    );
    let session_item = obj(
        &[
            ("item", string()),
            ("status", status_enum.clone()),
            ("step", int()),
            ("max_step", int()),
            ("text", string()),
            ("amount", amount.clone()),
        ],
        &["item", "step", "max_step", "text"],
        false,
    );
    let mut schemas = json!({
        "Error": obj(&[("error", obj(&[("message", string()), ("hresult", int()), ("name", string())], &["message", "hresult", "name"], false))], &["error"], false),
        "Empty": obj(&[], &[], false),
        "Status": obj(&[
            ("server", string()), ("protocol", int()), ("pid", int()), ("socket", string()), ("data_dir", string()), ("store", string()),
            ("started_at", string()), ("handlers", int()), ("live_sessions", int()), ("connections", int()),
            ("reports_applied", int()), ("config", string()), ("config_error", string()), ("overdue", strings()), ("waiting", strings()),
            ("next_run", string()), ("paused", json!({"type": "array", "items": obj(&[("handler", string()), ("until", string())], &["handler"], false)})),
            ("http", string()), ("host", string()),
            ("degraded", obj(&[("reason", string()), ("since", string()), ("buffered_batches", int()), ("buffered_bytes", int())], &["reason", "since"], false)),
        ], &["server", "protocol", "started_at", "live_sessions", "reports_applied"], false),
        "Handler": obj(&[
            ("handler", string()), ("name", string()), ("type", string()), ("type_label", string()), ("comment", string()), ("display_text", string()),
            ("last_sync", string()), ("active", boolean()), ("enabled", boolean()), ("connected", boolean()), ("hidden", boolean()),
            ("capabilities", strings()), ("policies", strings()), ("retention", json!({})), ("syncing", boolean()),
            ("paused", boolean()), ("paused_until", string()), ("command", boolean()), ("next_run", string()), ("overdue", boolean()),
            ("waiting", string()), ("item_count", int()), ("error_count", int()), ("conflict_count", int()),
        ], &["handler", "name"], false),
        "HandlerList": obj(&[("handlers", list("Handler"))], &["handlers"], false),
        "Item": obj(&[
            ("item", string()), ("name", string()), ("type_label", string()), ("comment", string()), ("last_sync", string()), ("enabled", boolean()),
            ("connected", boolean()), ("hidden", boolean()), ("capabilities", strings()), ("policies", strings()),
            ("error_count", int()), ("next_run", string()), ("overdue", boolean()), ("waiting", string()),
            ("progress", obj(&[("status", status_enum.clone()), ("step", int()), ("max_step", int()), ("text", string()), ("indeterminate", boolean()), ("amount", amount)], &["text", "indeterminate"], false)),
        ], &["item", "name"], false),
        "ItemList": obj(&[("items", list("Item"))], &["items"], false),
        "SessionItem": session_item,
        "Session": obj(&[
            ("session", string()), ("handler", string()), ("started_at", string()), ("manual", boolean()), ("handler_text", string()),
            ("stop_all", boolean()), ("stopped_items", strings()), ("items", list("SessionItem")),
        ], &["session", "handler", "started_at", "items"], false),
        "SessionList": obj(&[("sessions", list("Session"))], &["sessions"], false),
        "SessionRecord": obj(&[
            ("session", string()), ("handler", string()), ("started_at", string()), ("manual", boolean()), ("ended_at", string()),
            ("end_reason", string()), ("status", status_enum), ("items", list("SessionItem")),
        ], &["session", "handler", "started_at", "items"], false),
        "SessionHistory": obj(&[("sessions", list("SessionRecord"))], &["sessions"], false),
        "Host": obj(&[
            ("host", string()), ("this_host", boolean()), ("up", boolean()), ("started_at", string()), ("seen_at", string()),
            ("down_since", string()), ("version", string()), ("handlers", int()), ("live_sessions", int()),
        ], &["host", "this_host", "up", "started_at", "seen_at", "version", "handlers", "live_sessions"], false),
        "FleetHandler": {"allOf": [schema_ref("Handler"), obj(&[("host", string())], &["host"], false)]},
        "FleetSession": {"allOf": [schema_ref("SessionRecord"), obj(&[("host", string())], &["host"], false)]},
        "Fleet": obj(&[
            ("host", string()), ("shared", boolean()), ("hosts", list("Host")), ("handlers", list("FleetHandler")),
            ("sessions", list("FleetSession")),
        ], &["host", "shared", "hosts", "handlers", "sessions"], false),
        "Event": obj(&[
            ("event", string()), ("handler", string()), ("item", string()), ("session", string()), ("level", level.clone()), ("name", string()),
            ("description", string()), ("link_text", string()), ("link_reference", string()), ("context", string()), ("time", string()),
        ], &["event", "handler", "level", "name", "description", "time"], false),
        "EventList": obj(&[("events", list("Event")), ("next", string()), ("total", int())], &["events", "total"], false),
        "EventsFilter": obj(&[
            ("handler", string()), ("item", string()), ("handler_level_only", boolean()), ("levels", json!({"type": "array", "items": level})),
            ("session", string()), ("since", string()), ("until", string()), ("after", string()), ("limit", int()),
        ], &[], true),
        "Removed": obj(&[("removed", int())], &["removed"], false),
        "PingUrl": obj(&[
            ("handler", string()), ("item", string()), ("uuid", string()), ("key", string()), ("path", string()), ("slug_path", string()),
            ("url", string()), ("slug_url", string()), ("push_url", string()), ("body_limit", int()), ("grace_seconds", int()),
        ], &["handler", "item", "uuid", "key", "path", "slug_path", "body_limit", "grace_seconds"], false),
        "PushResult": obj(&[("ok", boolean()), ("msg", string())], &["ok"], false),
        "Conflict": obj(&[
            ("conflict", string()), ("handler", string()), ("item", string()), ("key", string()), ("name", string()), ("description", string()),
            ("versions", json!({"type": "array", "items": {"type": "object"}})), ("abilities", strings()),
            ("detected_at", string()), ("resolution", json!({"type": "object"})),
        ], &["conflict", "handler", "name", "versions"], false),
        "ConflictList": obj(&[("conflicts", list("Conflict"))], &["conflicts"], false),
        "Choice": {"oneOf": [
            {"type": "string", "enum": ["keep_recent", "remove_from_sync_set"]},
            obj(&[("keep", json!({"type": "array", "items": obj(&[("index", int()), ("new_name", string())], &["index"], true)}))], &["keep"], true),
            obj(&[("keep_other", string())], &["keep_other"], true),
        ]},
        "Resolve": obj(&[("host", host()), ("choice", schema_ref("Choice")), ("apply_to_all", boolean())], &["choice"], true),
        "ResolveResult": obj(&[("recorded", strings()), ("needs_attention", strings())], &["recorded", "needs_attention"], false),
        "ControlTarget": obj(&[("host", host()), ("handler", string()), ("items", strings()), ("flags", strings()), ("context", json!({}))], &[], true),
        "StartResult": obj(&[("requests", strings())], &["requests"], false),
        "Enable": obj(&[("host", host()), ("handler", string()), ("item", string()), ("enable", boolean()), ("flags", strings())], &["handler", "enable"], true),
        "Activate": obj(&[("host", host()), ("handler", string()), ("activate", boolean()), ("flags", strings())], &["handler", "activate"], true),
        "Pause": obj(&[("host", host()), ("handler", string()), ("until", string())], &[], true),
        "Resume": obj(&[("host", host()), ("handler", string())], &[], true),
        "HistoryChart": obj(&[
            ("handler", string()),
            ("days", json!({"type": "array", "items": obj(&[("date", string()), ("succeeded", int()), ("failed", int()), ("other", int())], &["date", "succeeded", "failed", "other"], false)})),
        ], &["handler", "days"], false),
        "Update": {"type": "object", "description": "The protocol's `update` push: `seq`, `type` and the fields of the change.", "properties": {"seq": int(), "type": string()}, "required": ["seq", "type"]},
        "OpenApi": {"type": "object"},
    });
    // Outside the literal above, which is at `json!`'s recursion limit.
    schemas["RunLog"] = obj(
        &[("text", string()), ("next_offset", int()), ("complete", boolean())],
        &["text", "next_offset", "complete"],
        false,
    );
    schemas
}

fn operation(route: &RouteDoc) -> Value {
    let params: Vec<Value> = route
        .params
        .iter()
        .map(|p| {
            let location = match p.location {
                ParamIn::Path => "path",
                ParamIn::Query => "query",
                ParamIn::Header => "header",
            };
            json!({
                "name": p.name, "in": location, "required": p.location == ParamIn::Path,
                "description": p.description, "schema": {"type": p.kind},
            })
        })
        .collect();
    let ok = match route.response {
        "redirect" => json!({"303": {"description": "To `/`, with the cookie set."}}),
        media if media.contains('/') => {
            json!({"200": {"description": "OK", "content": {media: {"schema": {"type": "string"}}}}})
        }
        schema => {
            json!({"200": {"description": "OK", "content": {"application/json": {"schema": schema_ref(schema)}}}})
        }
    };
    let mut responses = ok.as_object().cloned().unwrap_or_default();
    let error = json!({"description": "Error", "content": {"application/json": {"schema": schema_ref("Error")}}});
    responses.insert("default".into(), error);
    let mut op = json!({
        "summary": route.summary,
        "operationId": format!("{} {}", route.method, route.path),
        "parameters": params,
        "responses": responses,
    });
    if let Some(m) = op.as_object_mut() {
        if let Some(body) = route.body {
            m.insert(
                "requestBody".into(),
                json!({"required": false, "content": {"application/json": {"schema": schema_ref(body)}}}),
            );
        }
        let security = if route.auth { json!([{"cookie": []}, {"bearer": []}]) } else { json!([]) };
        m.insert("security".into(), security);
    }
    op
}

pub(crate) fn document(routes: &[RouteDoc]) -> Value {
    let mut paths = Map::new();
    for route in routes {
        let entry = paths.entry(route.path.to_owned()).or_insert_with(|| json!({}));
        if let Some(e) = entry.as_object_mut() {
            e.insert(route.method.to_ascii_lowercase(), operation(route));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "synccenter dashboard API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Mirrors the local protocol's registry, control, results and conflicts. Every /api route (but Uptime Kuma's /api/push/…, which like /ping/… is credentialed by its secret path) and /metrics need the token (cookie `synccenter_token` or `Authorization: Bearer`); requests other than GET/HEAD also need `Origin: http://<Host>`, and a foreign Origin is refused on every request. See docs/dashboard.md.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "cookie": {"type": "apiKey", "in": "cookie", "name": COOKIE_NAME},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    })
}
