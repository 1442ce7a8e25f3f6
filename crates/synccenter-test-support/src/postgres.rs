//! [`PgServer`]: a private, throwaway PostgreSQL server for tests that stop and restart the server, which
//! must not disturb the other tests sharing the suite's server (`.ci/start-postgres`).
//!
//! Each server has its own temporary data directory and a free loopback port. `initdb` and `postgres` refuse
//! to run as root, so when the tests run as root the directory is handed to the `postgres` system user and
//! every PostgreSQL program runs through `runuser -u postgres --`. The calls block while `pg_ctl` works (a
//! second or two); they are meant for tests.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// Where Debian installs the server's programs, one directory per major version.
const DEBIAN_PG_ROOT: &str = "/usr/lib/postgresql";

/// Environment variable naming the suite's shared server (an admin URL, e.g. of the `postgres` database);
/// `bash .ci/start-postgres` starts one and prints the line to export.
pub const SUITE_URL_ENV: &str = "SYNCCENTER_TEST_PG_URL";

/// Environment variable naming the directory of `initdb` and `pg_ctl`, overriding the search.
pub const PG_BIN_ENV: &str = "SYNCCENTER_TEST_PG_BIN";

/// A PostgreSQL server of its own, on `127.0.0.1` and a port nobody else uses. Dropping it stops the server
/// at once (`-m immediate`) and deletes its data.
#[derive(Debug)]
pub struct PgServer {
    root: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
    running: bool,
}

impl PgServer {
    /// Creates a cluster in a temporary directory (trust authentication, superuser `postgres`) and starts it.
    /// Fails with what is missing when PostgreSQL is not installed.
    pub fn start() -> anyhow::Result<PgServer> {
        let bin = find_bin()?;
        let as_postgres = rustix::process::geteuid().is_root();
        let root =
            tempfile::Builder::new().prefix("synccenter-pg-").tempdir().context("creating a temporary directory")?;
        let port = free_port()?;
        let mut server = PgServer { root, bin, port, as_postgres, running: false };
        if as_postgres {
            let status = Command::new("chown")
                .arg("-R")
                .arg("postgres:")
                .arg(server.root.path())
                .status()
                .context("running chown")?;
            if !status.success() {
                bail!("cannot give {} to the postgres user (is there one?)", server.root.path().display());
            }
        }
        let data = server.data_dir();
        let mut initdb = server.command("initdb");
        initdb.arg("-D").arg(&data).args([
            "--auth=trust",
            "-U",
            "postgres",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ]);
        run(&mut initdb, "initdb")?;
        server.start_again()?;
        Ok(server)
    }

    /// [`PgServer::start`] for a test that needs PostgreSQL installed: `None` (the test returns) when it is
    /// not, under the rule of [`require`](crate::require); any other failure to start fails the test.
    pub fn start_if_installed() -> Option<PgServer> {
        crate::require("PostgreSQL (for a private server)", find_bin().map_err(|e| format!("{e:#}")))?;
        Some(PgServer::start().unwrap_or_else(|e| panic!("cannot start a private PostgreSQL server: {e:#}")))
    }

    /// The URL of the `postgres` database as the superuser.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Its private directory: the data directory `data/`, the server's log and its Unix socket.
    pub fn dir(&self) -> &Path {
        self.root.path()
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (`pg_ctl -m fast`: sessions are disconnected, data is kept) and waits until it is
    /// down.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        let mut stop = self.command("pg_ctl");
        stop.arg("-D").arg(self.data_dir()).args(["-m", "fast", "-w", "stop"]);
        run(&mut stop, "pg_ctl stop")?;
        self.running = false;
        Ok(())
    }

    /// Starts the server again on the same data and port, and waits until it accepts connections.
    pub fn start_again(&mut self) -> anyhow::Result<()> {
        let log = self.root.path().join("server.log");
        let mut start = self.command("pg_ctl");
        start
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(&log)
            .arg("-o")
            .arg(format!("-p {} -k {} -c listen_addresses=127.0.0.1", self.port, self.root.path().display()))
            .args(["-w", "-t", "60", "start"]);
        if let Err(e) = run(&mut start, "pg_ctl start") {
            let tail = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect();
            return Err(e.context(format!("server log:\n{}", tail.join("\n"))));
        }
        self.running = true;
        Ok(())
    }

    fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// A command running the PostgreSQL program `program`, as the `postgres` user when we are root.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if self.running {
            let mut stop = self.command("pg_ctl");
            stop.arg("-D").arg(self.data_dir()).args(["-m", "immediate", "-w", "stop"]);
            // Nothing to do about a failure here; the directory goes away with the TempDir.
            let _ = stop.output();
        }
    }
}

/// The directory holding `initdb` and `pg_ctl`: [`PG_BIN_ENV`], else Debian's newest installed version.
pub fn find_bin() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os(PG_BIN_ENV) {
        let dir = PathBuf::from(dir);
        if dir.join("initdb").is_file() {
            return Ok(dir);
        }
        bail!("{PG_BIN_ENV}={} has no initdb", dir.display());
    }
    let newest = std::fs::read_dir(DEBIAN_PG_ROOT)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let major: u32 = e.file_name().to_str()?.split('.').next()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((major, bin))
        })
        .max_by_key(|(major, _)| *major);
    match newest {
        Some((_, bin)) => Ok(bin),
        None => bail!(
            "PostgreSQL is not installed: no {DEBIAN_PG_ROOT}/*/bin/initdb (install Debian's postgresql package, \
             e.g. with `bash .ci/start-postgres` as root, or set {PG_BIN_ENV})"
        ),
    }
}

/// The suite's shared server from [`SUITE_URL_ENV`], or why there is none; for
/// [`require`](crate::require).
pub fn suite_url() -> Result<String, String> {
    match std::env::var(SUITE_URL_ENV) {
        Ok(url) if !url.trim().is_empty() => Ok(url),
        _ => Err(format!(
            "{SUITE_URL_ENV} is not set; start a server with `bash .ci/start-postgres` and export the \
             {SUITE_URL_ENV}=... line it prints"
        )),
    }
}

/// A loopback port that was free a moment ago.
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

fn run(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let out = command.output().with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
