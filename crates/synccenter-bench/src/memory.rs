//! The daemon's resident memory (in its own process): idle, with many live sessions whose items all carry
//! progress, and after those sessions ended.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde_json::json;

use crate::daemon::ChildDaemon;
use crate::raw::Raw;

/// Items per session.
pub(crate) const ITEMS: usize = 10;

/// Resident bytes: idle (handler and items registered), with the sessions live, and after they ended.
#[derive(Debug)]
pub(crate) struct Rss {
    pub(crate) idle: u64,
    pub(crate) live: u64,
    pub(crate) ended: u64,
}

/// Runs a daemon process, opens `sessions` sessions of [`ITEMS`] items over `conns` connections, reports
/// progress (with a text) on every item, ends every session, and samples the daemon's resident memory.
pub(crate) async fn measure(dir: &Path, sessions: u32, conns: u32) -> anyhow::Result<Rss> {
    let daemon = ChildDaemon::start(dir, "memory").await?;
    let items: Vec<String> = (0..ITEMS).map(|i| format!("i{i}")).collect();
    let mut setup = Raw::hello(&daemon.socket).await?;
    setup
        .call(
            "handler.register",
            json!({"handler": "mem", "name": "Memory", "capabilities": ["supports_concurrent_sessions"]}),
        )
        .await?;
    for i in &items {
        setup.call("item.register", json!({"handler": "mem", "item": i, "name": i})).await?;
    }
    let mut cs = Vec::new();
    for _ in 0..conns {
        cs.push(Raw::hello(&daemon.socket).await?);
    }
    settle().await;
    let idle = daemon.rss()?;

    let per = sessions / conns;
    let tasks: Vec<_> = cs
        .into_iter()
        .map(|mut c| {
            let items = items.clone();
            tokio::spawn(async move {
                let created = c
                    .pipelined(per, 16, |_| {
                        json!({"jsonrpc": "2.0", "method": "session.create", "params": {"handler": "mem", "items": items}})
                    })
                    .await?;
                let ids: Vec<String> = created
                    .iter()
                    .map(|r| r["session"].as_str().map(str::to_owned).context("session id"))
                    .collect::<anyhow::Result<_>>()?;
                for (n, s) in ids.iter().enumerate() {
                    for i in &items {
                        c.send(&json!({"jsonrpc": "2.0", "method": "session.report_progress",
                            "params": {"session": s, "item": i, "status": "updating", "step": n, "max_step": 1000,
                                       "text": format!("Copying file {n} of 1000")}}))
                            .await?;
                    }
                }
                c.call("status", json!({})).await?;
                anyhow::Ok((c, ids))
            })
        })
        .collect();
    let mut owners = Vec::new();
    for t in tasks {
        owners.push(t.await??);
    }
    let status = setup.call("status", json!({})).await?;
    anyhow::ensure!(
        status["live_sessions"].as_u64() == Some(u64::from(per * conns)),
        "expected {} live sessions: {status}",
        per * conns
    );
    settle().await;
    let live = daemon.rss()?;

    let tasks: Vec<_> = owners
        .into_iter()
        .map(|(mut c, ids)| {
            tokio::spawn(async move {
                c.pipelined(
                    ids.len() as u32,
                    16,
                    |n| json!({"jsonrpc": "2.0", "method": "session.end", "params": {"session": ids[n as usize]}}),
                )
                .await?;
                anyhow::Ok(c)
            })
        })
        .collect();
    let mut keep = Vec::new();
    for t in tasks {
        keep.push(t.await??);
    }
    let status = setup.call("status", json!({})).await?;
    anyhow::ensure!(status["live_sessions"].as_u64() == Some(0), "sessions still live: {status}");
    settle().await;
    let ended = daemon.rss()?;
    drop(keep);
    drop(setup);
    daemon.stop().await?;
    Ok(Rss { idle, live, ended })
}

/// Past the daemon's periodic flushes (progress to the store every 500 ms, watchers every 100 ms).
async fn settle() {
    tokio::time::sleep(Duration::from_millis(1500)).await;
}
