//! No sleep mid-sync: while a sync may keep the machine awake ([`crate::live::Live::inhibitors`]), this holds
//! logind's sleep inhibitor (`org.freedesktop.login1.Manager.Inhibit("sleep", "synccenter", why, "block")` on the
//! system bus, honouring `DBUS_SYSTEM_BUS_ADDRESS`); the inhibitor is the file descriptor logind returns, so it is
//! lifted by closing it, and it cannot outlive this process. Where there is no system bus or no logind, this says
//! so once and the rest of the desktop part carries on; logind is asked again the next time a sync starts.

const LOGIND: &str = "org.freedesktop.login1";
const LOGIND_PATH: &str = "/org/freedesktop/login1";
const MANAGER: &str = "org.freedesktop.login1.Manager";

/// The `why` of the inhibitor: which handlers are syncing.
pub(crate) fn why(handlers: &[String]) -> String {
    format!("syncing {}", handlers.join(", "))
}

/// Holds logind's sleep inhibitor while it is wanted.
#[derive(Debug)]
#[cfg_attr(not(unix), allow(dead_code))]
pub(crate) struct Inhibitor {
    bus: Option<zbus::Connection>,
    /// Why the system bus could not be reached.
    no_bus: Option<String>,
    /// Whether logind had an owner when last looked at.
    logind: bool,
    /// The inhibitor held, with its `why`.
    #[cfg(unix)]
    held: Option<(zbus::OwnedFd, String)>,
    /// A refusal was logged; the next is logged at debug level only.
    refused: bool,
}

impl Inhibitor {
    /// Connects to the system bus and looks for logind; never fails (an absent logind is a state).
    pub(crate) async fn start() -> Inhibitor {
        let (bus, no_bus) = if cfg!(unix) {
            match zbus::Connection::system().await {
                Ok(c) => (Some(c), None),
                Err(e) => (None, Some(e.to_string())),
            }
        } else {
            (None, Some("logind exists on Linux only".to_owned()))
        };
        let logind = match &bus {
            Some(c) => crate::bus::unique_owner(c, LOGIND).await.is_some(),
            None => false,
        };
        let i = Inhibitor {
            bus,
            no_bus,
            logind,
            #[cfg(unix)]
            held: None,
            refused: false,
        };
        if i.logind {
            tracing::info!(state = %i.state(), "sleep inhibition");
        } else {
            tracing::warn!(state = %i.state(), "sleep inhibition unavailable; syncs do not keep the machine awake");
        }
        i
    }

    /// What this can do, for the desktop's status line.
    pub(crate) fn state(&self) -> String {
        match (&self.no_bus, self.logind) {
            (Some(why), _) => format!("sleep inhibition: unavailable, no system bus ({why})"),
            (None, false) => format!("sleep inhibition: unavailable, nobody owns {LOGIND}"),
            (None, true) => format!("sleep inhibition: logind ({LOGIND})"),
        }
    }

    /// Holds the inhibitor with `why` (taking a new one first when the reason changed), or lifts it for `None`.
    #[cfg(unix)]
    pub(crate) async fn want(&mut self, why: Option<String>) {
        let Some(why) = why else {
            if let Some((_fd, why)) = self.held.take() {
                tracing::info!(%why, "sleep inhibition lifted");
            }
            return;
        };
        if self.held.as_ref().is_some_and(|(_, w)| *w == why) {
            return;
        }
        let Some(bus) = &self.bus else { return };
        let args = ("sleep", "synccenter", why.as_str(), "block");
        let reply = bus.call_method(Some(LOGIND), LOGIND_PATH, Some(MANAGER), "Inhibit", &args).await;
        match reply.and_then(|r| r.body().deserialize::<zbus::OwnedFd>()) {
            Ok(fd) => {
                tracing::info!(%why, "sleep inhibited");
                // The old inhibitor, if any, closes here, after the new one is held.
                self.held = Some((fd, why));
                self.logind = true;
                self.refused = false;
            }
            Err(e) if self.refused => tracing::debug!(error = %e, "logind refused the sleep inhibitor"),
            Err(e) => {
                self.refused = true;
                tracing::warn!(error = %e, "logind refused the sleep inhibitor; the machine may sleep mid-sync");
            }
        }
    }

    /// Holds nothing: there is no logind here.
    #[cfg(not(unix))]
    pub(crate) async fn want(&mut self, _why: Option<String>) {}
}
