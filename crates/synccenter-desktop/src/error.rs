//! Why `synccenter desktop` stopped.

/// An error of the desktop part.
#[derive(Debug, thiserror::Error)]
pub enum DesktopError {
    /// No session bus to talk to.
    #[error("no session bus: DBUS_SESSION_BUS_ADDRESS is not set")]
    NoBus,
    /// The session bus refused or failed.
    #[error("D-Bus: {what}: {source}")]
    Bus {
        /// What was being done.
        what: &'static str,
        /// Why it failed.
        source: zbus::Error,
    },
    /// The daemon refused or went away.
    #[error("the synccenter daemon: {0}")]
    Daemon(#[from] synccenter_client::ClientError),
    /// The daemon's feed ended: it stopped or restarted.
    #[error("the synccenter daemon went away")]
    DaemonGone,
    /// The session bus closed the connection.
    #[error("the session bus went away")]
    BusGone,
}

impl DesktopError {
    pub(crate) fn bus<E: Into<zbus::Error>>(what: &'static str) -> impl FnOnce(E) -> DesktopError {
        move |e| DesktopError::Bus { what, source: e.into() }
    }
}
