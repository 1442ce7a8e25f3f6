//! The dock's badge and progress bar: Unity's launcher API, which Plasma's task manager, Dash to Dock and Plank
//! read. It is one signal, `com.canonical.Unity.LauncherEntry.Update(s app_uri, a{sv} properties)`, sent on the
//! session bus for the application `synccenter.desktop`: `count` (errors needing attention plus unresolved
//! conflicts), `progress` (the live syncs' aggregate), `urgent` (a new conflict). Sent only when what it shows
//! changes; the caller coalesces bursts.

use std::collections::HashMap;

use zbus::{Connection, Variant};

use crate::live::DockState;

/// The object the signal is sent from.
pub(crate) const PATH: &str = "/org/synccenter/launcher";
/// The interface of the signal.
pub(crate) const INTERFACE: &str = "com.canonical.Unity.LauncherEntry";
/// The application the dock shows it on.
pub(crate) const APP_URI: &str = "application://synccenter.desktop";

/// Sends the dock's properties when they change.
#[derive(Debug)]
pub(crate) struct Dock {
    conn: Connection,
    shown: Option<DockState>,
}

/// The signal's properties for `state`.
pub(crate) fn properties(state: DockState) -> HashMap<&'static str, Variant<'static>> {
    let count = i64::try_from(state.count).unwrap_or(i64::MAX);
    let progress = state.progress_permille.map_or(0.0, |p| f64::from(p) / 1000.0);
    HashMap::from([
        ("count", Variant::from(count)),
        ("count-visible", Variant::from(state.count > 0)),
        ("progress", Variant::from(progress)),
        ("progress-visible", Variant::from(state.progress_permille.is_some())),
        ("urgent", Variant::from(state.urgent)),
    ])
}

impl Dock {
    pub(crate) fn new(conn: Connection) -> Dock {
        Dock { conn, shown: None }
    }

    /// Sends `state` unless it is what the dock shows already.
    pub(crate) async fn show(&mut self, state: DockState) {
        if self.shown == Some(state) {
            return;
        }
        let body = (APP_URI, properties(state));
        match self.conn.emit_signal(None::<&str>, PATH, INTERFACE, "Update", &body).await {
            Ok(()) => self.shown = Some(state),
            Err(e) => tracing::debug!(error = %e, "the launcher entry update was not sent"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_properties_say_what_the_state_says() {
        let p = properties(DockState { count: 3, progress_permille: Some(250), urgent: true });
        assert_eq!(p["count"], Variant::from(3i64));
        assert_eq!(p["count-visible"], Variant::from(true));
        assert_eq!(p["progress"], Variant::from(0.25));
        assert_eq!(p["progress-visible"], Variant::from(true));
        assert_eq!(p["urgent"], Variant::from(true));
        let idle = properties(DockState { count: 0, progress_permille: None, urgent: false });
        assert_eq!(idle["count-visible"], Variant::from(false));
        assert_eq!(idle["progress-visible"], Variant::from(false));
        assert_eq!(idle["progress"], Variant::from(0.0));
    }
}
