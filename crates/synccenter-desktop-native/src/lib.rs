//! # synccenter-desktop-native
//!
//! The desktop surfaces where there is no D-Bus (`docs/desktop.md`, Windows and macOS): a tray icon with the
//! same states, tooltip and menu as the StatusNotifierItem of `synccenter-desktop`, through the `tray-icon`
//! crate (its menus are `muda`'s), and notifications of the sessions a handler's `notify` setting wants: toast
//! notifications on Windows, UserNotifications on macOS. Everything that is not the platform's own calls comes
//! from `synccenter_desktop::portable` (the live state, the view, the icon, the menu's layout and actions, the
//! notifications' words), so the surfaces agree on every system.
//!
//! Modules: `model` (the icon as RGBA, menu IDs; pure, on every system), `error`, and on Windows and macOS only: `run`
//! (the event loop on the main thread and the runtime beside it), `tray` (the icon and its menu on the main
//! thread, fed by a task of the runtime), `notify` (the ends worth a notification), `pump` (each system's event
//! loop) and `toast` (each system's notifications). This crate alone, besides `synccenter-platform`, says
//! `cfg(windows)`/`cfg(target_os)`: it is nothing but two platforms' surfaces (`.ci/check-boundaries`).

pub mod model;

mod error;
#[cfg(any(windows, target_os = "macos"))]
mod notify;
#[cfg(any(windows, target_os = "macos"))]
mod run;
#[cfg(any(windows, target_os = "macos"))]
mod tray;

#[cfg(target_os = "macos")]
#[path = "pump_macos.rs"]
mod pump;
#[cfg(windows)]
#[path = "pump_windows.rs"]
mod pump;
#[cfg(target_os = "macos")]
#[path = "toast_macos.rs"]
mod toast;
#[cfg(windows)]
#[path = "toast_windows.rs"]
mod toast;

pub use error::NativeError;
#[cfg(any(windows, target_os = "macos"))]
pub use run::run;

/// Whether this system has native surfaces, so that [`run`] shows something (Windows and macOS); the caller
/// needs no `cfg` of its own.
pub const SUPPORTED: bool = cfg!(any(windows, target_os = "macos"));

/// Elsewhere the desktop is `synccenter-desktop`'s, on D-Bus: always [`NativeError::Unsupported`].
#[cfg(not(any(windows, target_os = "macos")))]
pub fn run(
    _socket: std::path::PathBuf,
    _shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), NativeError> {
    Err(NativeError::Unsupported)
}

#[cfg(all(test, not(any(windows, target_os = "macos"))))]
mod tests {
    use super::*;

    #[test]
    fn elsewhere_run_says_the_system_is_unsupported_at_once() {
        const { assert!(!SUPPORTED) };
        let result = run(std::path::PathBuf::from("/nonexistent"), std::future::pending());
        assert!(matches!(result, Err(NativeError::Unsupported)), "{result:?}");
    }
}
