//! No sleep mid-sync: while a sync may keep the machine awake ([`crate::live::Live::inhibitors`]), this holds
//! logind's sleep inhibitor (`org.freedesktop.login1.Manager.Inhibit("sleep", "synccenter", why, "block")` on the
//! system bus, honouring `DBUS_SYSTEM_BUS_ADDRESS`); the inhibitor is the file descriptor logind returns, so it is
//! lifted by closing it, and it cannot outlive this process. The descriptor is kept in logind's reply, which owns
//! it (so no platform-specific descriptor type is needed): dropping the reply closes it. Where logind is not reachable but the XDG desktop
//! portal is (a sandbox), the portal's `org.freedesktop.portal.Inhibit` with the suspend flag stands in; its
//! inhibitor is a request object, lifted by `Request.Close`. Where neither is, this says so once and the rest of
//! the desktop part carries on.

use std::collections::HashMap;

use zbus::{Connection, OwnedObjectPath, Variant};

const LOGIND: &str = "org.freedesktop.login1";
const LOGIND_PATH: &str = "/org/freedesktop/login1";
const MANAGER: &str = "org.freedesktop.login1.Manager";
const PORTAL: &str = "org.freedesktop.portal.Desktop";
const PORTAL_PATH: &str = "/org/freedesktop/portal/desktop";
const PORTAL_INHIBIT: &str = "org.freedesktop.portal.Inhibit";
const PORTAL_REQUEST: &str = "org.freedesktop.portal.Request";
/// The portal's flag for suspending.
const PORTAL_SUSPEND: u32 = 4;

/// The `why` of the inhibitor: which handlers are syncing.
pub(crate) fn why(handlers: &[String]) -> String {
    format!("syncing {}", handlers.join(", "))
}

/// Who hands out the inhibitor.
#[derive(Debug)]
enum Backend {
    /// logind on the system bus.
    Logind(Connection),
    /// The desktop portal on the session bus.
    Portal(Connection),
    /// Nobody; why.
    None(String),
}

/// An inhibitor held.
#[derive(Debug)]
enum Held {
    /// logind's reply, which owns the descriptor: dropping it lifts the inhibitor.
    Logind(zbus::Message),
    /// The portal's request object.
    Request(OwnedObjectPath),
}

/// Holds the sleep inhibitor while it is wanted.
#[derive(Debug)]
pub(crate) struct Inhibitor {
    backend: Backend,
    /// The inhibitor held, with its `why`.
    held: Option<(Held, String)>,
    /// A refusal was logged; the next is logged at debug level only.
    refused: bool,
}

impl Inhibitor {
    /// Looks for logind on the system bus, else the portal on the session bus `session`; never fails (having
    /// neither is a state).
    pub(crate) async fn start(session: &Connection) -> Inhibitor {
        let system = zbus::Connection::system().await.map_err(|e| format!("no system bus ({e})"));
        let backend = match system {
            Ok(c) if crate::bus::unique_owner(&c, LOGIND).await.is_some() => Backend::Logind(c),
            _ if crate::bus::unique_owner(session, PORTAL).await.is_some() => Backend::Portal(session.clone()),
            Ok(_) => Backend::None(format!("nobody owns {LOGIND} or {PORTAL}")),
            Err(why) => Backend::None(format!("{why}; nobody owns {PORTAL}")),
        };
        let i = Inhibitor { backend, held: None, refused: false };
        match &i.backend {
            Backend::None(_) => {
                tracing::warn!(state = %i.state(), "sleep inhibition unavailable; syncs do not keep the machine awake");
            }
            _ => tracing::info!(state = %i.state(), "sleep inhibition"),
        }
        i
    }

    /// What this can do, for the desktop's status line.
    pub(crate) fn state(&self) -> String {
        match &self.backend {
            Backend::Logind(_) => format!("sleep inhibition: logind ({LOGIND})"),
            Backend::Portal(_) => format!("sleep inhibition: the desktop portal ({PORTAL_INHIBIT}), no logind"),
            Backend::None(why) => format!("sleep inhibition: unavailable, {why}"),
        }
    }

    /// Holds the inhibitor with `why` (taking a new one first when the reason changed), or lifts it for `None`.
    pub(crate) async fn want(&mut self, why: Option<String>) {
        let Some(why) = why else {
            if let Some((held, why)) = self.held.take() {
                self.release(held).await;
                tracing::info!(%why, "sleep inhibition lifted");
            }
            return;
        };
        if self.held.as_ref().is_some_and(|(_, w)| *w == why) {
            return;
        }
        match self.take(&why).await {
            Ok(Some(held)) => {
                tracing::info!(%why, "sleep inhibited");
                if let Some((old, _)) = self.held.replace((held, why)) {
                    self.release(old).await;
                }
                self.refused = false;
            }
            Ok(None) => {}
            Err(e) if self.refused => tracing::debug!(error = %e, "the sleep inhibitor was refused"),
            Err(e) => {
                self.refused = true;
                tracing::warn!(error = %e, "the sleep inhibitor was refused; the machine may sleep mid-sync");
            }
        }
    }

    async fn take(&self, why: &str) -> zbus::Result<Option<Held>> {
        match &self.backend {
            Backend::Logind(bus) => {
                let args = ("sleep", "synccenter", why, "block");
                let reply = bus.call_method(Some(LOGIND), LOGIND_PATH, Some(MANAGER), "Inhibit", &args).await?;
                if reply.body().signature().to_string() != "h" || reply.header().unix_fds() != Some(1) {
                    return Err(zbus::Error::Failure(format!("Inhibit answered {}", reply.body().signature())));
                }
                Ok(Some(Held::Logind(reply)))
            }
            Backend::Portal(bus) => {
                let options = HashMap::from([("reason", Variant::from(why))]);
                let args = ("", PORTAL_SUSPEND, options);
                let reply = bus.call_method(Some(PORTAL), PORTAL_PATH, Some(PORTAL_INHIBIT), "Inhibit", &args).await?;
                Ok(Some(Held::Request(reply.body().deserialize()?)))
            }
            Backend::None(_) => Ok(None),
        }
    }

    async fn release(&self, held: Held) {
        match held {
            // logind's descriptor closes here.
            Held::Logind(reply) => drop(reply),
            Held::Request(path) => {
                let Backend::Portal(bus) = &self.backend else { return };
                let close = bus.call_method(Some(PORTAL), &path, Some(PORTAL_REQUEST), "Close", &()).await;
                if let Err(e) = close {
                    tracing::warn!(error = %e, "the portal did not close the sleep inhibitor");
                }
            }
        }
    }
}
