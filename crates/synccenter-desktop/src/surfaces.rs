//! The task behind the surfaces that show what is live (the sleep inhibitor, the dock and the tray): it keeps a
//! [`Live`] from its own subscription to the daemon's feed (starting again from a fresh snapshot after a lag),
//! reads the handler list again when the feed says a pause, a setting or a count changed, and brings the
//! surfaces up to date at most every [`COALESCE`], so a burst of updates is one change. When the daemon's
//! connection closes, the inhibitor is lifted and the task ends.

use std::future::Future;
use std::time::Duration;

use synccenter_client::{Client, ClientError, Subscription};
use tokio::time::Instant;
use zbus::Connection;

use crate::dock::Dock;
use crate::error::DesktopError;
use crate::inhibit::{self, Inhibitor};
use crate::live::{Live, Refresh};
use crate::report::{Board, Part};
use crate::tray::{self, Tray};

/// The shortest time between two updates of the surfaces.
pub const COALESCE: Duration = Duration::from_millis(250);

/// Something that shows the live state: the D-Bus surfaces here, the native tray of
/// `synccenter-desktop-native`.
pub trait Show {
    /// Brings what is shown up to date with `live`.
    fn show(&mut self, live: &Live) -> impl Future<Output = ()> + Send;
    /// The daemon's connection closed: nothing is live any more.
    fn close(&mut self) -> impl Future<Output = ()> + Send;
}

/// Starts the task on the session bus `conn`; returns what sleep inhibition and the tray can do, for the status
/// line.
pub(crate) async fn spawn(client: Client, conn: Connection, board: Board) -> Result<(), DesktopError> {
    let feed = client.subscribe().await?;
    let inhibitor = Inhibitor::start(&conn).await;
    board.set(Part::Sleep, inhibitor.state());
    let tray = tray::start(client.clone(), conn.clone(), board).await?;
    tokio::spawn(follow(client, feed, Surfaces { inhibitor, dock: Dock::new(conn), tray }));
    Ok(())
}

/// The sleep inhibitor, the dock and the tray.
struct Surfaces {
    inhibitor: Inhibitor,
    dock: Dock,
    tray: Tray,
}

impl Show for Surfaces {
    /// Holds or lifts the inhibitor and updates the dock and the tray.
    async fn show(&mut self, live: &Live) {
        let why = live.any_sync_running_that_may_inhibit().then(|| inhibit::why(&live.inhibitors()));
        self.inhibitor.want(why).await;
        self.dock.show(live.dock()).await;
        self.tray.show(live);
    }

    async fn close(&mut self) {
        self.inhibitor.want(None).await;
    }
}

/// Keeps a [`Live`] from `feed` (a subscription of `client`) and shows it on `show` at most every [`COALESCE`],
/// until the daemon's connection closes.
pub async fn follow(client: Client, feed: Subscription, show: impl Show) {
    let mut live = Live::default();
    live.reset(&feed.snapshot().handlers, &feed.snapshot().sessions);
    Follower { client, feed, live, show }.run().await;
}

struct Follower<S> {
    client: Client,
    feed: Subscription,
    live: Live,
    show: S,
}

impl<S: Show> Follower<S> {
    async fn run(mut self) {
        self.flush(false).await;
        let mut last = Instant::now();
        // When the surfaces are next brought up to date, and whether the handler list is read first.
        let mut due: Option<Instant> = None;
        let mut refresh = false;
        loop {
            tokio::select! {
                update = self.feed.next() => {
                    match update {
                        Ok(u) => refresh |= self.live.apply(&u.change) == Refresh::Handlers,
                        Err(ClientError::Lagged { missed }) => {
                            tracing::info!(missed, "the desktop's live state fell behind; reading it again");
                            if !self.resubscribe().await {
                                break;
                            }
                        }
                        Err(_) => break,
                    }
                    due.get_or_insert_with(|| Instant::now().max(last + COALESCE));
                }
                () = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                    due = None;
                    self.flush(std::mem::take(&mut refresh)).await;
                    last = Instant::now();
                }
            }
        }
        self.show.close().await;
    }

    /// Starts again from a fresh snapshot; false when the daemon is gone.
    async fn resubscribe(&mut self) -> bool {
        match self.client.subscribe().await {
            Ok(feed) => {
                self.live.reset(&feed.snapshot().handlers, &feed.snapshot().sessions);
                self.feed = feed;
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot subscribe to the daemon's feed again");
                false
            }
        }
    }

    /// Reads the handler list when asked, then shows the live state.
    async fn flush(&mut self, refresh: bool) {
        if refresh {
            match self.client.handlers(true).await {
                Ok(handlers) => self.live.set_handlers(&handlers),
                Err(e) => tracing::debug!(error = %e, "cannot read the handlers"),
            }
        }
        self.show.show(&self.live).await;
    }
}
