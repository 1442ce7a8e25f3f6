//! `control.*`, `handler.*` and `item.*`: the person's side, and registration.

use std::time::Duration;

use serde_json::json;
use synccenter_core::{Change, HandlerId, ItemId};
use synccenter_protocol::StatusWire;
use synccenter_protocol::methods::{self as m, ItemFields};

use super::*;

fn ids(h: &str, i: &str) -> (HandlerId, ItemId) {
    (HandlerId::new(h).expect("handler ID"), ItemId::new(i).expect("item ID"))
}

/// A handler's connection that serves `h` (with item `a`), and a person's.
fn served() -> (Fixture, Client, Client) {
    let (mut fx, mut handler) = Fixture::with_handler(&["a"]);
    let person = fx.connect();
    fx.ok(&mut handler, Call::HandlerServe(m::HandlerParams { handler: "h".into() }));
    (fx, handler, person)
}

#[test]
fn a_start_is_pushed_to_the_serving_connection_and_its_result_to_the_starter() {
    let (mut fx, mut handler, mut person) = served();
    let error = fx.refused(&mut handler, Call::HandlerServe(m::HandlerParams { handler: "nope".into() }));
    assert_eq!(hresult(&error), "E_INVALIDARG", "{error}");

    let started = fx.ok(&mut person, Call::ControlStart(target("h", None)));
    let request = started["requests"][0].clone();
    let pushed = handler.pushes("handler.sync_requested");
    assert_eq!(pushed, vec![json!({ "request": request, "handler": "h", "items": ["a"], "contexts": [] })]);
    assert!(person.pushes("handler.sync_requested").is_empty(), "only a serving connection is asked");

    let s = fx.session(&mut handler, "h", &["a"]);
    fx.ok(&mut handler, progress(&s, "a", StatusWire::Succeeded, 100));
    assert!(person.pushes("control.sync_result").is_empty(), "the request is served until the session ends");
    fx.ok(&mut handler, end(&s));
    let results = person.pushes("control.sync_result");
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!((&results[0]["request"], &results[0]["status"]), (&request, &json!("succeeded")));
}

#[test]
fn a_handler_that_cannot_start_fails_the_request_with_an_event() {
    let (mut fx, mut handler, mut person) = served();
    fx.ok(&mut person, Call::ControlStart(target("h", Some(&["a"]))));
    let request = handler.pushes("handler.sync_requested")[0]["request"].as_str().expect("request").to_owned();

    let failed = |request: &str| {
        Call::HandlerSyncFailed(m::SyncFailedParams { request: request.into(), reason: "the device is away".into() })
    };
    let id = fx.send(&handler, failed(&request));
    assert!(!handler.has_reply(&id), "the failure's event is stored before the reply");
    let written = fx.commit();
    assert!(written.iter().any(|ch| matches!(ch, Change::EventAdded(e) if e.description.contains("device is away"))));
    handler.result(&id);
    let results = person.pushes("control.sync_result");
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0]["status"], "failed");
    fx.refused(&mut handler, failed(&request));
}

#[test]
fn a_stop_reaches_the_owner_at_once_before_any_commit() {
    let (mut fx, mut owner, s) = Fixture::with_session(&["a", "b"]);
    let mut person = fx.connect();
    // The owner has a reply waiting for a commit; the stop must not wait behind it.
    let held = fx.send(&owner, Call::SessionReportEvent(event(&s, EventLevelWire::Info, "Started", "Copying")));

    let stop = fx.send(&person, Call::ControlStop(target("h", Some(&["a"]))));
    assert_eq!(
        owner.pushes("session.cancel_requested"),
        vec![json!({ "session": s, "item": "a", "cancel": "cancel_item" })]
    );
    assert_eq!(person.result(&stop), json!({}), "a stop is not stored: its reply leaves at once");
    fx.send(&person, Call::ControlStop(target("h", None)));
    assert_eq!(owner.pushes("session.cancel_requested"), vec![json!({ "session": s, "cancel": "cancel_all" })]);
    assert!(!owner.has_reply(&held), "nothing was committed meanwhile");

    fx.commit();
    owner.result(&held);
    let check = Call::SessionCanContinue(m::CanContinueParams { session: s.clone(), item: Some("b".into()) });
    assert_eq!(fx.ok(&mut owner, check), json!({ "continue": false }));
    let report = fx.ok(&mut owner, progress(&s, "b", StatusWire::Updating, 5));
    assert_eq!(report, json!({ "cancel": "cancel_all" }));
}

#[test]
fn enable_activate_and_delete_change_the_model_after_the_commit() {
    let (mut fx, mut c) = Fixture::with_handler(&["a", "b"]);
    let (h, a) = ids("h", "a");
    let enable = |item: Option<&str>, enable| {
        Call::ControlEnable(m::EnableParams {
            host: None,
            handler: "h".into(),
            item: item.map(str::to_owned),
            enable,
            flags: None,
        })
    };
    let id = fx.send(&c, enable(Some("a"), false));
    assert!(!c.has_reply(&id), "the change is stored before the reply");
    assert!(fx.commit().iter().any(|ch| matches!(ch, Change::ItemSaved(_, i) if i.id == a && !i.enabled)));
    c.result(&id);
    fx.ok(&mut c, enable(None, false));
    assert!(!fx.hub.center.handler(&h).expect("handler").enabled);
    fx.ok(&mut c, enable(None, true));
    assert!(fx.hub.center.handler(&h).expect("handler").enabled);

    let activate =
        |activate| Call::ControlActivate(m::ActivateParams { host: None, handler: "h".into(), activate, flags: None });
    fx.ok(&mut c, activate(false));
    assert!(!fx.hub.center.handler(&h).expect("handler").active);
    let error = fx.refused(&mut c, create("h", &["b"]));
    assert!(error["message"].as_str().unwrap_or_default().contains("ctive"), "an inactive handler: {error}");
    fx.ok(&mut c, activate(true));
    assert!(fx.hub.center.handler(&h).expect("handler").active);

    let delete = |item: &str| {
        Call::ControlDeleteItem(m::DeleteItemParams { host: None, handler: "h".into(), item: item.into(), flags: None })
    };
    fx.ok(&mut c, delete("a"));
    assert!(fx.hub.center.item(&h, &a).is_err());
    fx.refused(&mut c, delete("a"));
}

#[test]
fn pause_and_resume_and_a_pause_that_ends_by_itself() {
    let (mut fx, mut c) = Fixture::with_handler(&["a"]);
    let h = HandlerId::new("h").expect("handler ID");
    let later = |now: Timestamp, minutes: u64| {
        synccenter_protocol::format_time(now.plus(Duration::from_secs(60 * minutes)).as_micros())
    };
    let pause = |until: String| {
        Call::ControlPause(m::PauseParams { handler: Some("h".into()), until: Some(until), ..Default::default() })
    };
    let in_an_hour = later(fx.now(), 60);
    fx.ok(&mut c, pause(in_an_hour));
    assert!(fx.hub.center.handler(&h).expect("handler").pause.is_some());
    assert!(fx.refused(&mut c, create("h", &["a"]))["message"].as_str().unwrap_or_default().contains("aused"));
    fx.ok(&mut c, Call::ControlResume(m::ResumeParams { handler: Some("h".into()), ..Default::default() }));
    assert!(fx.hub.center.handler(&h).expect("handler").pause.is_none());
    fx.session(&mut c, "h", &["a"]);

    let past = synccenter_protocol::format_time(START.as_micros() - 1);
    assert_eq!(hresult(&fx.refused(&mut c, pause(past))), "E_INVALIDARG", "a pause that already ended");
    let soon = later(fx.now(), 5);
    fx.ok(&mut c, pause(soon));
    fx.clock.advance(Duration::from_secs(6 * 60));
    fx.hub.housekeeping();
    assert!(fx.commit().iter().any(|ch| matches!(ch, Change::HandlerSaved(s) if s.pause.is_none())));
    assert!(fx.hub.center.handler(&h).expect("handler").pause.is_none());
}

#[test]
fn reload_without_a_configuration_file_configures_nothing() {
    let mut fx = Fixture::new();
    let mut c = fx.connect();
    assert_eq!(fx.ok(&mut c, Call::ControlReload(m::Empty {})), json!({ "handlers": 0 }));
    let status = fx.ok(&mut c, Call::Status(m::Empty {}));
    assert_eq!((&status["config"], &status["config_error"]), (&json!(null), &json!(null)), "{status}");
}

#[test]
fn handlers_and_items_register_update_and_remove() {
    let mut fx = Fixture::new();
    let mut c = fx.connect();
    let info = fx.ok(&mut c, Call::HandlerRegister(handler_params("h")));
    assert_eq!((&info["handler"], &info["name"], &info["item_count"]), (&json!("h"), &json!("h handler"), &json!(0)));
    let nameless = m::HandlerRegisterParams { handler: "g".into(), ..Default::default() };
    assert!(
        fx.refused(&mut c, Call::HandlerRegister(nameless))["message"].as_str().unwrap_or_default().contains("name")
    );

    let item = fx.ok(&mut c, register_item("h", "a"));
    assert_eq!((&item["item"], &item["name"], &item["enabled"]), (&json!("a"), &json!("a item"), &json!(true)));
    let rename = ItemFields { name: Some("renamed".into()), ..Default::default() };
    let update = Call::ItemRegister(m::ItemRegisterParams { handler: "h".into(), item: "a".into(), fields: rename });
    assert_eq!(fx.ok(&mut c, update)["name"], "renamed");
    fx.refused(&mut c, register_item("nope", "a"));

    let s = fx.session(&mut c, "h", &["a"]);
    let remove = || Call::HandlerRemove(m::HandlerParams { handler: "h".into() });
    assert!(fx.refused(&mut c, remove())["message"].as_str().is_some(), "a handler with a live session stays");
    fx.ok(&mut c, end(&s));
    let id = fx.send(&c, remove());
    assert!(fx.commit().contains(&Change::HandlerDeleted(HandlerId::new("h").expect("handler ID"))));
    c.result(&id);
    assert!(fx.hub.center.handler(&HandlerId::new("h").expect("handler ID")).is_err());
}
