//! Every method's parameters against `decode_params`: leaving out, or nulling, any required string is
//! `E_POINTER`; leaving out any other required field is `E_INVALIDARG`. Which fields are required is found by
//! removing each member of a minimal valid example, so the only hand-kept list is the examples, and a test
//! checks that it names every method.

use std::collections::BTreeSet;

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use synccenter_protocol::fleet::{
    self, FleetConflictsParams, FleetEventsParams, FleetHandlersParams, FleetSessionsParams,
};
use synccenter_protocol::methods::{self as m, decode_params};
use synccenter_protocol::{ErrorObject, error_codes};

type Decode = fn(&str, &Value) -> Result<(), ErrorObject>;

fn decode<T: DeserializeOwned>(method: &str, params: &Value) -> Result<(), ErrorObject> {
    let raw = RawValue::from_string(params.to_string()).expect("a value is valid JSON");
    decode_params::<T>(method, Some(&raw)).map(|_| ())
}

/// Each method, how the daemon decodes its parameters, and a minimal valid example of them. Every string in an
/// example is a string argument: enumerations are given by number (a missing one is no null pointer).
fn methods() -> Vec<(&'static str, Decode, Value)> {
    let s = "00000000-0000-4000-8000-000000000000";
    vec![
        ("hello", decode::<m::HelloParams>, json!({})),
        ("status", decode::<m::Empty>, json!({})),
        ("session.create", decode::<m::CreateSessionParams>, json!({"handler": "h", "items": ["a"]})),
        ("session.report_progress", decode::<m::ReportProgressParams>, json!({"session": s, "item": "a", "status": 1})),
        ("session.set_handler_progress_text", decode::<m::SetHandlerProgressTextParams>, json!({"session": s})),
        ("session.report_event", decode::<m::ReportEventParams>, json!({"session": s})),
        ("session.can_continue", decode::<m::CanContinueParams>, json!({"session": s})),
        ("session.query_additional_items", decode::<m::SessionParams>, json!({"session": s})),
        ("session.add_item", decode::<m::SessionItemParams>, json!({"session": s, "item": "a"})),
        ("session.add_context", decode::<m::AddContextParams>, json!({"session": s})),
        ("session.propose_item", decode::<m::ProposeItemParams>, json!({"session": s, "item": {"id": "a"}})),
        ("session.commit_item", decode::<m::SessionItemParams>, json!({"session": s, "item": "a"})),
        ("session.report_manual_sync", decode::<m::SessionParams>, json!({"session": s})),
        (
            "session.report_conflict",
            decode::<m::ReportConflictParams>,
            json!({"session": s, "name": "n", "versions": [{}, {}]}),
        ),
        ("session.end", decode::<m::SessionParams>, json!({"session": s})),
        ("handler.register", decode::<m::HandlerRegisterParams>, json!({"handler": "h"})),
        ("handler.list", decode::<m::HandlerListParams>, json!({})),
        ("handler.remove", decode::<m::HandlerParams>, json!({"handler": "h"})),
        ("handler.serve", decode::<m::HandlerParams>, json!({"handler": "h"})),
        ("handler.sync_failed", decode::<m::SyncFailedParams>, json!({"request": "r-1", "reason": "x"})),
        ("item.register", decode::<m::ItemRegisterParams>, json!({"handler": "h", "item": "a"})),
        ("item.list", decode::<m::ItemListParams>, json!({"handler": "h"})),
        ("control.start", decode::<m::ControlTargetParams>, json!({})),
        ("control.stop", decode::<m::ControlTargetParams>, json!({})),
        ("control.enable", decode::<m::EnableParams>, json!({"handler": "h", "enable": true})),
        ("control.activate", decode::<m::ActivateParams>, json!({"handler": "h", "activate": true})),
        ("control.delete_item", decode::<m::DeleteItemParams>, json!({"handler": "h", "item": "a"})),
        ("control.reload", decode::<m::Empty>, json!({})),
        ("control.pause", decode::<m::PauseParams>, json!({})),
        ("control.resume", decode::<m::ResumeParams>, json!({})),
        ("sessions.list", decode::<m::Empty>, json!({})),
        ("sessions.history", decode::<m::SessionsHistoryParams>, json!({})),
        ("events.list", decode::<m::EventsFilterParams>, json!({})),
        ("events.get", decode::<m::EventParams>, json!({"event": s})),
        ("events.remove", decode::<m::EventsRemoveParams>, json!({"events": []})),
        ("events.clear", decode::<m::EventsFilterParams>, json!({})),
        ("conflicts.list", decode::<m::ConflictsListParams>, json!({})),
        ("conflicts.get", decode::<m::ConflictParams>, json!({"conflict": s})),
        ("conflicts.resolve", decode::<m::ResolveParams>, json!({"conflict": s, "choice": {"keep": [{"index": 0}]}})),
        ("conflicts.remove", decode::<m::ConflictsRemoveParams>, json!({"conflicts": []})),
        ("session.declare_suspendable", decode::<m::SessionParams>, json!({"session": s})),
        ("desktop.report", decode::<m::DesktopReportParams>, json!({"state": "x"})),
        ("subscribe", decode::<m::Empty>, json!({})),
        ("ping.report", decode::<m::PingReportParams>, json!({})),
        ("ping.url", decode::<m::PingUrlParams>, json!({"handler": "h", "item": "a"})),
        ("logs.read", decode::<m::LogsReadParams>, json!({"session": "s"})),
        (fleet::FLEET_HOSTS, decode::<m::Empty>, json!({})),
        (fleet::FLEET_HANDLERS, decode::<FleetHandlersParams>, json!({})),
        (fleet::FLEET_SESSIONS, decode::<FleetSessionsParams>, json!({})),
        (fleet::FLEET_EVENTS, decode::<FleetEventsParams>, json!({})),
        (fleet::FLEET_CONFLICTS, decode::<FleetConflictsParams>, json!({})),
    ]
}

/// Every declared method (`api::ALL`), so that a new method cannot be left out of [`methods`].
fn declared_methods() -> BTreeSet<String> {
    synccenter_protocol::api::ALL.iter().map(|m| m.name.to_owned()).collect()
}

#[test]
fn the_examples_cover_every_method() {
    let declared = declared_methods();
    assert!(declared.len() >= 40, "only {} methods read from the source", declared.len());
    let listed: BTreeSet<String> = methods().iter().map(|(name, _, _)| (*name).to_owned()).collect();
    assert_eq!(listed, declared);
}

/// The path of every member of `v`, at any depth, with whether its value is a string.
fn members(v: &Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, bool)>) {
    let inner: Vec<(String, &Value)> = match v {
        Value::Object(o) => o.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Value::Array(a) => a.iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect(),
        _ => return,
    };
    for (step, child) in inner {
        path.push(step);
        if v.is_object() {
            out.push((path.clone(), child.is_string()));
        }
        members(child, path, out);
        path.pop();
    }
}

/// `v` with the member at `path` removed (`None`) or replaced.
fn edited(v: &Value, path: &[String], with: Option<Value>) -> Value {
    let mut v = v.clone();
    let (last, parents) = path.split_last().expect("a member path");
    let parent = parents.iter().fold(&mut v, |v, step| match v {
        Value::Array(a) => &mut a[step.parse::<usize>().expect("an index")],
        other => &mut other[step.as_str()],
    });
    let object = parent.as_object_mut().expect("a member's parent is an object");
    match with {
        None => object.shift_remove(last),
        Some(new) => object.insert(last.clone(), new),
    };
    v
}

fn refusal(name: &str, decode: Decode, params: &Value) -> Option<(i64, String)> {
    decode(name, params).err().map(|e| (e.code, e.data.name))
}

#[test]
fn a_required_string_left_out_or_null_is_a_null_pointer_and_nothing_else_is() {
    let pointer = Some((error_codes::INVALID_PARAMS, "E_POINTER".to_owned()));
    let invalid = Some((error_codes::INVALID_PARAMS, "E_INVALIDARG".to_owned()));
    let mut required_strings = BTreeSet::new();
    for (name, decode, example) in methods() {
        assert_eq!(decode(name, &example), Ok(()), "{name}: the example must be valid");
        let mut all = Vec::new();
        members(&example, &mut Vec::new(), &mut all);
        for (path, is_string) in all {
            let at = format!("{name} {}", path.join("."));
            let without = refusal(name, decode, &edited(&example, &path, None));
            let null = refusal(name, decode, &edited(&example, &path, Some(Value::Null)));
            match (without.is_some(), is_string) {
                (true, true) => {
                    assert_eq!(without, pointer, "{at} left out");
                    assert_eq!(null, pointer, "{at} null");
                    required_strings.insert(at.clone());
                }
                (true, false) => assert_eq!(without, invalid, "{at} left out"),
                (false, _) => assert_ne!(null, pointer, "{at} is optional; null for it is no null pointer"),
            }
            // A number where a string goes is the wrong type, never a null pointer.
            if is_string {
                assert_eq!(refusal(name, decode, &edited(&example, &path, Some(json!(7)))), invalid, "{at} = 7");
            }
        }
    }
    for at in ["session.create handler", "session.report_progress item", "session.propose_item item.id"] {
        assert!(required_strings.contains(at), "{at} not found among {required_strings:?}");
    }
}
