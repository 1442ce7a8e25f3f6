//! The database server goes away and comes back under a running store: calls fail as unavailable (never
//! hang: each wait has a hang guard), and the same store works again once the server is back, with nothing lost. Runs on a
//! private server (`PgServer`) so that stopping it disturbs no other test.

use serde_json::json;
use synccenter_core::{Change, EventLevel, Store, StoreError};
use synccenter_store_postgres::{PgStore, REQUESTS_CHANNEL};
use synccenter_store_tests::sample::{eid, event};
use synccenter_test_support::postgres::PgServer;

use crate::support::{HANG_GUARD, create_database};

#[tokio::test]
async fn store_survives_a_server_restart() {
    let Some(mut server) = PgServer::start_if_installed() else { return };
    let url = create_database(&server.url()).await;
    let store = PgStore::connect(&url, "a").await.unwrap();
    let mut listener = store.listen().await.unwrap();
    let first = [Change::EventAdded(event(1, "nas", None, EventLevel::Info, 1))];
    store.apply(&first).await.unwrap();

    server.stop().unwrap();
    let second = [Change::EventAdded(event(2, "nas", None, EventLevel::Info, 2))];
    let err = tokio::time::timeout(HANG_GUARD, store.apply(&second))
        .await
        .expect("a write to a stopped server hung instead of failing as unavailable")
        .expect_err("server down");
    let StoreError::Unavailable(msg) = &err else { panic!("expected Unavailable, got {err:?}") };
    assert!(msg.contains(&format!("127.0.0.1:{}", server.port())), "names the server: {msg}");

    server.start_again().unwrap();
    // The same store (its pool) reconnects by itself; the write that failed is replayed, as a daemon would.
    store.apply(&second).await.unwrap();
    store.apply(&first).await.unwrap();
    assert!(store.get_event(eid(1)).await.unwrap().is_some(), "written before the restart");
    assert!(store.get_event(eid(2)).await.unwrap().is_some());
    assert_eq!(store.count_events(&Default::default()).await.unwrap(), 2);

    // The listener connects again too; requests sent from then on reach it.
    // Its first receive finds the connection the server closed, connects again and says so.
    let reconnected = tokio::time::timeout(HANG_GUARD, listener.recv_or_reconnect()).await.expect("no hang");
    assert_eq!(reconnected.expect("the server is back"), None);
    let other = PgStore::connect(&url, "b").await.unwrap();
    other.enqueue_request("a", "ping", &json!({})).await.unwrap();
    let n = tokio::time::timeout(HANG_GUARD, listener.recv()).await.expect("notified in time").unwrap();
    assert_eq!((n.channel.as_str(), n.payload.as_str()), (REQUESTS_CHANNEL, "a"));
}
