//! `cargo run --release -p synccenter-bench --bin bench -- [--quick] [--only SECTION,...] [--json PATH]`:
//! measures synccenter against a real daemon on a temporary socket and store, next to baselines measured in
//! the same run (a bare socket round trip, a bare JSON-lines ingest, a bare push, one SQLite commit per
//! event, a D-Bus method call through `dbus-daemon`), and prints each figure with its ratio to its baseline,
//! then one Markdown table, and writes the same as JSON. Results belong in `docs/performance.md`; tests
//! never assert timings.

#![allow(clippy::print_stdout, clippy::print_stderr)] // A benchmark's output is its report.

mod bare;
mod blocking;
mod daemon;
mod dbus;
mod events;
mod flood;
mod flood_owners;
mod flood_run;
mod history;
mod hot;
mod memory;
mod raw;
mod report;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use serde_json::json;

use crate::report::{Lat, Report, Verdict, n};

/// The sections, in the order they run; `--only` takes these names.
const SECTIONS: [(&str, &str); 10] = [
    ("rtt", "request/response round trips: bare socket, the daemon, D-Bus"),
    ("client", "client-side cost of Session::report_progress (Rust client)"),
    ("ingest", "reports per second ingested and applied by the daemon"),
    ("cancel", "control.stop on another connection -> cancel push at the owner"),
    ("durable", "durable events per second (acknowledged session.report_event; WAL, synchronous=FULL)"),
    ("sessions", "session.create + session.end per second"),
    ("events", "events.list with a large history"),
    ("history", "time to serve and file size with 100 k to 3 M events; durable events while pruning runs"),
    ("memory", "daemon resident memory (daemon in its own process)"),
    ("flood", "64 owners in 4 processes flooding progress, a stop every 200 ms, status from an idle connection"),
];

const USAGE: &str = "usage: bench [--quick] [--only SECTION[,SECTION...]] [--json PATH]
  --quick   smaller counts (a smoke run: the figures are noisier)
  --only    run only these sections: rtt, client, ingest, cancel, durable, sessions, events, history, memory,
            flood
  --json    where to write the results (default: target/bench.json)";

#[derive(Debug)]
struct Args {
    quick: bool,
    only: Vec<String>,
    json: PathBuf,
}

/// The arguments, or `None` after printing the usage for `--help`.
fn parse_args() -> anyhow::Result<Option<Args>> {
    let mut args = Args { quick: false, only: Vec::new(), json: PathBuf::from("target/bench.json") };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => args.quick = true,
            "--only" => {
                let v = it.next().context("--only needs a section name")?;
                for s in v.split(',').filter(|s| !s.is_empty()) {
                    anyhow::ensure!(SECTIONS.iter().any(|(name, _)| *name == s), "unknown section {s:?}\n{USAGE}");
                    args.only.push(s.to_owned());
                }
            }
            "--json" => args.json = PathBuf::from(it.next().context("--json needs a path")?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => anyhow::bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    Ok(Some(args))
}

/// How much each section does: the full run, or a tenth of it.
#[derive(Clone, Copy, Debug)]
struct Scale {
    quick: bool,
}

impl Scale {
    fn n(&self, full: u32) -> u32 {
        if self.quick { (full / 10).max(1) } else { full }
    }
}

/// How many bare/daemon pairs `ingest` measures per owner count (odd: the median is one of them).
const INGEST_PAIRS: usize = 3;

/// Baselines shared by several sections, measured once, when first needed.
#[derive(Default)]
struct Baselines {
    rtt: Option<Lat>,
}

struct Bench {
    dir: tempfile::TempDir,
    scale: Scale,
    report: Report,
    base: Baselines,
    daemon: Option<daemon::InProcess>,
}

fn main() -> anyhow::Result<()> {
    let mut argv = std::env::args().skip(1);
    match argv.next().as_deref() {
        Some("__daemon") => {
            let socket = PathBuf::from(argv.next().context("socket")?);
            let data = PathBuf::from(argv.next().context("data directory")?);
            return daemon::child_main(&socket, &data);
        }
        Some("__flood-owners") => return flood_owners::child_main(argv),
        _ => {}
    }
    let Some(args) = parse_args()? else { return Ok(()) };
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run(args))
}

fn machine() -> serde_json::Value {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let mem_gib = read("/proc/meminfo")
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<f64>().ok())
        .map(|k| k / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    json!({
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "cpu": cpu,
        "memory_gib": (mem_gib * 10.0).round() / 10.0,
        "kernel": read("/proc/sys/kernel/osrelease").trim(),
    })
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

async fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let date =
        time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let machine = machine();
    let load_before = loadavg();
    println!("synccenter benchmark: {date}, {machine}, load average {load_before}");
    println!("(each figure is printed with its ratio to a baseline measured in this same run)");
    let mut b = Bench {
        dir: tempfile::tempdir()?,
        scale: Scale { quick: args.quick },
        report: Report::default(),
        base: Baselines::default(),
        daemon: None,
    };
    for (name, title) in SECTIONS {
        if !args.only.is_empty() && !args.only.iter().any(|o| o == name) {
            continue;
        }
        b.report.section(name, title);
        let t = Instant::now();
        match name {
            "rtt" => b.rtt().await?,
            "client" => b.client().await?,
            "ingest" => b.ingest().await?,
            "cancel" => b.cancel().await?,
            "durable" => b.durable().await?,
            "sessions" => b.sessions().await?,
            "events" => b.events().await?,
            "history" => b.history().await?,
            "memory" => b.memory().await?,
            "flood" => b.flood().await?,
            _ => unreachable!("every section is handled"),
        }
        println!("    ({name} took {:.1} s)", t.elapsed().as_secs_f64());
    }
    if let Some(d) = b.daemon.take() {
        d.stop().await?;
    }
    let load_after = loadavg();
    let elapsed = started.elapsed().as_secs_f64();
    println!("\nload average before {load_before}, after {load_after}; the whole run took {elapsed:.0} s\n");
    println!("{}", b.report.markdown());
    let header = json!({"date": date, "machine": machine, "quick": args.quick, "only": args.only,
                        "load_before": load_before, "load_after": load_after, "seconds": elapsed});
    if let Some(parent) = args.json.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.json, serde_json::to_string_pretty(&b.report.json(header))?)
        .with_context(|| format!("cannot write {}", args.json.display()))?;
    println!("results written to {}", args.json.display());
    Ok(())
}

impl Bench {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The in-process daemon most sections measure, started on first use.
    async fn socket(&mut self) -> anyhow::Result<PathBuf> {
        if self.daemon.is_none() {
            let d = daemon::InProcess::start(self.path("run/s.sock"), self.path("data"), None)?;
            hot::setup(&d.socket).await?;
            self.daemon = Some(d);
        }
        self.daemon.as_ref().map(|d| d.socket.clone()).context("daemon")
    }

    /// The bare socket round trip, measured on first use.
    async fn bare_rtt(&mut self) -> anyhow::Result<Lat> {
        if let Some(l) = &self.base.rtt {
            return Ok(l.clone());
        }
        let lat = bare::round_trip(self.dir.path(), self.scale.n(20_000)).await?;
        self.report.add(
            "baseline: bare Unix-socket round trip (echo server)",
            lat.text(false),
            String::new(),
            Verdict::None,
            lat.json(),
        );
        self.base.rtt = Some(lat.clone());
        Ok(lat)
    }

    async fn rtt(&mut self) -> anyhow::Result<()> {
        let bare = self.bare_rtt().await?;
        let socket = self.socket().await?;
        let lat = hot::round_trips(&socket, self.scale.n(20_000)).await?;
        self.report.add(
            "daemon: session.report_progress as a request",
            lat.text(false),
            format!("p50 {:.2}x, p99 {:.2}x the bare round trip", lat.p50() / bare.p50(), lat.p99() / bare.p99()),
            Verdict::None,
            lat.json(),
        );
        match dbus::round_trips(self.scale.n(5_000)).await {
            Ok(d) => self.report.add(
                "baseline: D-Bus method call through dbus-daemon (zbus)",
                d.text(false),
                format!(
                    "the daemon's round trip is {:.1}x faster (p50), {:.1}x (p99); D-Bus is {:.1}x the bare round trip",
                    d.p50() / lat.p50(),
                    d.p99() / lat.p99(),
                    d.p50() / bare.p50()
                ),
                Verdict::None,
                d.json(),
            ),
            Err(why) => {
                self.report.add(
                    "baseline: D-Bus method call through dbus-daemon (zbus)",
                    format!("skipped: {why}"),
                    String::new(),
                    Verdict::None,
                    json!({"skipped": why}),
                );
            }
        }
        Ok(())
    }

    async fn client(&mut self) -> anyhow::Result<()> {
        let bare = self.bare_rtt().await?;
        let socket = self.socket().await?;
        let cost = hot::client_cost(&socket, self.scale.n(200_000)).await?;
        let cheaper = bare.p50() / cost.p50().max(1e-6);
        self.report.add(
            "Session::report_progress, client side",
            cost.text(false),
            format!("{cheaper:.0}x cheaper than a bare round trip (p50)"),
            Verdict::check(cost.p50() < 1.0 && cheaper >= 40.0, "< 1 µs and >= 40x"),
            cost.json(),
        );
        Ok(())
    }

    /// Each owner count is measured as [`INGEST_PAIRS`] pairs, the bare ingest then the daemon's, one after the
    /// other: a pair shares the moment of the machine, and the median share of the pairs is the figure. One
    /// pair of 400,000 lines lasts a fraction of a second, and a single pair moved by ±10% between runs.
    async fn ingest(&mut self) -> anyhow::Result<()> {
        let socket = self.socket().await?;
        let total = self.scale.n(400_000);
        for owners in [1usize, 16, 256] {
            let per = (total / owners as u32).max(1);
            let mut pairs = Vec::with_capacity(INGEST_PAIRS);
            for pair in 0..INGEST_PAIRS {
                let name = format!("ingest-{owners}-{pair}.sock");
                let bare = bare::ingest(self.dir.path(), &name, owners, per).await?;
                let rate = hot::ingest(&socket, owners, per).await?;
                pairs.push((bare, rate));
            }
            pairs.sort_by(|a, b| (a.1 / a.0).total_cmp(&(b.1 / b.0)));
            let (bare, rate) = pairs[pairs.len() / 2];
            let share = rate / bare;
            let (low, high) = (pairs[0].1 / pairs[0].0, pairs[pairs.len() - 1].1 / pairs[pairs.len() - 1].0);
            self.report.add(
                format!("baseline: bare JSON-lines ingest into a map, {owners} connection(s)"),
                format!("{} lines/s", n(bare)),
                String::new(),
                Verdict::None,
                json!({"per_second": bare, "connections": owners, "per_connection": per}),
            );
            self.report.add(
                format!("daemon ingest, {owners} owner(s)"),
                format!("{} reports/s", n(rate)),
                format!(
                    "{:.0}% of the bare ingest (median of {INGEST_PAIRS} pairs: {:.0}% to {:.0}%)",
                    share * 100.0,
                    low * 100.0,
                    high * 100.0
                ),
                if owners == 1 {
                    Verdict::check(rate >= 1_000_000.0 && share >= 0.5, ">= 1,000,000/s and >= 50%")
                } else {
                    Verdict::check(rate >= 1_000_000.0 && share >= 0.8, ">= 1,000,000/s and >= 80%")
                },
                json!({
                    "per_second": rate, "owners": owners, "per_owner": per, "share_of_bare": share,
                    "pairs": pairs.iter().map(|(b, r)| json!({"bare": b, "daemon": r})).collect::<Vec<_>>(),
                }),
            );
        }
        Ok(())
    }

    /// The bare push to an idle client, on a relay at `name` in the run's directory, measured and reported.
    async fn bare_push(&mut self, name: &str) -> anyhow::Result<Lat> {
        let bare = bare::push(self.dir.path(), name, self.scale.n(2_000) as usize).await?;
        self.report.add(
            "baseline: bare push to an idle client (relay server)",
            bare.text(true),
            String::new(),
            Verdict::None,
            bare.json(),
        );
        Ok(bare)
    }

    async fn cancel(&mut self) -> anyhow::Result<()> {
        // 2,000 rounds a figure: with 500 a p99 was the fifth worst sample and moved by half between runs.
        let rounds = self.scale.n(2_000) as usize;
        let (bare, floor) = self.cancel_baselines(rounds).await?;
        // The daemon on the bench's own runtime, sharing its task queues with the bench's senders, and then
        // in a process of its own, as it runs for real.
        let child = daemon::ChildDaemon::start(self.dir.path(), "cancel").await?;
        hot::setup(&child.socket).await?;
        let sockets = [("in-process", self.socket().await?), ("own process", child.socket.clone())];
        for (place, socket) in sockets {
            for (chatty, rate) in [(0usize, 0.0), (16, 100_000.0)] {
                let (lat, achieved) = hot::stop_latency(&socket, rounds, chatty, rate).await?;
                let ratio = lat.p99() / bare.p99();
                let vs = format!("p99 {ratio:.2}x the bare push p99 (p50 {:.2}x)", lat.p50() / bare.p50());
                let (name, vs, verdict) = if chatty == 0 {
                    (format!("stop -> push, idle daemon ({place})"), vs, Verdict::None)
                } else {
                    (
                        format!("stop -> push, {chatty} chatty owners, {} reports/s ({place})", n(achieved)),
                        format!("{vs}; {:.2}x the relay on its own thread under this load", lat.p99() / floor.p99()),
                        Verdict::check(ratio <= 2.0, "p99 <= 2x the bare push p99"),
                    )
                };
                self.report.add(
                    name,
                    lat.text(true),
                    vs,
                    verdict,
                    json!({"latency": lat.json(), "chatty": chatty, "load_per_second": achieved, "daemon": place}),
                );
            }
        }
        child.stop().await?;
        Ok(())
    }

    /// The cancel section's floors: the bare push (returned first, the target's baseline), the same relay on
    /// a thread that must be woken for each line, as the daemon's control lane is, and both under the load the
    /// daemon gets. The relay on its own thread under that load is returned second: it does nothing but
    /// relay, so no daemon in its own process can beat it.
    async fn cancel_baselines(&mut self, rounds: usize) -> anyhow::Result<(Lat, Lat)> {
        let bare = self.bare_push("relay.sock").await?;
        let relay_thread = bare::OwnThread::start()?;
        let own = bare::push_on(&relay_thread.handle, self.dir.path(), "relay-thread.sock", rounds).await?;
        self.report.add(
            "bare push, the relay on a thread of its own",
            own.text(true),
            format!("p99 {:.2}x the idle bare push p99", own.p99() / bare.p99()),
            Verdict::None,
            json!({"latency": own.json()}),
        );
        let here = tokio::runtime::Handle::current();
        let relays = [
            ("", &here, "relay-loaded.sock"),
            (", the relay on its own thread", &relay_thread.handle, "relay-thread-loaded.sock"),
        ];
        let mut floor = None;
        for (place, on, name) in relays {
            let (loaded, achieved) = bare::push_under_load(on, self.dir.path(), name, rounds, 16, 100_000.0).await?;
            self.report.add(
                format!("bare push, 16 chatty connections, {} lines/s into a bare server{place}", n(achieved)),
                loaded.text(true),
                format!(
                    "p99 {:.2}x the idle bare push p99: the machine's own tail under this load",
                    loaded.p99() / bare.p99()
                ),
                Verdict::None,
                json!({"latency": loaded.json(), "load_per_second": achieved, "relay_thread": !place.is_empty()}),
            );
            floor = Some(loaded);
        }
        Ok((bare, floor.context("the relays under load")?))
    }

    async fn durable(&mut self) -> anyhow::Result<()> {
        let bare = bare::commit_per_event(self.dir.path(), self.scale.n(3_000)).await?;
        self.report.add(
            "baseline: one SQLite commit per event (autocommit INSERT, FULL)",
            format!("{} events/s", n(bare)),
            String::new(),
            Verdict::None,
            json!({"per_second": bare}),
        );
        let socket = self.socket().await?;
        let runs: [(usize, u32, u32, &str); 5] = [
            (1, 2_000, 1, "1 reporter, one event in flight"),
            (16, 500, 1, "16 reporters, one event in flight each"),
            (1, 20_000, 64, "1 reporter, 64 events in flight (pipelined)"),
            (16, 4_000, 16, "16 reporters, 16 events in flight each (pipelined)"),
            (16, 8_000, 64, "16 reporters, 64 events in flight each (pipelined)"),
        ];
        for (reporters, per, window, name) in runs {
            let rate = hot::durable_events(&socket, reporters, self.scale.n(per), window).await?;
            let ratio = rate / bare;
            let verdict = if reporters == 16 && window > 1 {
                Verdict::check(rate >= 50_000.0 && ratio >= 5.0, ">= 50,000/s and >= 5x")
            } else {
                Verdict::None
            };
            self.report.add(
                name,
                format!("{} events/s", n(rate)),
                format!("{ratio:.1}x the bare commit"),
                verdict,
                json!({"per_second": rate, "reporters": reporters, "in_flight": window}),
            );
        }
        Ok(())
    }

    async fn sessions(&mut self) -> anyhow::Result<()> {
        let bare = self.bare_rtt().await?;
        let socket = self.socket().await?;
        let two_trips = 1e6 / (2.0 * bare.p50());
        for (conns, per) in [(1usize, 2_000u32), (16, 250)] {
            let rate = hot::create_end(&socket, conns, self.scale.n(per)).await?;
            self.report.add(
                format!("create + end, {conns} connection(s), one request at a time"),
                format!("{} pairs/s", n(rate)),
                format!("{:.2}x two bare round trips per pair", rate / two_trips),
                Verdict::None,
                json!({"pairs_per_second": rate, "connections": conns}),
            );
        }
        Ok(())
    }

    async fn events(&mut self) -> anyhow::Result<()> {
        let count = u64::from(self.scale.n(1_000_000));
        let file = self.path("events/history.sqlite");
        std::fs::create_dir_all(file.parent().context("parent")?)?;
        let rate = events::fill(&file, count, 1_000).await?;
        self.report.add(
            format!("setup: {} events written through the store in batches of 1,000", n(count as f64)),
            format!("{} events/s", n(rate)),
            String::new(),
            Verdict::None,
            json!({"per_second": rate, "events": count}),
        );
        let daemon = daemon::InProcess::start(self.path("run/events.sock"), self.path("events-data"), Some(&file))?;
        let mut c = raw::Raw::hello(&daemon.socket).await?;
        let reps = self.scale.n(200) as usize;
        for q in events::queries(count) {
            let (lat, total) = events::time_page(&mut c, &q.params, 100, reps).await?;
            self.report.add(
                format!("events.list page of 100, {}", q.name),
                format!("{} ({} match)", lat.text(false), n(total as f64)),
                format!("p99 {:.2}x the 5 ms target", lat.p99() / 5000.0),
                Verdict::check(lat.p99() <= 5000.0, "<= 5 ms"),
                json!({"latency": lat.json(), "total": total, "filter": q.params}),
            );
        }
        let q = json!({"handler": "h3"});
        let lat = events::time_deep(&mut c, &q, 100, self.scale.n(200) as usize).await?;
        self.report.add(
            format!("events.list, handler, following next through {} pages", lat.len()),
            lat.text(true),
            format!("max {:.2}x the 5 ms target", lat.max() / 5000.0),
            Verdict::check(lat.p99() <= 5000.0, "<= 5 ms"),
            json!({"latency": lat.json(), "filter": q}),
        );
        drop(c);
        daemon.stop().await?;
        Ok(())
    }

    async fn memory(&mut self) -> anyhow::Result<()> {
        let sessions = self.scale.n(10_000);
        let rss = memory::measure(self.dir.path(), sessions, 16).await?;
        let items = f64::from(sessions) * memory::ITEMS as f64;
        let mib = |b: u64| b as f64 / 1024.0 / 1024.0;
        self.report.add(
            "baseline: idle daemon (handler and items registered)",
            format!("{:.1} MiB", mib(rss.idle)),
            String::new(),
            Verdict::None,
            json!({"rss_bytes": rss.idle}),
        );
        let per_item = (rss.live.saturating_sub(rss.idle)) as f64 / items;
        self.report.add(
            format!("{} live sessions of {} items, each with progress", n(f64::from(sessions)), memory::ITEMS),
            format!("{:.1} MiB", mib(rss.live)),
            format!("{:.0} bytes per live item above idle", per_item),
            Verdict::check(per_item <= 2048.0, "<= 2 KiB per item"),
            json!({"rss_bytes": rss.live, "bytes_per_item": per_item}),
        );
        let back = rss.ended.saturating_sub(rss.idle);
        self.report.add(
            "after every session ended",
            format!("{:.1} MiB", mib(rss.ended)),
            format!("{:.2}x idle ({:.1} MiB above)", rss.ended as f64 / rss.idle as f64, mib(back)),
            Verdict::check(rss.ended as f64 <= rss.idle as f64 * 1.1, "back to idle (within 10%)"),
            json!({"rss_bytes": rss.ended}),
        );
        Ok(())
    }
}
