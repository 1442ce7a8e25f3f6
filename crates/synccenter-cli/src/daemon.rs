//! `synccenter daemon`: resolves paths, binds the socket, logs to stderr, and runs until SIGTERM or SIGINT.

use std::process::ExitCode;

use anyhow::Context;
use synccenter_protocol::{Env, Overrides, Paths};

pub(crate) fn run(env: &Env, overrides: &Overrides) -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SYNCCENTER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(false)
        .init();
    let paths = Paths::resolve(env, overrides).context("cannot resolve the daemon's paths")?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listener = synccenter_daemon::bind(&paths.socket)?;
        let mut config = synccenter_daemon::Config::new(paths.socket.clone(), paths.data_dir.clone());
        config.database = paths.database.clone();
        synccenter_daemon::run(config, listener, shutdown_signal()).await?;
        anyhow::Ok(ExitCode::SUCCESS)
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        tracing::error!("cannot install signal handlers; stop the daemon with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
}
