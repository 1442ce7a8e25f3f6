//! A pretend backup program: it registers the handler "example-backup" with two items, syncs them in one
//! session with progress, stops an item when asked, reports an event and ends. Run the daemon first, then
//! `cargo run -p synccenter-client --example backup [-- --socket PATH]`.

// An example program talks to its user on stdout; that is its whole point.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::time::Duration;

use synccenter_client::methods::{HandlerRegisterParams, ItemFields, ItemRegisterParams};
use synccenter_client::{Client, ClientError, EventLevelWire, StatusWire};

const HANDLER: &str = "example-backup";
const ITEMS: [(&str, &str); 2] = [("documents", "Documents"), ("photos", "Photos")];
const STEPS: u32 = 50;

#[tokio::main]
async fn main() -> Result<(), ClientError> {
    let mut args = std::env::args().skip(1);
    let mut socket = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--socket" => socket = args.next().map(PathBuf::from),
            other => println!("ignoring unknown argument {other:?} (usage: backup [--socket PATH])"),
        }
    }
    let client = match &socket {
        Some(path) => Client::connect(path).await?,
        None => Client::connect_default().await?,
    };
    println!("connected to {} (protocol {})", client.server().server, client.server().protocol);

    client
        .register_handler(HandlerRegisterParams {
            handler: HANDLER.into(),
            name: Some("Example backup".into()),
            comment: Some("Copies nothing, slowly".into()),
            ..HandlerRegisterParams::default()
        })
        .await?;
    for (item, name) in ITEMS {
        client
            .register_item(ItemRegisterParams {
                handler: HANDLER.into(),
                item: item.into(),
                fields: ItemFields { name: Some(name.into()), ..ItemFields::default() },
            })
            .await?;
    }

    let session = client.create_session(HANDLER, ITEMS.map(|(item, _)| item)).await?;
    println!("session {}", session.id());
    session.set_handler_progress_text("Backing up")?;
    for (item, _) in ITEMS {
        let mut stopped = false;
        for step in 1..=STEPS {
            if session.cancel_state().is_cancelled(item) {
                session.report_progress(item, StatusWire::Canceled, Some("Stopped"), step, STEPS)?;
                println!("{item}: stopped at step {step}");
                stopped = true;
                break;
            }
            // The work this example pretends to do.
            tokio::time::sleep(Duration::from_millis(40)).await;
            let text = format!("Copied {step} of {STEPS} files");
            session.report_progress(item, StatusWire::Updating, Some(&text), step, STEPS)?;
        }
        if !stopped {
            session.report_progress(item, StatusWire::Succeeded, Some("Done"), STEPS, STEPS)?;
            println!("{item}: done");
        }
    }
    let event = session.report_event(None, EventLevelWire::Info, "Backup finished", "Every item was visited.").await?;
    println!("event {event}");
    let end = session.end().await?;
    println!("ended: {} ({} errors, {} conflicts)", end.status.name(), end.errors, end.conflicts);
    Ok(())
}
