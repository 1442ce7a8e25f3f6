//! `ping.*`: a start ping's session fails when no end comes within the grace time, and a ping names only its
//! own item.

use std::time::{Duration, Instant};

use synccenter_core::{Change, ProgressStatus};
use synccenter_protocol::methods::{self as m, PingSignal};

use super::*;
use crate::hub::PingKeys;

fn ping(uuid: &str, signal: PingSignal) -> Call {
    Call::PingReport(m::PingReportParams { uuid: Some(uuid.to_owned()), signal, ..m::PingReportParams::default() })
}

#[test]
fn a_start_without_an_end_fails_after_the_grace_time() {
    let (mut fx, mut c) = Fixture::with_handler(&["a", "b"]);
    fx.hub.set_ping_keys(Ok(PingKeys::new(b"test secret")));
    let url = fx.ok(&mut c, Call::PingUrl(m::PingUrlParams { handler: "h".into(), item: "a".into() }));
    let uuid = url["uuid"].as_str().expect("uuid").to_owned();
    let started = fx.ok(&mut c, ping(&uuid, PingSignal::Start));
    assert_eq!((started["found"].as_bool(), started["item"].as_str()), (Some(true), Some("a")));
    let session = started["session"].as_str().expect("session").to_owned();

    fx.hub.expire_pings(Instant::now() + Duration::from_secs(m::PING_GRACE_SECONDS - 60));
    assert!(fx.commit().is_empty(), "within the grace time nothing happens");
    fx.hub.expire_pings(Instant::now() + Duration::from_secs(m::PING_GRACE_SECONDS + 1));
    fx.hub.take_effects();
    let changes = fx.commit();
    let failed = changes.iter().any(|ch| {
        matches!(ch, Change::ItemProgressed { session: s, progress, .. }
            if s.to_string() == session && progress.status == Some(ProgressStatus::Failed))
    });
    assert!(failed, "{changes:?}");
    assert!(changes.iter().any(|ch| matches!(ch, Change::SessionEnded { .. })), "{changes:?}");

    // Another item's UUID, or a UUID under another secret, names nothing.
    fx.hub.set_ping_keys(Ok(PingKeys::new(b"another secret")));
    let id = fx.send(&c, ping(&uuid, PingSignal::Success));
    assert!(fx.commit().is_empty(), "an unknown ping changes nothing");
    assert_eq!(c.result(&id)["found"], false);
}

/// An item whose `config.toml` entry has a `timeout` waits that long for the end ping, not the default grace.
#[test]
fn a_declared_timeout_is_the_grace_time_of_its_item() {
    let (mut fx, mut c) = Fixture::with_handler(&["a", "b"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        "[[handler]]\nid = \"h\"\nname = \"H\"\n\n[[handler.item]]\nid = \"a\"\nname = \"A\"\nkind = \"script\"\n\
         command = [\"true\"]\ntimeout = \"10m\"\n",
    )
    .expect("write the configuration");
    fx.hub.setup.scheduler = crate::scheduler::Scheduler::new(Some(path), START);
    fx.hub.setup.scheduler.load(START).expect("a valid configuration");
    fx.hub.set_ping_keys(Ok(PingKeys::new(b"test secret")));
    let url = fx.ok(&mut c, Call::PingUrl(m::PingUrlParams { handler: "h".into(), item: "a".into() }));
    let uuid = url["uuid"].as_str().expect("uuid").to_owned();
    fx.ok(&mut c, ping(&uuid, PingSignal::Start));
    fx.commit();

    fx.hub.expire_pings(Instant::now() + Duration::from_secs(9 * 60));
    assert!(fx.commit().is_empty(), "within the item's timeout nothing happens");
    fx.hub.expire_pings(Instant::now() + Duration::from_secs(10 * 60 + 1));
    fx.hub.take_effects();
    let changes = fx.commit();
    assert!(changes.iter().any(|ch| matches!(ch, Change::SessionEnded { .. })), "{changes:?}");
}
