//! An in-process Sync Center on SQLite: registers a handler, runs one session with progress and a warning, and
//! shows that results accumulate across runs.
//!
//! `cargo run -p synccenter-store-sqlite --example demo -- [DATA_DIR]` (default `./synccenter-demo`).

// The example's whole point is to print what happens.
#![allow(clippy::print_stdout)]

use std::error::Error;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use synccenter_core::{
    CenterConfig, Clock, EventFilter, EventLevel, EventQuery, HandlerId, HandlerSpec, IdSource, IgnoreNotices, ItemId,
    ItemSpec, NewEvent, OwnerId, ProgressStatus, SyncCenter, Timestamp,
};
use synccenter_store_sqlite::SqliteStore;

/// The wall clock.
struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let micros = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros()).unwrap_or(0);
        Timestamp::from_micros(i64::try_from(micros).unwrap_or(i64::MAX))
    }
}

/// Random version-4 UUIDs, with a counter mixed in so that two IDs of one run never collide.
struct RandomIds(AtomicU64);

impl IdSource for RandomIds {
    fn next_uuid(&self) -> uuid::Uuid {
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        let mut bytes = *uuid::Uuid::new_v4().as_bytes();
        bytes[..8].iter_mut().zip(n.to_be_bytes()).for_each(|(b, c)| *b ^= c);
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let dir = std::env::args_os().nth(1).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("synccenter-demo"));
    let store = SqliteStore::open_in_dir(&dir).await?;
    println!("database: {}", store.path().display());
    let mut sc = SyncCenter::open(
        store,
        CenterConfig::default(),
        Box::new(SystemClock),
        Box::new(RandomIds(AtomicU64::new(0))),
        Box::new(IgnoreNotices),
    )
    .await?;

    let handler = HandlerId::new("demo")?;
    let items = [ItemId::new("documents")?, ItemId::new("photos")?];
    // Registration updates what exists, so running the demo again is harmless.
    sc.apply(|c| {
        c.register_handler(handler.clone(), HandlerSpec { name: Some("Demo sync".into()), ..HandlerSpec::default() })?;
        for item in &items {
            c.register_item(&handler, item.clone(), ItemSpec { name: Some(item.to_string()), ..ItemSpec::default() })?;
        }
        Ok(())
    })
    .await?;

    let session = sc.apply(|c| c.create_session(OwnerId(std::process::id().into()), &handler, &items)).await?;
    println!("session {session} started");
    let steps: [(usize, ProgressStatus, u32, &str); 6] = [
        (0, ProgressStatus::Updating, 1, "scanning documents"),
        (0, ProgressStatus::Updating, 3, "copying documents"),
        (1, ProgressStatus::UpdatingIndeterminate, 0, "looking for new photos"),
        (0, ProgressStatus::Succeeded, 4, "documents up to date"),
        (1, ProgressStatus::Updating, 2, "copying photos"),
        (1, ProgressStatus::Succeeded, 4, "photos up to date"),
    ];
    for (index, status, step, text) in steps {
        let item = &items[index];
        sc.apply(|c| c.report_progress(session, item, status, Some(text), step, 4)).await?;
        println!("  {:<10} {:<24} {step}/4  {text}", item.as_str(), status.name());
    }
    sc.apply(|c| {
        c.report_event(
            session,
            NewEvent {
                item: Some(items[1].clone()),
                level: Some(EventLevel::Warning),
                name: Some("Skipped a file".into()),
                description: Some("IMG_0042.jpg is open in another program".into()),
                ..NewEvent::default()
            },
        )
    })
    .await?;
    let summary = sc.apply(|c| c.end_session(session)).await?;
    println!(
        "session ended: status {}, {} error(s), {} conflict(s), reason {}",
        summary.status.name(),
        summary.errors,
        summary.conflicts,
        summary.reason.name()
    );

    let total = sc.count_events(&EventFilter::default()).await?;
    println!("Sync Results stored in total: {total}");
    let recent = sc.events(&EventQuery { filter: EventFilter::default(), after: None, limit: 5 }).await?;
    println!("latest events:");
    for e in recent {
        let target = e.item.as_ref().map_or_else(|| e.handler.to_string(), |i| format!("{}/{i}", e.handler));
        println!("  [{}] {} {}: {} ({})", e.time.as_micros(), e.level.name(), target, e.name, e.description);
    }
    Ok(())
}
