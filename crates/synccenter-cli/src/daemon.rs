//! `synccenter daemon`: resolves paths, binds the socket, logs to stderr, and runs until SIGTERM or SIGINT (on
//! Windows: Ctrl+C, Ctrl+Break, console close or shutdown).

use std::process::ExitCode;

use anyhow::Context;
use synccenter_protocol::{Env, Overrides, Paths};

pub(crate) fn run(
    env: &Env,
    overrides: &Overrides,
    http: Option<&str>,
    host: Option<String>,
    fleet: &crate::cli::FleetArgs,
) -> anyhow::Result<ExitCode> {
    crate::service::log_to_stderr();
    let paths = Paths::resolve(env, overrides).context("cannot resolve the daemon's paths")?;
    let runtime = synccenter_daemon::runtime().context("cannot start the async runtime")?;
    // The dashboard's address is checked before the socket is bound, so a refused one leaves nothing behind.
    let http = bind_dashboard(http, &paths.config)?;
    runtime.block_on(async {
        let listener = synccenter_daemon::bind(&paths.socket)?;
        let mut config = synccenter_daemon::Config::new(paths.socket.clone(), paths.data_dir.clone());
        config.database = paths.database.clone();
        config.host = host;
        config.fleet.heartbeat = fleet.heartbeat;
        config.fleet.down_after = fleet.down_after;
        anyhow::ensure!(
            fleet.down_after > fleet.heartbeat * 2,
            "--down-after must be more than twice --heartbeat, or a host that is merely slow is declared down"
        );
        config.config_file = Some(paths.config.clone());
        config.reload_on_sighup = true;
        config.http = http.map(std::sync::Arc::new);
        // The desktop part (KDE job server) runs beside the daemon while it runs, when there is a session bus.
        let desktop = match crate::desktop::wanted(&paths.config) {
            Ok(()) => Some(tokio::spawn(crate::desktop::supervise(paths.socket.clone()))),
            Err(why) => {
                tracing::info!(why, "synccenter desktop is not started");
                None
            }
        };
        let ran = synccenter_daemon::run(config, listener, crate::service::shutdown_signal()).await;
        if let Some(d) = desktop {
            d.abort();
            let _ = d.await;
        }
        ran?;
        anyhow::Ok(ExitCode::SUCCESS)
    })
}

/// Logs to stderr at `SYNCCENTER_LOG`'s level (default `info`), for the daemon and `synccenter desktop`.
/// Binds the dashboard's address: `--http`, else `[daemon] http` of the configuration, else the default. Only
/// loopback addresses are accepted; an address in use leaves the daemon running without a dashboard.
fn bind_dashboard(flag: Option<&str>, config: &std::path::Path) -> anyhow::Result<Option<std::net::TcpListener>> {
    let addr: std::net::SocketAddr = match flag {
        Some("off") => return Ok(None),
        Some(a) => a.parse().with_context(|| format!("--http {a:?} is not an address like 127.0.0.1:7420"))?,
        None => match synccenter_config::load_if_exists(config) {
            Ok(Some(c)) => c.daemon.http,
            _ => synccenter_config::DEFAULT_HTTP.parse().context("the default dashboard address")?,
        },
    };
    anyhow::ensure!(
        addr.ip().is_loopback(),
        "the dashboard listens on loopback only; {addr} is not a loopback address"
    );
    match std::net::TcpListener::bind(addr) {
        Ok(l) => Ok(Some(l)),
        Err(e) => {
            tracing::warn!(%addr, error = %e, "the dashboard cannot listen there; running without it (see --http)");
            Ok(None)
        }
    }
}

/// `synccenter daemon --check-config`: validates the configuration file without starting anything.
pub(crate) fn check_config(env: &Env, overrides: &Overrides, json: bool) -> anyhow::Result<ExitCode> {
    let paths = Paths::resolve(env, overrides).context("cannot resolve the configuration path")?;
    let result = synccenter_config::load_if_exists(&paths.config);
    let (ok, doc, text) = match &result {
        Ok(None) => (
            true,
            serde_json::json!({"config": paths.config, "exists": false, "valid": true}),
            format!("{}: no configuration file; no command handlers", paths.config.display()),
        ),
        Ok(Some(c)) => {
            let items: usize = c.handlers.iter().map(|h| h.items.len()).sum();
            (
                true,
                serde_json::json!({"config": paths.config, "exists": true, "valid": true, "handlers": c.handlers.len(), "items": items}),
                format!("{}: valid ({} handlers, {items} items)", paths.config.display(), c.handlers.len()),
            )
        }
        Err(errors) => {
            let list: Vec<String> = errors.errors().iter().map(ToString::to_string).collect();
            (
                false,
                serde_json::json!({"config": paths.config, "exists": true, "valid": false, "errors": list}),
                errors.to_string(),
            )
        }
    };
    if json {
        crate::output::json(&doc)?;
    } else {
        crate::output::line(&text)?;
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(crate::exit::Exit::FAILURE) })
}
