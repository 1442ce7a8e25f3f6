//! Compile-time check: every future of the store's API can be spawned on a multi-threaded runtime, including
//! from inside a generic `Store` context, as the daemon does.

use std::sync::Arc;

use synccenter_core::{EventFilter, EventQuery, SessionQuery, Store};
use synccenter_store_postgres::PgStore;

#[allow(dead_code)]
fn spawnable(store: Arc<PgStore>) {
    let (url, host) = (String::from("postgres://h/db"), String::from("h"));
    tokio::spawn(async move { PgStore::connect(&url, &host).await.map(|s| s.host().to_owned()) });
    let s = store.clone();
    tokio::spawn(async move {
        let q = EventQuery { filter: EventFilter::default(), after: None, limit: 1 };
        let host = String::from("x");
        let _ = s.fleet_events(&q, Some(host.as_str())).await;
        let _ = s.fleet_sessions(&SessionQuery { handler: None, started_before: None, limit: 1 }, true).await;
        let _ = s.fleet_handlers().await;
        let _ = s.fleet_conflicts().await;
        let _ = s.hosts(std::time::Duration::from_secs(1)).await;
        let bounds = synccenter_store_postgres::Liveness {
            down_after: std::time::Duration::from_secs(2),
            continuity: std::time::Duration::from_secs(1),
        };
        let _ = s.heartbeat(bounds).await;
        let _ = s.sessions_lost_by(1).await;
        let _ = s.register_host("v").await;
        let _ = s.end_sessions_of_silent_hosts(bounds, synccenter_core::Timestamp::from_micros(0)).await;
        let _ = s.enqueue_request("h", "m", &serde_json::Value::Null).await;
        let _ = s.pending_requests().await;
        let _ = s.complete_request(1, &serde_json::Value::Null).await;
        let _ = s.request_result(1).await;
        if let Ok(mut n) = s.listen().await {
            let _ = n.recv().await;
            let _ = n.recv_or_reconnect().await;
        }
        let _ = s.load().await;
        let _ = s.apply(&[]).await;
        let _ = s.list_events(&q).await;
        let _ = s.list_sessions(&SessionQuery { handler: None, started_before: None, limit: 1 }).await;
    });
}
