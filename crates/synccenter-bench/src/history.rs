//! The `history` section (issue 20): how long a daemon takes to serve with a large history, how large the
//! file is, and what pruning costs the acknowledged writes it runs beside.
//!
//! One file grows through 100,000, 1,000,000 and 3,000,000 events of the `events` section's generated history
//! (written through the store's `apply`, closed cleanly as a stopped daemon leaves it). At each size a daemon
//! process is started on it (this binary's `__daemon`), after dropping the page cache when the bench may (as
//! root), and the time from the spawn to the first answered `status` is taken. Then durable events are
//! measured on a copy of a 1,000,000-event file with pruning off and with pruning removing that (old) history
//! under the default `[retention]`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;

use crate::raw::Raw;
use crate::report::{Lat, Verdict, n};
use crate::{Bench, daemon, events, hot};

/// Whether the page cache was dropped (`sync; echo 3 > /proc/sys/vm/drop_caches`; only root may).
fn drop_caches() -> bool {
    let synced = Command::new("sync").status().is_ok_and(|s| s.success());
    synced && std::fs::write("/proc/sys/vm/drop_caches", "3").is_ok()
}

/// Spawns a daemon process on `data_dir` and returns the time from the spawn to its first `status` answer.
async fn time_to_status(dir: &Path, data_dir: &Path, name: &str) -> anyhow::Result<Duration> {
    let socket = dir.join(format!("run/{name}.sock"));
    let start = Instant::now();
    let mut child = Command::new(std::env::current_exe()?)
        .arg("__daemon")
        .arg(&socket)
        .arg(data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .context("cannot start the daemon process")?;
    let served = async {
        loop {
            anyhow::ensure!(start.elapsed() < Duration::from_secs(120), "the daemon did not answer within 120 s");
            match Raw::hello(&socket).await {
                Ok(mut c) => {
                    c.call("status", json!({})).await?;
                    return Ok(start.elapsed());
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
            }
        }
    }
    .await;
    drop(child.stdin.take());
    let status = tokio::task::spawn_blocking(move || child.wait()).await??;
    anyhow::ensure!(status.success(), "the daemon process exited with {status}");
    served
}

/// Latency of `n` acknowledged `session.report_event` calls, one at a time on one connection.
async fn ack_latency(socket: &Path, n: u32) -> anyhow::Result<Lat> {
    let (mut c, session) = hot::owner(socket, hot::MANY).await?;
    let mut lat = Vec::with_capacity(n as usize);
    for i in 0..n {
        let event = json!({"session": session, "level": "info", "name": "copied", "description": format!("file {i}")});
        let t = Instant::now();
        c.call("session.report_event", event).await?;
        lat.push(t.elapsed());
    }
    Ok(Lat::new(lat))
}

impl Bench {
    pub(crate) async fn history(&mut self) -> anyhow::Result<()> {
        let data = self.path("history-data");
        std::fs::create_dir_all(&data)?;
        let file = data.join(synccenter_store_sqlite::DB_FILE_NAME);
        let mut written = 0;
        for full in [100_000u64, 1_000_000, 3_000_000] {
            let count = u64::from(self.scale.n(full as u32));
            let rate = events::fill_range(&file, written, count, 1_000).await?;
            written = count;
            if full == 1_000_000 {
                std::fs::copy(&file, self.path("history-1m.sqlite"))?;
            }
            let bytes = std::fs::metadata(&file)?.len();
            let cold = drop_caches();
            let served = time_to_status(self.dir.path(), &data, "history").await?;
            let ms = served.as_secs_f64() * 1e3;
            let cache = if cold { "cold cache" } else { "warm cache (not root: the page cache was not dropped)" };
            self.report.add(
                format!("{} events: daemon start to first status answer, {cache}", n(count as f64)),
                format!("{ms:.0} ms"),
                format!("file {:.0} MiB ({:.0} bytes per event); written at {} events/s", mib(bytes), bytes as f64 / count as f64, n(rate)),
                Verdict::check(ms <= 500.0, "<= 500 ms"),
                json!({"events": count, "start_ms": ms, "file_bytes": bytes, "cold_cache": cold, "fill_per_second": rate}),
            );
        }
        self.pruning_cost().await
    }

    /// Durable events with pruning off, then while it removes a 1,000,000-event history (a tenth with
    /// `--quick`) in its batches.
    async fn pruning_cost(&mut self) -> anyhow::Result<()> {
        let per = self.scale.n(4_000);
        let (mut off, mut off_p99) = (0.0, 0.0);
        for pruning in [false, true] {
            let name = if pruning { "on" } else { "off" };
            let copy = self.path(&format!("history-prune-{name}.sqlite"));
            std::fs::copy(self.path("history-1m.sqlite"), &copy)?;
            let settings = synccenter_daemon::Pruning {
                enabled: pruning,
                first: Duration::ZERO,
                ..synccenter_daemon::Pruning::default()
            };
            let socket = self.path(&format!("run/prune-{name}.sock"));
            let d = daemon::InProcess::start_pruning(
                socket,
                self.path(&format!("prune-{name}-data")),
                Some(&copy),
                settings,
            )?;
            hot::setup(&d.socket).await?;
            let mut c = Raw::hello(&d.socket).await?;
            let total = |r: serde_json::Value| r["total"].as_u64().unwrap_or(0);
            let before = total(c.call("events.list", json!({"limit": 1})).await?);
            let rate = hot::durable_events(&d.socket, 16, per, 16).await?;
            let one_by_one = self.scale.n(1_000);
            let lat = ack_latency(&d.socket, one_by_one).await?;
            let after = total(c.call("events.list", json!({"limit": 1})).await?);
            let removed = (before + u64::from(per) * 16 + u64::from(one_by_one)).saturating_sub(after);
            drop(c);
            d.stop().await?;
            std::fs::remove_file(&copy)?;
            if !pruning {
                (off, off_p99) = (rate, lat.p99());
            }
            let ratio = if pruning {
                let removed = n(removed as f64);
                format!("{:.2}x without pruning; {removed} old events removed during both measurements", rate / off)
            } else {
                String::new()
            };
            anyhow::ensure!(!pruning || removed > 0, "pruning removed nothing while it was measured");
            self.report.add(
                format!("durable events, 16 reporters, 16 in flight each, pruning {name}"),
                format!("{} events/s", n(rate)),
                ratio,
                Verdict::None,
                json!({"per_second": rate, "pruning": pruning, "removed_meanwhile": removed}),
            );
            let vs = if pruning { format!("p99 {:.2}x without pruning", lat.p99() / off_p99) } else { String::new() };
            self.report.add(
                format!("ack latency of session.report_event, one at a time, pruning {name}"),
                lat.text(true),
                vs,
                Verdict::None,
                json!({"latency": lat.json(), "pruning": pruning}),
            );
        }
        Ok(())
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1024.0 / 1024.0
}
