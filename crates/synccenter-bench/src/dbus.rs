//! The D-Bus baseline: a method call round trip through a private `dbus-daemon` (the broker KDE's job tracker
//! talks through), between two zbus connections on the bench's runtime. The method carries what a progress
//! report carries and answers what `session.report_progress` answers.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use anyhow::Context;

use crate::report::Lat;

const NAME: &str = "org.synccenter.Bench";
const PATH: &str = "/org/synccenter/Bench";
const INTERFACE: &str = "org.synccenter.Bench1";

struct Tracker;

#[zbus::interface(name = "org.synccenter.Bench1")]
impl Tracker {
    /// Session, item, status, step, max step; answers the cancel request (0: none).
    fn report_progress(&self, _session: &str, _item: &str, _status: &str, _step: u32, _max_step: u32) -> u32 {
        0
    }
}

/// A private session bus, stopped when dropped.
struct Broker(Child);

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Round trips of a method call through `dbus-daemon`, or why they could not be measured.
pub(crate) async fn round_trips(n: u32) -> Result<Lat, String> {
    let mut child = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--print-address=1", "--nopidfile"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start dbus-daemon ({e}); install the distribution's dbus-daemon package"))?;
    let stdout = child.stdout.take();
    let broker = Broker(child);
    let address = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufReader::new(stdout.context("no stdout")?).read_line(&mut line)?;
        anyhow::Ok(line.trim().to_owned())
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("dbus-daemon printed no address: {e}"))?;
    let measured = measure(&address, n).await.map_err(|e| format!("D-Bus failed: {e:#}"));
    drop(broker);
    measured
}

async fn measure(address: &str, n: u32) -> anyhow::Result<Lat> {
    let _server = zbus::connection::Builder::address(address)
        .name(NAME)
        .serve_at(PATH, Tracker)
        .build()
        .await
        .context("the service's connection")?;
    let client = zbus::connection::Builder::address(address).build().await.context("the client's connection")?;
    let session = "00000000-0000-0000-0000-000000000000";
    let mut lat = Vec::with_capacity(n as usize);
    for step in 0..n + 100 {
        let t = Instant::now();
        let reply = client
            .call_method(Some(NAME), PATH, Some(INTERFACE), "ReportProgress", &(session, "item", "updating", step, n))
            .await?;
        let cancel: u32 = reply.body().deserialize()?;
        anyhow::ensure!(cancel == 0, "unexpected answer {cancel}");
        // The first calls warm up the connections.
        if step >= 100 {
            lat.push(t.elapsed());
        }
    }
    Ok(Lat::new(lat))
}
