//! `synccenter desktop`: the desktop part in the foreground (`synccenter-desktop`; on Windows and macOS
//! `synccenter-desktop-native`'s tray and notifications), logging to stderr, until
//! SIGTERM or SIGINT; and the daemon's side of it: started as a child of `synccenter daemon` when there is a
//! session bus and `[desktop] enable` is not false, restarted with backoff when it dies.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::exit::Exit;
use crate::verbs::Ctx;

/// The session bus of this process's environment, if any.
fn bus_address() -> Option<String> {
    std::env::var("DBUS_SESSION_BUS_ADDRESS").ok().filter(|a| !a.is_empty())
}

pub(crate) async fn run(ctx: &Ctx) -> anyhow::Result<u8> {
    crate::service::log_to_stderr();
    if synccenter_desktop_native::SUPPORTED {
        // Windows and macOS: the tray and notifications need the system's event loop on this (the main) thread,
        // so this blocks it until the daemon goes or a stop signal comes; their client runs on a runtime of its
        // own beside it (docs/desktop.md, Windows and macOS).
        synccenter_desktop_native::run(ctx.socket.clone(), crate::service::shutdown_signal())
            .context("synccenter desktop")?;
        return Ok(Exit::OK);
    }
    let options = synccenter_desktop::Options { socket: ctx.socket.clone(), bus_address: bus_address() };
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        crate::service::shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    follow_the_daemon(options, stop).await
}

/// Runs the desktop part again whenever it ends without being told to stop: the daemon restarting (its
/// connection closes, then refuses until the new daemon listens) or the session bus going away. Every run
/// starts from the daemon's current state, so nothing that ended before is notified twice. Waits 1 s, doubling
/// to 30 s while runs keep failing within a minute.
async fn follow_the_daemon(
    options: synccenter_desktop::Options,
    stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<u8> {
    let stopped = |mut stop: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    let mut delay = Duration::from_secs(1);
    loop {
        let started = Instant::now();
        let attempt = (options.clone(), stopped(stop.clone()));
        let result =
            tokio::task::spawn_blocking(move || run_once(attempt.0, attempt.1)).await.context("synccenter desktop")?;
        if *stop.borrow() {
            return Ok(Exit::OK);
        }
        match result {
            Err(e @ synccenter_desktop::DesktopError::NoBus) => return Err(e).context("synccenter desktop"),
            Err(e) => tracing::warn!(error = %e, "synccenter desktop stopped; starting again"),
            Ok(()) => tracing::warn!("synccenter desktop ended; starting again"),
        }
        if started.elapsed() > Duration::from_secs(60) {
            delay = Duration::from_secs(1);
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = stopped(stop.clone()) => return Ok(Exit::OK),
        }
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}

/// One run of the desktop part on a runtime of its own, so that everything the run spawned (its bus connection,
/// its tray item and notification tasks) ends with it and the next run starts clean.
fn run_once(
    options: synccenter_desktop::Options,
    stopped: impl std::future::Future<Output = ()>,
) -> Result<(), synccenter_desktop::DesktopError> {
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the desktop's runtime");
            return Ok(());
        }
    };
    let result = runtime.block_on(synccenter_desktop::run(options, stopped));
    runtime.shutdown_background();
    result
}

/// Whether the daemon starts `synccenter desktop`: a session bus, and `[desktop] enable` not false; if not,
/// why not.
pub(crate) fn wanted(config: &Path) -> Result<(), &'static str> {
    let enabled = match synccenter_config::load_if_exists(config) {
        Ok(Some(c)) => c.desktop.enable,
        _ => true,
    };
    if !enabled {
        return Err("[desktop] enable = false in the configuration");
    }
    bus_address().map(|_| ()).ok_or("no session bus (DBUS_SESSION_BUS_ADDRESS is not set)")
}

/// Keeps `synccenter desktop --socket SOCKET` running: restarted after 1 s, doubling to 60 s while it keeps
/// dying within a minute. Dropping the future (the daemon stopping) kills the child.
pub(crate) async fn supervise(socket: PathBuf) {
    let Ok(exe) = std::env::current_exe() else {
        return tracing::warn!("cannot find this executable; synccenter desktop is not started");
    };
    let mut delay = Duration::from_secs(1);
    loop {
        let started = Instant::now();
        let child = tokio::process::Command::new(&exe)
            .arg("--socket")
            .arg(&socket)
            .arg("desktop")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn();
        match child {
            Ok(mut child) => match child.wait().await {
                Ok(status) => tracing::warn!(%status, "synccenter desktop exited; restarting it"),
                Err(e) => tracing::warn!(error = %e, "waiting for synccenter desktop"),
            },
            Err(e) => tracing::warn!(error = %e, "cannot start synccenter desktop"),
        }
        if started.elapsed() > Duration::from_secs(60) {
            delay = Duration::from_secs(1);
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(60));
    }
}
