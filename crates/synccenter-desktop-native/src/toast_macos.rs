//! macOS notifications through the UserNotifications framework (pure Rust bindings, `objc2-user-notifications`):
//! the summary as the title, the body as the text, one notification per handler (its identifier names the
//! handler, so the next one replaces it, as `replaces_id` does on Linux) grouped by handler. The framework
//! serves application bundles only (it raises an exception in a bare executable), so without a bundle
//! identifier notifications are left out and the log says so; clicks need a delegate, which is not written.

use block2::RcBlock;
use objc2::runtime::Bool;
use objc2_foundation::{NSBundle, NSError, NSString};
use objc2_user_notifications::{
    UNAuthorizationOptions, UNMutableNotificationContent, UNNotificationRequest, UNUserNotificationCenter,
};
use synccenter_desktop::portable::{Ended, Text};
use tokio::sync::mpsc;

use crate::tray::Click;

/// Shows notifications when the process is an application bundle.
#[derive(Debug)]
pub(crate) struct Toasts {
    /// The bundle's identifier, or `None` when notifications are unavailable.
    bundle: Option<String>,
}

impl Toasts {
    /// Asks for permission to show alerts (macOS asks the person once per bundle).
    pub(crate) fn start(_clicks: mpsc::Sender<Click>) -> Toasts {
        let bundle = NSBundle::mainBundle().bundleIdentifier().map(|id| id.to_string());
        if bundle.is_some() {
            let answer = RcBlock::new(|granted: Bool, _error: *mut NSError| {
                if !granted.as_bool() {
                    tracing::warn!("macOS does not allow synccenter's notifications (System Settings, Notifications)");
                }
            });
            let options = UNAuthorizationOptions::Alert | UNAuthorizationOptions::Sound;
            UNUserNotificationCenter::currentNotificationCenter()
                .requestAuthorizationWithOptions_completionHandler(options, &answer);
        }
        Toasts { bundle }
    }

    /// For the log.
    pub(crate) fn state(&self) -> String {
        match &self.bundle {
            Some(id) => format!("notifications: macOS UserNotifications as {id}"),
            None => "notifications: unavailable, not an application bundle (UserNotifications needs one)".to_owned(),
        }
    }

    pub(crate) fn show(&self, end: &Ended, text: &Text) {
        if self.bundle.is_none() {
            return tracing::info!(summary = %text.summary, body = %text.body, "no notifications to show it with");
        }
        let content = UNMutableNotificationContent::new();
        content.setTitle(&NSString::from_str(&text.summary));
        content.setBody(&NSString::from_str(&text.body));
        content.setThreadIdentifier(&NSString::from_str(&end.handler));
        let id = NSString::from_str(&format!("synccenter.{}", end.handler));
        let request = UNNotificationRequest::requestWithIdentifier_content_trigger(&id, &content, None);
        UNUserNotificationCenter::currentNotificationCenter()
            .addNotificationRequest_withCompletionHandler(&request, None);
    }
}
