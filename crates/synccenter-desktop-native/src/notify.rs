//! The notifications: every session end in the daemon's feed that its handler's `notify` setting wants
//! (`synccenter_desktop::portable::prepare`, read from `handler.list` at the end, as on Linux) is shown by the
//! system's notifications ([`Toasts`]) with the same words (`compose`). One end at a time, in the feed's order.

use synccenter_client::{Client, ClientError, Subscription};
use synccenter_desktop::portable::{Ended, compose, prepare};

use crate::toast::Toasts;

/// Shows the ends of `feed` (a subscription of `client`) until the daemon's connection closes.
pub(crate) async fn run(client: Client, mut feed: Subscription, toasts: Toasts) {
    loop {
        let end = match feed.next().await {
            Ok(u) => Ended::of(&u.change),
            Err(ClientError::Lagged { missed }) => {
                tracing::warn!(missed, "the feed fell behind; some ends may not be notified");
                None
            }
            Err(_) => return,
        };
        let Some(end) = end else { continue };
        let Some((outcome, _)) = prepare(&client, &end).await else { continue };
        let text = compose(&outcome);
        tracing::info!(handler = %end.handler, summary = %text.summary, "notifying");
        toasts.show(&end, &text);
    }
}
