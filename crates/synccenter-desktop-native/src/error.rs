//! Why the native desktop could not start, in words a person reads in the log.

use synccenter_client::ClientError;

/// Why [`run`](crate::run) stopped before it could show anything, or how it ended.
#[derive(Debug, thiserror::Error)]
pub enum NativeError {
    /// macOS runs the application's event loop on the main thread only.
    #[error("the tray's event loop must run on the main thread")]
    NotMainThread,
    /// The runtime beside the event loop did not start.
    #[error("cannot start the desktop's runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The daemon did not answer.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The system refused the tray icon.
    #[error("cannot show the tray icon: {0}")]
    Tray(#[from] tray_icon::Error),
    /// The system refused the tray's menu.
    #[error("cannot build the tray menu: {0}")]
    Menu(#[from] tray_icon::menu::Error),
    /// The icon's pixels were refused.
    #[error("cannot draw the tray icon: {0}")]
    Icon(#[from] tray_icon::BadIcon),
    /// The runtime's thread panicked.
    #[error("the desktop's runtime stopped unexpectedly")]
    Panicked,
}
