//! `synccenter logs SESSION [ITEM] [--follow]`: the whole output of a command run, as the daemon kept it
//! (`logs.read`, page by page). With `--follow` it keeps reading while the run goes and returns when the run has
//! ended and its log is read to the end: it subscribes to the live feed first, so the end of the session wakes
//! it, and between events it asks again every [`FOLLOW_EVERY`] (output alone makes no event).

use std::time::Duration;

use anyhow::Context;
use serde_json::json;
use synccenter_client::ClientError;
use synccenter_client::methods::{LogsReadParams, LogsReadResult};

use crate::exit::Exit;
use crate::output;
use crate::verbs::Ctx;

/// How often `--follow` asks for more when no event arrives.
const FOLLOW_EVERY: Duration = Duration::from_millis(250);

/// `logs SESSION [ITEM] [--follow]`.
pub(crate) async fn logs(ctx: &Ctx, session: String, item: Option<String>, follow: bool) -> anyhow::Result<u8> {
    let client = ctx.connect().await?;
    let what = match &item {
        Some(item) => format!("the log of {item} in session {session}"),
        None => format!("the log of session {session}"),
    };
    let mut feed =
        if follow { Some(client.subscribe().await.context("cannot subscribe to the live feed")?) } else { None };
    let mut params = LogsReadParams { session: session.clone(), item: item.clone(), offset: None, limit: None };
    let mut text = String::new();
    loop {
        let page: LogsReadResult =
            client.logs_read(params.clone()).await.with_context(|| format!("cannot read {what}"))?;
        let progressed = page.next_offset != params.offset.unwrap_or(0);
        params.offset = Some(page.next_offset);
        match (follow, ctx.json) {
            (true, true) => {
                if !page.text.is_empty() || page.complete {
                    output::json(&page)?;
                }
            }
            (_, false) => {
                let mut written = Ok(());
                output::raw(|out| written = out.write_all(page.text.as_bytes()))?;
                written?;
            }
            (false, true) => text.push_str(&page.text),
        }
        if page.complete || (!follow && !progressed) {
            if !follow && ctx.json {
                let doc = json!({"session": session, "item": item, "text": text, "next_offset": page.next_offset,
                                 "complete": page.complete});
                output::json(&doc)?;
            }
            return Ok(Exit::OK);
        }
        if progressed {
            continue;
        }
        if let Some(sub) = &mut feed {
            // The end of the session (or any other event, or the poll interval): then read again.
            match tokio::time::timeout(FOLLOW_EVERY, sub.next()).await {
                Ok(Ok(_)) | Ok(Err(ClientError::Lagged { .. })) | Err(_) => {}
                Ok(Err(e)) => return Err(e).context("the live feed ended"),
            }
        }
    }
}
