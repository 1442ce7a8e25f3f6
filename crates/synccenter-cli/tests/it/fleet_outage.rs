//! The fleet keeps its word through outages of the shared database. PostgreSQL (a private server) is stopped
//! and started again under three hosts many times, for seeded lengths (`SYNCCENTER_OUTAGE_SEED` replays a
//! run): no host ends another's live session, every host says `degraded` while it cannot reach the database,
//! and each judges the others again only a whole down bound after it is back (it logs when it does, which is
//! the event these tests wait on). A host frozen past the down bound (SIGSTOP) has its session ended by the
//! others and, when it wakes, ends it itself with the same outcome.

use std::time::Duration;

use serde_json::{Value, json};
use synccenter_test_support::RawConn;
use synccenter_test_support::postgres::PgServer;

use super::fleet::{Host, eventually};
use super::seeded::{self, Rng};

const CYCLES: usize = 20;
/// The longest time the server stays down once every host has found it gone, beyond the time they took to
/// find it (the down bound is 3 s, so most outages outlast it).
const MAX_EXTRA_DOWN_MS: u64 = 4_000;

const JUDGING: &str = "judging the other hosts' heartbeats";
const JUDGED_SILENT: &str = "a host went silent";

fn judging(host: &Host) -> usize {
    host.log().matches(JUDGING).count()
}

async fn degraded(host: &Host) -> bool {
    host.cli(&["status"]).await.get("degraded").is_some()
}

/// Whether `host`'s history of `of`'s sessions has `session` ended as `host_lost`.
async fn ended_as_lost(host: &Host, of: &str, session: &str) -> bool {
    let history = host.cli(&["sessions", "--all-hosts", "--history", "--host", of]).await;
    history["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .any(|s| s["session"] == session && s["end_reason"] == "host_lost")
}

fn signal(host: &Host, sig: &str) {
    let pid = host.child.id().expect("the daemon runs").to_string();
    let status = std::process::Command::new("kill").args([sig, &pid]).status().expect("run kill");
    assert!(status.success(), "kill {sig} {pid}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outages_end_no_live_session() {
    let seed = seeded::seed("SYNCCENTER_OUTAGE_SEED", "fleet outage");
    let mut rng = Rng(seed);
    let Some(mut pg) = PgServer::start_if_installed() else { return };
    let url = pg.url();
    let hosts =
        [Host::start("host-a", &url).await, Host::start("host-b", &url).await, Host::start("host-c", &url).await];
    let mut owners = Vec::new();
    let mut sessions = Vec::new();
    for host in &hosts {
        let mut owner = RawConn::connect(&host.socket).await;
        owner.setup("backup", &["docs"], json!({})).await;
        sessions.push(owner.session("backup", &["docs"]).await);
        owners.push(owner);
    }
    for host in &hosts {
        eventually(&format!("{} judges", host.name), || async { judging(host) >= 1 }).await;
    }

    let mut acked = Vec::new();
    for cycle in 0..CYCLES {
        pg.stop().expect("stop PostgreSQL");
        for host in &hosts {
            eventually(&format!("{} degraded in cycle {cycle} (seed {seed})", host.name), || degraded(host)).await;
        }
        // A keeps working: its event is acknowledged from its local buffer.
        let params = json!({"session": sessions[0], "item": "docs", "level": "info", "name": format!("cycle {cycle}"),
            "description": "reported during an outage"});
        acked.push(owners[0].ok("session.report_event", params).await["event"].as_str().expect("event").to_owned());
        // How long the outage lasts is the scenario, not a wait for something.
        let extra = rng.below(MAX_EXTRA_DOWN_MS);
        tokio::time::sleep(Duration::from_millis(extra)).await;
        pg.start_again().expect("start PostgreSQL again");
        for host in &hosts {
            eventually(&format!("{} back in cycle {cycle} (seed {seed})", host.name), || async {
                !degraded(host).await
            })
            .await;
        }
        for host in &hosts {
            let what = format!("{} judges again in cycle {cycle} (seed {seed})", host.name);
            eventually(&what, || async { judging(host) > cycle + 1 }).await;
        }
        for host in &hosts {
            let log = host.log();
            assert!(
                !log.contains(JUDGED_SILENT),
                "{} judged a host silent after outage {cycle} (+{extra} ms, seed {seed}):\n{log}",
                host.name
            );
        }
    }

    let status = hosts[0].cli(&["status", "--all-hosts"]).await;
    assert!(status["hosts"].as_array().expect("hosts").iter().all(|h| h["up"] == true), "{status}");
    let live = hosts[0].cli(&["sessions", "--all-hosts"]).await;
    let live: Vec<&str> =
        live["sessions"].as_array().expect("sessions").iter().filter_map(|s| s["session"].as_str()).collect();
    for session in &sessions {
        assert!(live.contains(&session.as_str()), "{session} still live after {CYCLES} outages: {live:?}");
    }
    for (owner, session) in owners.iter_mut().zip(&sessions) {
        let r = owner.ok("session.can_continue", json!({"session": session})).await;
        assert_eq!(r["continue"], true, "{r}");
    }
    let stored = hosts[1]
        .cli(&["results", "--all-hosts", "--host", "host-a", "--session", &sessions[0], "--limit", "1000"])
        .await;
    let mut ids: Vec<&str> =
        stored["events"].as_array().expect("events").iter().filter_map(|e| e["event"].as_str()).collect();
    ids.sort_unstable();
    let mut expected: Vec<&str> = acked.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(ids, expected, "every event acknowledged during an outage stored exactly once (seed {seed})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_frozen_past_the_down_bound_ends_its_lost_session_itself() {
    let Some(pg) = PgServer::start_if_installed() else { return };
    let url = pg.url();
    let a = Host::start("host-a", &url).await;
    let b = Host::start("host-b", &url).await;
    let mut owner = RawConn::connect(&b.socket).await;
    owner.setup("backup", &["docs", "photos"], json!({})).await;
    let session = owner.session("backup", &["docs", "photos"]).await;
    owner
        .ok(
            "session.report_progress",
            json!({"session": session, "item": "docs", "status": "succeeded", "step": 1, "max_step": 1}),
        )
        .await;
    eventually("host-a judges", || async { judging(&a) >= 1 }).await;

    signal(&b, "-STOP");
    eventually("host-a ends host-b's session", || ended_as_lost(&a, "host-b", &session)).await;
    signal(&b, "-CONT");
    eventually("host-b ends its session itself", || async {
        let live = b.cli(&["sessions"]).await;
        !live["sessions"].as_array().expect("sessions").iter().any(|s| s["session"] == session.as_str())
    })
    .await;
    assert!(b.log().contains("declared this one down"), "{}", b.log());
    // One story: the owner learns the outcome the database holds, never `succeeded`.
    let ended = owner.ok("session.end", json!({"session": session})).await;
    assert_eq!(ended["status"], "failed", "{ended}");
    assert!(ended_as_lost(&b, "host-b", &session).await, "the first end stays in the database");
    let history = b.cli(&["sessions", "--history"]).await;
    let mine: Vec<&Value> =
        history["sessions"].as_array().expect("sessions").iter().filter(|s| s["session"] == session.as_str()).collect();
    assert_eq!(mine.len(), 1, "{history}");
    assert_eq!(mine[0]["end_reason"], "host_lost", "{history}");
    let events = a.cli(&["results", "--all-hosts", "--host", "host-b", "--session", &session]).await;
    let lost =
        events["events"].as_array().expect("events").iter().filter(|e| e["name"] == "Sync interrupted: host lost");
    assert_eq!(lost.count(), 1, "one warning from the judge: {events}");
}
