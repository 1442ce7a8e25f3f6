//! `sd_notify` for a supervised run: the run's socket (its path is the child's `NOTIFY_SOCKET`), and what
//! its datagrams mean for the run.
//!
//! Every datagram goes through [`Intake`] (the sender must belong to the run's process tree, at most
//! [`synccenter_runs::notify::MAX_PER_SECOND`] per second, [`MAX_DATAGRAM`] bytes, no NUL), then
//! [`Watch`](super::Watch) applies the messages: `STATUS=` becomes a text observation (the item's progress
//! text, as a reader's would), any accepted message is a sign of life for the watchdog, `WATCHDOG=trigger`
//! stops the run as hung, `WATCHDOG_USEC=` replaces the watchdog period, `EXTEND_TIMEOUT_USEC=` moves the
//! time limit, `ERRNO=` is kept for the failure event, `READY=1`, `RELOADING=1` and `STOPPING=1` are logged.
//! Descriptors passed along (`BARRIER=1`) are closed on receipt by the platform's socket. Where there is no
//! socket (macOS, Windows, or binding failed) the run simply gets no `NOTIFY_SOCKET`.

use std::path::Path;

use synccenter_platform::notify::NotifySocket;
use synccenter_platform::process::ProcessTree;
use synccenter_runs::notify::{Intake, MAX_DATAGRAM, NotifyMessage, Sender};
use tokio::time::Instant;

/// The run's notification socket and what it has received.
pub(super) struct Notify {
    socket: Option<NotifySocket>,
    buf: Vec<u8>,
    intake: Intake,
    started: Instant,
    /// The last `ERRNO=` the run sent.
    pub(super) errno: Option<u32>,
    warned_outsider: bool,
}

impl Notify {
    /// Binds a socket for one run (none where that is not supported).
    pub(super) fn open() -> Notify {
        let socket = if synccenter_platform::notify::SUPPORTED {
            NotifySocket::bind().map_err(|e| tracing::warn!("no sd_notify socket for this run: {e}")).ok()
        } else {
            None
        };
        Notify {
            socket,
            buf: vec![0u8; MAX_DATAGRAM],
            intake: Intake::new(),
            started: Instant::now(),
            errno: None,
            warned_outsider: false,
        }
    }

    /// The value of the child's `NOTIFY_SOCKET`.
    pub(super) fn path(&self) -> Option<&Path> {
        self.socket.as_ref().map(NotifySocket::path)
    }

    pub(super) fn is_open(&self) -> bool {
        self.socket.is_some()
    }

    /// The messages of the next datagram that passes the intake (possibly none); waits forever without a
    /// socket. A receive error closes the socket (the run goes on without it).
    pub(super) async fn next(&mut self, tree: &ProcessTree) -> Vec<NotifyMessage> {
        let Some(socket) = &self.socket else { return std::future::pending().await };
        let d = match socket.recv(&mut self.buf, tree).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!("the sd_notify socket failed; the run goes on without it: {e}");
                self.socket = None;
                return Vec::new();
            }
        };
        let sender = if d.from_tree { Sender::Run } else { Sender::Outsider };
        if sender == Sender::Outsider && !self.warned_outsider {
            self.warned_outsider = true;
            tracing::warn!(sender = ?d.sender, "an sd_notify message from outside the run's process tree was refused");
        }
        let data = &self.buf[..d.len.min(self.buf.len())];
        self.intake.datagram(self.started.elapsed(), sender, data, d.len)
    }

    /// The end-of-run warning about what was refused, dropped or ignored, if anything was.
    pub(super) fn summary(&self) -> Option<String> {
        let counts = self.intake.counts();
        if counts != Default::default() {
            tracing::debug!(?counts, "sd_notify messages of the run");
        }
        self.intake.summary()
    }
}

/// `ERRNO=5` as the failure event says it: `ERRNO=5 (Input/output error)`.
pub(crate) fn errno_text(errno: u32) -> String {
    match i32::try_from(errno) {
        Ok(n) => {
            let text = std::io::Error::from_raw_os_error(n).to_string();
            let text = text.split(" (os error").next().unwrap_or_default().to_owned();
            format!("ERRNO={errno} ({text})")
        }
        Err(_) => format!("ERRNO={errno}"),
    }
}
