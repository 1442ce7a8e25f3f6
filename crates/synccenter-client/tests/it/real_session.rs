//! A session's methods against the real daemon: what the owner reports (progress, text, events, conflicts,
//! proposed items, a manual sync) is read back by the owner and by another connection, a stop from another
//! connection reaches `cancelled()` and `can_continue`, and `end` returns the aggregate the history keeps.

use futures_util::FutureExt;
use synccenter_client::methods::{
    ChoiceWire, ConflictVersionWire, ConflictsListParams, ControlTargetParams, EventsFilterParams, ItemFields,
    ProposedItem, ReportConflictParams, ReportEventParams, ResolveParams, SessionsHistoryParams,
};
use synccenter_client::{CancelWire, Client, ClientError, EventLevelWire, Push, Session, StatusWire};
use synccenter_test_support::TestDaemon;

use crate::guard;
use crate::real_daemon::{register, registered};

fn stop(handler: &str, items: Option<&[&str]>) -> ControlTargetParams {
    ControlTargetParams {
        handler: Some(handler.into()),
        items: items.map(|i| i.iter().map(|s| (*s).to_owned()).collect()),
        ..ControlTargetParams::default()
    }
}

fn conflict_params(name: &str) -> ReportConflictParams {
    let version = |short: &str| ConflictVersionWire {
        location_short: short.into(),
        location_full: format!("{short}:/{name}"),
        types: vec!["updated".into()],
        ..ConflictVersionWire::default()
    };
    ReportConflictParams {
        session: String::new(),
        item: Some("docs".into()),
        key: Some(name.into()),
        name: name.into(),
        description: "both changed".into(),
        versions: vec![version("laptop"), version("nas")],
        abilities: vec!["keep_recent".into()],
    }
}

async fn progress_and_events_are_what_the_daemon_shows(owner: &Client, session: &Session) -> (String, String) {
    session.report_progress("docs", StatusWire::Updating, Some("copying"), 3, 10).expect("report");
    session.set_handler_progress_text("scanning").expect("text");
    guard("manual", session.report_manual_sync()).await.expect("manual");
    let live = guard("sessions", owner.sessions()).await.expect("sessions");
    assert_eq!(live.len(), 1, "{live:?}");
    let s = &live[0];
    assert_eq!((s.session.as_str(), s.handler.as_str(), s.manual), (session.id(), "nas", true));
    assert_eq!(s.handler_text.as_deref(), Some("scanning"));
    let docs = s.items.iter().find(|i| i.item == "docs").expect("docs");
    assert_eq!(
        (docs.status, docs.step, docs.max_step, docs.text.as_str()),
        (Some(StatusWire::Updating), 3, 10, "copying")
    );

    let error = guard("event", session.report_event(Some("docs"), EventLevelWire::Error, "copy failed", "disk full"))
        .await
        .expect("event");
    let got = guard("get", owner.event(&error)).await.expect("events.get");
    assert_eq!(
        (got.handler.as_str(), got.item.as_deref(), got.session.as_deref()),
        ("nas", Some("docs"), Some(session.id()))
    );
    assert_eq!(
        (got.level, got.name.as_str(), got.description.as_str()),
        (EventLevelWire::Error, "copy failed", "disk full")
    );
    let params = ReportEventParams {
        level: Some(EventLevelWire::Warning),
        name: Some("slow".into()),
        description: Some("the NAS answers slowly".into()),
        link_text: Some("details".into()),
        ..ReportEventParams::default()
    };
    let warning = guard("event", session.report_event_with(params)).await.expect("event");
    let got = guard("get", owner.event(&warning)).await.expect("events.get");
    assert_eq!((got.item, got.link_text.as_deref()), (None, Some("details")));
    let mine = EventsFilterParams { session: Some(session.id().into()), ..EventsFilterParams::default() };
    let listed = guard("list", owner.events(mine)).await.expect("events.list");
    assert_eq!(listed.total, 2);
    let mut ids: Vec<_> = listed.events.iter().map(|e| e.event.clone()).collect();
    ids.sort();
    let mut want = vec![error.clone(), warning.clone()];
    want.sort();
    assert_eq!(ids, want);
    let errors = EventsFilterParams { levels: Some(vec![EventLevelWire::Error]), ..EventsFilterParams::default() };
    let listed = guard("list", owner.events(errors)).await.expect("events.list");
    assert_eq!(listed.events.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(), [error.as_str()]);
    (error, warning)
}

async fn a_conflict_goes_from_report_to_resolution_to_removal(owner: &Client, user: &Client, session: &Session) {
    let mut pushes = owner.pushes().expect("first take");
    guard("serve", owner.serve_handler("nas")).await.expect("serve");
    let id = guard("conflict", session.report_conflict(conflict_params("a.txt"))).await.expect("conflict");
    let nas = ConflictsListParams { handler: Some("nas".into()), item: None };
    let listed = guard("list", user.conflicts(nas.clone())).await.expect("conflicts.list");
    assert_eq!(listed.iter().map(|c| c.conflict.as_str()).collect::<Vec<_>>(), [id.as_str()]);
    let got = guard("get", user.conflict(&id)).await.expect("conflicts.get");
    assert_eq!((got.name.as_str(), got.versions.len(), got.resolution), ("a.txt", 2, None));
    let params =
        ResolveParams { host: None, conflict: id.clone(), choice: ChoiceWire::KeepRecent, apply_to_all: false };
    let resolved = guard("resolve", user.resolve(params)).await.expect("resolve");
    assert_eq!(resolved.recorded, std::slice::from_ref(&id));
    match guard("push", pushes.recv()).await.expect("a push") {
        Push::ResolutionRequested(p) => {
            assert_eq!((p.conflict.as_str(), p.choice), (id.as_str(), ChoiceWire::KeepRecent))
        }
        other => panic!("unexpected push {other:?}"),
    }
    let got = guard("get", user.conflict(&id)).await.expect("conflicts.get");
    assert_eq!(got.resolution.map(|r| r.choice), Some(ChoiceWire::KeepRecent), "listed until the owner removes it");
    guard("remove", owner.remove_conflicts(vec![id])).await.expect("conflicts.remove");
    assert!(guard("list", user.conflicts(nas)).await.expect("conflicts.list").is_empty());
}

#[tokio::test]
async fn a_session_reports_stops_and_ends_as_the_daemon_records_it() {
    let d = TestDaemon::start().await;
    let owner = registered(&d).await;
    let user = Client::connect(&d.socket).await.expect("connect");
    let session = guard("create", owner.create_session("nas", ["docs", "photos"])).await.expect("create");
    let (error, warning) = progress_and_events_are_what_the_daemon_shows(&owner, &session).await;
    a_conflict_goes_from_report_to_resolution_to_removal(&owner, &user, &session).await;

    assert!(guard("can_continue", session.can_continue(Some("docs"))).await.expect("can_continue"));
    guard("stop", user.stop(stop("nas", Some(&["docs"])))).await.expect("stop");
    let push = guard("cancelled", session.cancelled()).await.expect("push");
    assert_eq!((push.item.as_deref(), push.cancel), (Some("docs"), CancelWire::CancelItem));
    assert!(!guard("can_continue", session.can_continue(Some("docs"))).await.expect("can_continue"));
    assert!(guard("can_continue", session.can_continue(Some("photos"))).await.expect("can_continue"));
    assert!(guard("can_continue", session.can_continue(None)).await.expect("can_continue"));
    let acked = session.report_progress_acked("docs", StatusWire::Updating, None, 4, 10);
    assert_eq!(guard("acked", acked).await.expect("acked"), CancelWire::CancelItem, "the stop in force");

    let music =
        ProposedItem { id: "music".into(), fields: ItemFields { name: Some("Music".into()), ..ItemFields::default() } };
    guard("propose", session.propose_item(music)).await.expect("propose");
    let names =
        |items: Vec<synccenter_client::methods::ItemInfo>| items.into_iter().map(|i| i.item).collect::<Vec<_>>();
    assert!(!names(guard("items", user.items("nas", true)).await.expect("items")).contains(&"music".to_owned()));
    guard("commit", session.commit_item("music")).await.expect("commit");
    assert!(names(guard("items", user.items("nas", true)).await.expect("items")).contains(&"music".to_owned()));

    session.report_progress("docs", StatusWire::Canceled, Some(""), 3, 10).expect("report");
    session.report_progress("photos", StatusWire::Succeeded, None, 1, 1).expect("report");
    session.report_progress("music", StatusWire::Succeeded, None, 1, 1).expect("report");
    let id = session.id().to_owned();
    let end = guard("end", session.end()).await.expect("end");
    assert_eq!((end.status, end.errors, end.conflicts), (StatusWire::Canceled, 1, 0));
    let history = SessionsHistoryParams { handler: Some("nas".into()), ..SessionsHistoryParams::default() };
    let history = guard("history", user.history(history)).await.expect("history");
    let record = history.iter().find(|r| r.session == id).expect("the ended session is in the history");
    assert_eq!((record.status, record.end_reason.as_deref(), record.manual), (Some(end.status), Some("ended"), true));
    assert_eq!(record.items.len(), 3, "{record:?}");
    assert!(guard("sessions", user.sessions()).await.expect("sessions").is_empty());

    let err = guard("remove", user.remove_events(vec![warning.clone(), "no-such-event".into()])).await;
    assert!(matches!(err, Err(ClientError::Rpc { .. })), "{err:?}");
    assert_eq!(guard("remove", user.remove_events(vec![error.clone()])).await.expect("remove"), 1);
    assert!(guard("get", user.event(&error)).await.is_err(), "removed");
    guard("get", user.event(&warning)).await.expect("a refused removal removed nothing");
    let nas = || EventsFilterParams { handler: Some("nas".into()), ..EventsFilterParams::default() };
    let left = guard("list", user.events(nas())).await.expect("events.list").total;
    assert!(left >= 1);
    assert_eq!(guard("clear", user.clear_events(nas())).await.expect("clear"), left);
    assert_eq!(guard("list", user.events(nas())).await.expect("events.list").total, 0);
}

#[tokio::test]
async fn stops_are_sticky_and_reach_only_their_own_session() {
    let d = TestDaemon::start().await;
    let owner = registered(&d).await;
    let user = Client::connect(&d.socket).await.expect("connect");
    register(&owner, "cloud", &["mail"]).await;
    let nas = guard("create", owner.create_session("nas", ["docs"])).await.expect("create");
    let cloud = guard("create", owner.create_session("cloud", ["mail"])).await.expect("create");
    guard("stop", user.stop(stop("nas", Some(&["docs"])))).await.expect("stop");
    let push = guard("cancelled", nas.cancelled()).await.expect("push");
    assert_eq!(push.cancel, CancelWire::CancelItem);
    guard("stop", user.stop(stop("nas", None))).await.expect("stop all");
    let push = guard("cancelled", nas.cancelled()).await.expect("a second push");
    assert_eq!(push.cancel, CancelWire::CancelAll);
    let state = nas.cancel_state();
    assert!(state.all && state.items.contains("docs"), "sticky: {state:?}");
    assert!(nas.cancelled().now_or_never().is_none(), "no third push");
    // The reader applied every push before handing over the last one, so a stray copy would show by now.
    assert!(!cloud.cancel_state().any(), "a stop of nas reached the cloud session");
    assert!(cloud.cancelled().now_or_never().is_none());
    cloud.report_progress("mail", StatusWire::Succeeded, None, 1, 1).expect("report");
    assert_eq!(guard("end", cloud.end()).await.expect("end").status, StatusWire::Succeeded);
    nas.report_progress("docs", StatusWire::Canceled, None, 0, 0).expect("report");
    assert_eq!(guard("end", nas.end()).await.expect("end").status, StatusWire::Canceled);
}
