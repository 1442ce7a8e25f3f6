//! The `flood` section: the overload a load test found (issue 16). A daemon in its own process, 64 owners in
//! 4 processes of their own each flooding progress notifications over their own connection, a stop for a
//! random owner's handler every 200 ms, and an idle connection timing `status`; with the same owners idle
//! first, for the baselines. [`crate::flood_run`] measures; this file reports.

use std::time::Duration;

use serde_json::json;

use crate::daemon::ChildDaemon;
use crate::flood_run::{self, Outcome, Plan};
use crate::raw::Raw;
use crate::report::{Lat, Verdict, n};

fn mib(b: u64) -> f64 {
    b as f64 / 1024.0 / 1024.0
}

/// Reports applied per second in the flood, counted up to the last `status` answered before it ended (a
/// lower bound: the daemon read its count before it answered), and reports applied in the whole run.
fn applied(out: &Outcome) -> (f64, u64) {
    let before = out.status.iter().filter(|s| s.answered <= out.t1).map(|s| s.applied).max().unwrap_or(0);
    let last = out.status.iter().rfind(|s| s.sent >= out.t1 && s.answered <= out.t2);
    let rate = last
        .filter(|s| s.answered > out.t1)
        .map_or(0.0, |s| (s.applied - before) as f64 / ((s.answered - out.t1) as f64 / 1e9));
    (rate, out.status.last().map_or(0, |s| s.applied - before))
}

/// The `status` round trips sent in `[from, to)`.
fn status_lat(out: &Outcome, from: u64, to: u64) -> Lat {
    Lat::new(
        out.status
            .iter()
            .filter(|s| s.sent >= from && s.sent < to)
            .map(|s| Duration::from_nanos(s.answered - s.sent))
            .collect(),
    )
}

/// Registers every owner's handler and its item.
async fn register(daemon: &ChildDaemon, owners: usize) -> anyhow::Result<()> {
    let mut c = Raw::hello(&daemon.socket).await?;
    for i in 0..owners {
        let h = crate::flood_owners::handler(i);
        c.call("handler.register", json!({"handler": h, "name": format!("Flood owner {i}")})).await?;
        c.call("item.register", json!({"handler": h, "item": "item", "name": "Item"})).await?;
    }
    crate::hot::setup(&daemon.socket).await
}

impl crate::Bench {
    pub(crate) async fn flood(&mut self) -> anyhow::Result<()> {
        let plan = Plan::new(self.scale.quick);
        self.bare_push("flood-relay.sock").await?;
        let daemon = ChildDaemon::start(self.dir.path(), "flood").await?;
        register(&daemon, plan.owners).await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let idle_rss = daemon.rss()?;
        let out = tokio::task::block_in_place(|| flood_run::run(&plan, &daemon.socket, &|| daemon.rss()))?;
        // The same daemon process's ingest, as the ingest section measures it with 16 owners, after the flood.
        let total = self.scale.n(400_000);
        let ingest = crate::hot::ingest(&daemon.socket, 16, total / 16).await?;
        daemon.stop().await?;
        self.flood_latency(&plan, &out);
        self.flood_rates(&plan, &out, ingest);
        self.flood_memory(&plan, &out, idle_rss);
        self.flood_problems(&out);
        Ok(())
    }

    /// Stop -> push and `status` round trips, idle and flooding.
    fn flood_latency(&mut self, plan: &Plan, out: &Outcome) {
        let idle = Lat::new(out.idle_push.clone());
        self.report.add(
            format!("baseline: stop -> push, {} idle owners ({} stops)", plan.owners, idle.len() + out.missing_idle),
            idle.text(true),
            format!("{} missing", out.missing_idle),
            Verdict::None,
            json!({"latency": idle.json(), "missing": out.missing_idle}),
        );
        let status_idle = status_lat(out, 0, out.t1);
        self.report.add(
            "baseline: status round trip, idle connection, owners idle",
            status_idle.text(true),
            String::new(),
            Verdict::None,
            status_idle.json(),
        );
        let flood = Lat::new(out.flood_push.clone());
        let ratio = flood.p99() / idle.p99().max(1e-3);
        let ok = out.missing_flood == 0 && flood.len() > 0 && ratio <= 5.0 && flood.p99() <= 5000.0;
        self.report.add(
            format!(
                "stop -> push, {} owners flooding ({} stops, every {:?})",
                plan.owners,
                flood.len(),
                plan.stop_flood
            ),
            format!("{}; {} missing", flood.text(true), out.missing_flood),
            format!("p99 {ratio:.1}x the idle p99 (p50 {:.1}x)", flood.p50() / idle.p50().max(1e-3)),
            Verdict::check(ok, "p99 <= 5x idle and <= 5 ms, none missing"),
            json!({"latency": flood.json(), "missing": out.missing_flood, "p99_vs_idle": ratio}),
        );
        let status = status_lat(out, out.t1, out.t2);
        let ok = out.status_unanswered == 0 && status.p99() <= 5000.0;
        self.report.add(
            format!("status round trip while they flood (every {:?})", plan.status_every),
            format!("{}; {} unanswered", status.text(true), out.status_unanswered),
            format!("p99 {:.1}x the idle p99", status.p99() / status_idle.p99().max(1e-3)),
            Verdict::check(ok, "p99 <= 5 ms, none unanswered"),
            json!({"latency": status.json(), "unanswered": out.status_unanswered}),
        );
    }

    /// Reports sent and applied in the flood, beside the same daemon's ingest.
    fn flood_rates(&mut self, plan: &Plan, out: &Outcome, ingest: f64) {
        let secs = plan.flood.as_secs_f64();
        let sent = out.sent as f64 / secs;
        self.report.add(
            format!("reports sent by the {} owners ({} processes)", plan.owners, plan.processes),
            format!("{} reports/s", n(sent)),
            format!("{} in {secs:.0} s", n(out.sent as f64)),
            Verdict::None,
            json!({"per_second": sent, "reports": out.sent}),
        );
        self.report.add(
            "baseline: daemon ingest, 16 owners (this daemon process, after the flood)",
            format!("{} reports/s", n(ingest)),
            String::new(),
            Verdict::None,
            json!({"per_second": ingest}),
        );
        let (rate, total) = applied(out);
        let share = if out.sent == 0 { 0.0 } else { total as f64 / out.sent as f64 };
        self.report.add(
            "reports applied during the flood",
            format!("{} reports/s", n(rate)),
            format!(
                "{:.0}% of the ingest; {:.0}% of the sent applied by the end",
                rate / ingest * 100.0,
                share * 100.0
            ),
            Verdict::check(rate >= ingest, ">= the ingest baseline"),
            json!({"per_second": rate, "applied_by_the_end": total, "share_of_ingest": rate / ingest}),
        );
    }

    /// The daemon's resident memory before, during and after the flood.
    fn flood_memory(&mut self, plan: &Plan, out: &Outcome, idle: u64) {
        let x = |b: u64| b as f64 / idle.max(1) as f64;
        self.report.add(
            "baseline: daemon RSS, idle (handlers registered)",
            format!("{:.1} MiB", mib(idle)),
            String::new(),
            Verdict::None,
            json!({"rss_bytes": idle}),
        );
        self.report.add(
            format!("daemon RSS, {} owners connected, idle", plan.owners),
            format!("{:.1} MiB", mib(out.rss_owners)),
            format!("{:.2}x idle", x(out.rss_owners)),
            Verdict::None,
            json!({"rss_bytes": out.rss_owners}),
        );
        self.report.add(
            "daemon RSS, peak (sampled every 100 ms)",
            format!("{:.1} MiB", mib(out.rss_peak)),
            format!("{:.2}x idle", x(out.rss_peak)),
            Verdict::check(out.rss_peak <= 64 << 20, "<= 64 MiB"),
            json!({"rss_bytes": out.rss_peak}),
        );
        self.report.add(
            format!("daemon RSS, {:?} after the owners left", plan.after),
            format!("{:.1} MiB", mib(out.rss_after)),
            format!("{:.2}x idle", x(out.rss_after)),
            Verdict::check(x(out.rss_after) <= 1.25, "<= 1.25x idle"),
            json!({"rss_bytes": out.rss_after}),
        );
    }

    /// What went wrong besides the figures, when anything did.
    fn flood_problems(&mut self, out: &Outcome) {
        let errors: Vec<&String> = out.stop_errors.iter().chain(&out.owner_errors).take(3).collect();
        if out.skipped + out.unexpected + out.stop_errors.len() + out.owner_errors.len() + out.missing_idle == 0 {
            return;
        }
        self.report.add(
            "run problems",
            format!(
                "{} stops skipped (no unstopped owner), {} unexpected pushes, {} idle pushes missing, {} stop errors, {} owner errors",
                out.skipped,
                out.unexpected,
                out.missing_idle,
                out.stop_errors.len(),
                out.owner_errors.len()
            ),
            format!("first: {errors:?}"),
            Verdict::check(false, "none"),
            json!({"skipped": out.skipped, "unexpected": out.unexpected, "stop_errors": out.stop_errors,
                   "owner_errors": out.owner_errors}),
        );
    }
}
