//! What the two verbs that run until stopped (`daemon` and `desktop`) share: their log goes to stderr, and they end
//! on the platform's stop signals.

pub(crate) fn log_to_stderr() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SYNCCENTER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(false)
        .try_init();
}

pub(crate) async fn shutdown_signal() {
    let Ok(mut signals) = synccenter_platform::process::StopSignals::install() else {
        tracing::error!("cannot install signal handlers; stop this process with SIGKILL");
        return std::future::pending().await;
    };
    let name = signals.recv().await;
    tracing::info!("{name} received");
}
