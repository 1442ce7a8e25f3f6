//! The Fleet view: two in-process daemons (`host-a`, `host-b`) share one fresh PostgreSQL database; the
//! browser is logged in to host-a's dashboard. The view groups both hosts with their handlers and liveness,
//! a click on Stop of host-b's syncing handler reaches host-b's session owner as `session.cancel_requested`
//! (forwarded through the database), and host-b shows as down once it stops.
//!
//! The database server is named by `SYNCCENTER_TEST_PG_URL` (`bash .ci/start-postgres` starts one and prints
//! it). Without it the test fails under CI and is reported `SKIPPED:` otherwise (`require`).

use std::time::Duration;

use serde_json::json;
use sqlx::Connection;
use synccenter_test_support::postgres::suite_url;
use synccenter_test_support::{TestDaemon, require};

use crate::harness::{Browser, Setup, http_listener, sel};

/// The suite's server, or `None` (the test returns) when there is none outside CI.
fn server_url() -> Option<String> {
    require("the suite's PostgreSQL server", suite_url())
}

/// `url` with its database (the path) replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[start..];
    let authority_end = start + rest.find(['/', '?']).unwrap_or(rest.len());
    let after = &url[authority_end..];
    let query = after.find('?').map_or("", |q| &after[q..]);
    format!("{}/{database}{query}", &url[..authority_end])
}

/// A new, empty database `sc_dash_<random>` on the suite's server; its URL, or `None` to skip. Databases are
/// left behind, as in the store's tests (`.ci/start-postgres` starts its cluster afresh).
async fn fresh_database() -> Option<String> {
    let admin = server_url()?;
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).expect("randomness");
    let name = format!("sc_dash_{}", random.iter().map(|b| format!("{b:02x}")).collect::<String>());
    let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect to the test server");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create a test database");
    let _ = conn.close().await;
    Some(with_database(&admin, &name))
}

/// A daemon of the fleet: `host` on the shared database, with fast heartbeats, and a dashboard if `http`. The
/// down bound is ten beats: generous for a loaded two-core machine, short enough for a test.
async fn fleet_daemon(url: &str, host: &str, http: bool) -> TestDaemon {
    TestDaemon::start_with(tempfile::tempdir().expect("tempdir"), |c| {
        c.database = Some(url.to_owned());
        c.host = Some(host.into());
        c.fleet.heartbeat = Duration::from_millis(300);
        c.fleet.down_after = Duration::from_secs(3);
        if http {
            c.http = Some(http_listener());
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_view_groups_hosts_and_stops_another_hosts_sync() {
    let Some(url) = fresh_database().await else { return };
    let Some(browser) = Browser::start().await else { return };
    let a = fleet_daemon(&url, "host-a", true).await;
    let b = fleet_daemon(&url, "host-b", false).await;
    let s = Setup::with(a, browser).await;
    s.log_in().await;

    let mut a_owner = s.daemon.raw().await;
    a_owner.setup("nas", &["docs"], json!({})).await;
    let mut b_owner = b.raw().await;
    b_owner.setup("backup", &["home", "mail"], json!({})).await;
    let sid = b_owner.session("backup", &["home", "mail"]).await;
    b_owner
        .ok(
            "session.report_progress",
            json!({"session": sid, "item": "home", "status": "updating", "step": 3, "max_step": 10, "text": "Copying photos"}),
        )
        .await;

    s.tab("fleet").await;
    s.wait_attr("host-host-a", "data-this-host", "true").await;
    s.wait_attr("host-host-b", "data-this-host", "false").await;
    s.wait_testid("this-host-host-a").await;
    s.wait_attr("host-state-host-a", "data-state", "up").await;
    s.wait_attr("host-state-host-b", "data-state", "up").await;
    s.wait_attr("fleet-state-host-a-nas", "data-state", "idle").await;
    s.wait_attr("fleet-state-host-b-backup", "data-state", "syncing").await;
    // host-b's progress arrives through the database (its store flush, then this view's refresh).
    s.wait_attr(&format!("fleet-progress-{sid}-home"), "data-step", "3").await;
    s.wait_attr(&format!("fleet-progress-{sid}-home"), "data-max", "10").await;

    // Grouped: each handler and session sits in its own host's section, this host first.
    let layout = s
        .js(&format!(
            "const a = document.querySelector({a}), b = document.querySelector({b});
             return {{
               nas_in_a: a.contains(document.querySelector({nas})),
               backup_in_b: b.contains(document.querySelector({backup})),
               session_in_b: b.contains(document.querySelector({session})),
               a_first: !!(a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING),
               this_host_b: !!document.querySelector({this_b}),
               stop_a: !!document.querySelector({stop_a}),
               a_text: a.querySelector('.card-title').textContent,
             }}",
            a = sel("host-host-a"),
            b = sel("host-host-b"),
            nas = sel("fleet-handler-host-a-nas"),
            backup = sel("fleet-handler-host-b-backup"),
            session = sel(&format!("fleet-session-{sid}")),
            this_b = sel("this-host-host-b"),
            stop_a = sel("fleet-stop-host-a-nas"),
        ))
        .await;
    assert_eq!(
        layout,
        json!({"nas_in_a": true, "backup_in_b": true, "session_in_b": true, "a_first": true,
               "this_host_b": false, "stop_a": false, "a_text": "host-a"})
    );
    s.wait_js(
        "return document.querySelector('[data-testid=\"fleet-summary\"]').textContent === '2 hosts · 2 up · 1 syncing'",
        "the fleet summary",
    )
    .await;
    s.screenshot("fleet").await;

    // Stop on host-b's handler, from host-a's dashboard: forwarded through the database to host-b's owner.
    s.click("fleet-stop-host-b-backup").await;
    let push = b_owner.next_push_of("session.cancel_requested").await;
    assert_eq!(push["params"]["session"], sid.as_str(), "{push}");
    assert_eq!(push["params"]["cancel"], "cancel_all", "{push}");
    assert_eq!(s.js("return document.getElementById('error-banner').hidden").await, json!(true));

    // The owner gives up; host-a's view learns it from the database on its next refresh (not from its stream).
    for item in ["home", "mail"] {
        b_owner.ok("session.report_progress", json!({"session": sid, "item": item, "status": "canceled"})).await;
    }
    b_owner.ok("session.end", json!({"session": sid})).await;
    s.wait_attr("fleet-state-host-b-backup", "data-state", "idle").await;
    s.wait_gone(&format!("fleet-session-{sid}")).await;
    s.wait_gone("fleet-stop-host-b-backup").await;

    // host-b goes away: host-a declares it down after its silence bound, and the view says since when.
    drop(b_owner);
    let _dir = b.stop().await;
    s.wait_attr("host-state-host-b", "data-state", "down").await;
    s.wait_attr("host-host-b", "data-state", "down").await;
    let label = s.js(&format!("return document.querySelector({}).textContent", sel("host-state-host-b"))).await;
    assert!(label.as_str().unwrap_or_default().starts_with("down since "), "{label}");
    s.wait_attr("host-state-host-a", "data-state", "up").await;
    s.screenshot("fleet-down").await;
}
