//! Why the native desktop could not start, in words a person reads in the log.

#[cfg(any(windows, target_os = "macos"))]
use synccenter_client::ClientError;

/// Why [`run`](crate::run) stopped before it could show anything, or how it ended.
#[derive(Debug, thiserror::Error)]
pub enum NativeError {
    /// This system's desktop is `synccenter-desktop`'s, on D-Bus ([`SUPPORTED`](crate::SUPPORTED) is false).
    #[error("no native tray or notifications on this system; synccenter desktop uses D-Bus here")]
    Unsupported,
    /// macOS runs the application's event loop on the main thread only.
    #[error("the tray's event loop must run on the main thread")]
    NotMainThread,
    /// The runtime beside the event loop did not start.
    #[error("cannot start the desktop's runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The daemon did not answer.
    #[cfg(any(windows, target_os = "macos"))]
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The system refused the tray icon.
    #[cfg(any(windows, target_os = "macos"))]
    #[error("cannot show the tray icon: {0}")]
    Tray(#[from] tray_icon::Error),
    /// The system refused the tray's menu.
    #[cfg(any(windows, target_os = "macos"))]
    #[error("cannot build the tray menu: {0}")]
    Menu(#[from] tray_icon::menu::Error),
    /// The icon's pixels were refused.
    #[cfg(any(windows, target_os = "macos"))]
    #[error("cannot draw the tray icon: {0}")]
    Icon(#[from] tray_icon::BadIcon),
    /// The runtime's thread panicked.
    #[error("the desktop's runtime stopped unexpectedly")]
    Panicked,
}
