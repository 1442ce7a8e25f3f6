//! # synccenter-desktop-native
//!
//! The desktop surfaces where there is no D-Bus (`docs/desktop.md`, Windows and macOS): a tray icon with the
//! same states, tooltip and menu as the StatusNotifierItem of `synccenter-desktop`, through the `tray-icon`
//! crate (its menus are `muda`'s), and notifications of the sessions a handler's `notify` setting wants: toast
//! notifications on Windows, UserNotifications on macOS. Everything that is not the platform's own calls comes
//! from `synccenter_desktop::portable` (the live state, the view, the icon, the menu's layout and actions, the
//! notifications' words), so the surfaces agree on every system.
//!
//! Modules: `model` (the icon as RGBA, menu IDs; pure, on every system), and on Windows and macOS only: `run`
//! (the event loop on the main thread and the runtime beside it), `tray` (the icon and its menu on the main
//! thread, fed by a task of the runtime), `notify` (the ends worth a notification), `pump` (each system's event
//! loop) and `toast` (each system's notifications). This crate alone, besides `synccenter-platform`, says
//! `cfg(windows)`/`cfg(target_os)`: it is nothing but two platforms' surfaces (`.ci/check-boundaries`).

pub mod model;

#[cfg(any(windows, target_os = "macos"))]
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

#[cfg(any(windows, target_os = "macos"))]
pub use error::NativeError;
#[cfg(any(windows, target_os = "macos"))]
pub use run::run;
