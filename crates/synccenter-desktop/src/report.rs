//! The desktop's line in `status`: one part per surface, sent to the daemon again whenever a part changes, so
//! that a tray watcher or a notification server that appears after the start is not reported missing for good.

use synccenter_client::Client;
use synccenter_client::methods::DesktopReportParams;
use synccenter_protocol::api;
use tokio::sync::watch;

use crate::DesktopError;

/// A part of the line, in the order shown.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Part {
    Role,
    Notifications,
    Sleep,
    Tray,
}

type Parts = [String; 4];

/// Where the surfaces write their parts.
#[derive(Clone, Debug)]
pub(crate) struct Board(watch::Sender<Parts>);

impl Board {
    pub(crate) fn new() -> Board {
        Board(watch::Sender::new(Parts::default()))
    }

    pub(crate) fn set(&self, part: Part, line: String) {
        self.0.send_if_modified(|parts| {
            let slot = &mut parts[part as usize];
            let changed = *slot != line;
            *slot = line;
            changed
        });
    }

    pub(crate) fn part(&self, part: Part) -> String {
        self.0.borrow()[part as usize].clone()
    }

    /// Sends the line now, then again after every change until the daemon's connection fails.
    pub(crate) async fn report(&self, client: Client) -> Result<(), DesktopError> {
        let mut parts = self.0.subscribe();
        let state = join(&parts.borrow_and_update());
        client.request::<api::DesktopReport>(&DesktopReportParams { state }).await?;
        tokio::spawn(async move {
            while parts.changed().await.is_ok() {
                let state = join(&parts.borrow_and_update());
                tracing::info!(%state, "synccenter desktop: a surface changed");
                if let Err(e) = client.request::<api::DesktopReport>(&DesktopReportParams { state }).await {
                    return tracing::debug!(error = %e, "cannot report the desktop's state");
                }
            }
        });
        Ok(())
    }
}

fn join(parts: &Parts) -> String {
    parts.iter().filter(|p| !p.is_empty()).map(String::as_str).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_keep_their_order_and_a_change_is_seen_once() {
        let board = Board::new();
        let mut seen = board.0.subscribe();
        board.set(Part::Tray, "tray: unavailable".into());
        board.set(Part::Role, "KDE job server".into());
        assert_eq!(join(&board.0.borrow()), "KDE job server; tray: unavailable");
        assert!(seen.has_changed().unwrap());
        seen.mark_unchanged();
        board.set(Part::Tray, "tray: unavailable".into());
        assert!(!seen.has_changed().unwrap(), "the same words again are no change");
        board.set(Part::Tray, "tray: registered with :1.5".into());
        assert!(seen.has_changed().unwrap());
        assert_eq!(join(&board.0.borrow()), "KDE job server; tray: registered with :1.5");
    }
}
