//! Windows toast notifications (WinRT's `ToastNotificationManager`, through `tauri-winrt-notification`): the
//! summary as the title, the body as the text, the default sound for a failure only. Clicking a toast opens the
//! dashboard at the result, as the `default` action of a Linux notification does. A toast needs an installed
//! application's AppUserModelID; synccenter installs none, so the toasts are shown under PowerShell's, which
//! every Windows has (they say "Windows PowerShell" as their source).

use synccenter_desktop::portable::{Action, CRITICAL, Ended, Text};
use tauri_winrt_notification::{Sound, Toast};
use tokio::sync::mpsc;

use crate::tray::Click;

/// Shows toasts; their clicks go to the tray's task.
#[derive(Debug)]
pub(crate) struct Toasts {
    clicks: mpsc::Sender<Click>,
}

impl Toasts {
    pub(crate) fn start(clicks: mpsc::Sender<Click>) -> Toasts {
        Toasts { clicks }
    }

    /// For the log.
    pub(crate) fn state(&self) -> &'static str {
        "notifications: Windows toasts, under PowerShell's application ID"
    }

    pub(crate) fn show(&self, end: &Ended, text: &Text) {
        let open = Action::Open { handler: Some(end.handler.clone()), session: Some(end.session.clone()) };
        let clicks = self.clicks.clone();
        let sound = (text.urgency == CRITICAL).then_some(Sound::Default);
        let toast =
            Toast::new(Toast::POWERSHELL_APP_ID).title(&text.summary).text1(&text.body).sound(sound).on_activated(
                move |_| {
                    if clicks.try_send(Click::Do(open.clone())).is_err() {
                        tracing::warn!("the tray is busy; the toast's click is dropped");
                    }
                    Ok(())
                },
            );
        if let Err(e) = toast.show() {
            tracing::warn!(error = %e, summary = %text.summary, "Windows refused the toast");
        }
    }
}
