//! The registry, control and feed methods of `Client` against the real daemon. Each change is read back through
//! another call, so a method that sends the wrong parameters or decodes the wrong field fails here.

use synccenter_client::methods::{
    ActivateParams, DeleteItemParams, EnableParams, HandlerListParams, HandlerRegisterParams, ItemFields,
    ItemRegisterParams, PauseParams, ResumeParams,
};
use synccenter_client::{Client, ClientError};
use synccenter_protocol::ControlFlagWire;
use synccenter_protocol::api::{self, Method};
use synccenter_protocol::methods::UpdateKind;
use synccenter_test_support::TestDaemon;

use crate::guard;

async fn handler_of(client: &Client, handler: &str) -> synccenter_client::methods::HandlerInfo {
    let all = guard("handlers", client.handlers(true)).await.expect("handlers");
    all.into_iter().find(|h| h.handler == handler).unwrap_or_else(|| panic!("{handler} is not listed"))
}

async fn item_of(client: &Client, item: &str) -> Option<synccenter_client::methods::ItemInfo> {
    let items = guard("items", client.items("nas", true)).await.expect("items");
    items.into_iter().find(|i| i.item == item)
}

#[tokio::test]
async fn registering_and_controlling_changes_what_the_daemon_lists() {
    let d = TestDaemon::start().await;
    let client = Client::connect(&d.socket).await.expect("connect");
    let status = guard("status", client.status()).await.expect("status");
    assert_eq!(status.pid, std::process::id(), "the daemon runs in this test process");
    assert_eq!(status.socket, d.socket.display().to_string());
    assert_eq!((status.handlers, status.live_sessions), (0, 0));

    let params = HandlerRegisterParams {
        handler: "nas".into(),
        name: Some("Backup to NAS".into()),
        comment: Some("nightly".into()),
        ..HandlerRegisterParams::default()
    };
    let info = guard("register", client.register_handler(params)).await.expect("register");
    assert_eq!((info.handler.as_str(), info.name.as_str(), info.comment.as_str()), ("nas", "Backup to NAS", "nightly"));
    assert_eq!(handler_of(&client, "nas").await.name, "Backup to NAS");
    assert_eq!(guard("status", client.status()).await.expect("status").handlers, 1);

    for (item, name, caps) in [("docs", "Documents", vec!["can_delete".to_owned()]), ("photos", "Photos", vec![])] {
        let fields = ItemFields { name: Some(name.into()), capabilities: Some(caps), ..ItemFields::default() };
        let params = ItemRegisterParams { handler: "nas".into(), item: item.into(), fields };
        let info = guard("register item", client.register_item(params)).await.expect("register item");
        assert_eq!((info.item.as_str(), info.name.as_str()), (item, name));
    }
    assert_eq!(item_of(&client, "docs").await.expect("docs").name, "Documents");
    assert_eq!(handler_of(&client, "nas").await.item_count, 2);

    let enable = |item: Option<&str>, enable: bool| EnableParams {
        host: None,
        handler: "nas".into(),
        item: item.map(str::to_owned),
        enable,
        flags: None,
    };
    guard("disable item", client.enable(enable(Some("docs"), false))).await.expect("disable item");
    assert!(!item_of(&client, "docs").await.expect("docs").enabled);
    assert!(item_of(&client, "photos").await.expect("photos").enabled, "only the named item");
    guard("disable handler", client.enable(enable(None, false))).await.expect("disable handler");
    assert!(!handler_of(&client, "nas").await.enabled);
    guard("enable handler", client.enable(enable(None, true))).await.expect("enable handler");
    assert!(handler_of(&client, "nas").await.enabled);

    let activate = |activate: bool| ActivateParams { host: None, handler: "nas".into(), activate, flags: None };
    guard("deactivate", client.activate(activate(false))).await.expect("deactivate");
    assert!(!handler_of(&client, "nas").await.active);
    guard("activate", client.activate(activate(true))).await.expect("activate");
    assert!(handler_of(&client, "nas").await.active);

    let pause = PauseParams { handler: Some("nas".into()), ..PauseParams::default() };
    guard("pause", client.pause(pause)).await.expect("pause");
    assert!(handler_of(&client, "nas").await.paused);
    let paused = guard("status", client.status()).await.expect("status").paused;
    assert_eq!(paused.iter().map(|p| p.handler.as_str()).collect::<Vec<_>>(), ["nas"]);
    guard("resume", client.resume(ResumeParams { handler: Some("nas".into()), host: None })).await.expect("resume");
    assert!(!handler_of(&client, "nas").await.paused);
    assert!(guard("status", client.status()).await.expect("status").paused.is_empty());

    let delete = |item: &str| DeleteItemParams {
        host: None,
        handler: "nas".into(),
        item: item.into(),
        flags: Some(vec![ControlFlagWire::NoUi]),
    };
    guard("delete", client.delete_item(delete("docs"))).await.expect("docs declares can_delete");
    assert!(item_of(&client, "docs").await.is_none(), "deleted");
    let err = guard("delete", client.delete_item(delete("photos"))).await.expect_err("photos cannot be deleted");
    assert!(matches!(err, ClientError::Rpc { .. }), "{err:?}");
    assert!(item_of(&client, "photos").await.is_some(), "a refused delete changes nothing");

    // The generic typed call reaches the same method as the convenience one.
    let listed =
        guard("request", client.request::<api::HandlerList>(&HandlerListParams { include_hidden: true })).await;
    assert_eq!(listed.expect("handler.list").handlers.len(), 1);

    guard("remove", client.remove_handler("nas")).await.expect("remove");
    assert!(guard("handlers", client.handlers(true)).await.expect("handlers").is_empty());
}

#[tokio::test]
async fn a_refusal_carries_the_daemons_hresult_and_the_connection_survives() {
    let d = TestDaemon::start().await;
    let client = Client::connect(&d.socket).await.expect("connect");
    let err = guard("remove", client.remove_handler("missing")).await.expect_err("no such handler");
    match &err {
        ClientError::Rpc { method, name, hresult, .. } => {
            assert_eq!(method, api::HandlerRemove::NAME);
            assert_eq!((name.as_str(), *hresult), ("E_INVALIDARG", 0x8007_0057), "{err}");
            assert_eq!(err.hresult(), Some(0x8007_0057));
        }
        other => panic!("expected Rpc, got {other:?}"),
    }
    let shown = err.to_string();
    assert!(shown.contains("handler.remove") && shown.contains("E_INVALIDARG"), "{shown}");
    guard("status", client.status()).await.expect("status after an error");
}

#[tokio::test]
async fn a_subscription_starts_from_the_snapshot_and_sees_later_changes() {
    let d = TestDaemon::start().await;
    let client = Client::connect(&d.socket).await.expect("connect");
    let params = HandlerRegisterParams { handler: "nas".into(), name: Some("NAS".into()), ..Default::default() };
    guard("register", client.register_handler(params)).await.expect("register");
    let mut sub = guard("subscribe", client.subscribe()).await.expect("subscribe");
    let start = sub.snapshot().seq;
    assert_eq!(sub.snapshot().handlers.iter().map(|h| h.handler.as_str()).collect::<Vec<_>>(), ["nas"]);
    let fields = ItemFields { name: Some("Docs".into()), ..ItemFields::default() };
    let params = ItemRegisterParams { handler: "nas".into(), item: "docs".into(), fields };
    guard("register item", client.register_item(params)).await.expect("register item");
    loop {
        let update = guard("update", sub.next()).await.expect("update");
        assert!(update.seq > start, "{update:?} is not newer than the snapshot {start}");
        if let UpdateKind::RegistryChanged { handler } = update.change {
            assert_eq!(handler, "nas");
            break;
        }
    }
}
