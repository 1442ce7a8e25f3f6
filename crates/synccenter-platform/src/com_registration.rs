//! Registering synccenter's COM in-process server (`synccenter_com.dll`, `docs/com.md`) in the Windows registry,
//! and undoing exactly that. COM exists only on Windows: elsewhere every function answers
//! [`ComRegistrationError::Unsupported`].
//!
//! [`register`] writes synccenter's own class, `CLSID_SynccenterSessionCreator`, under
//! `Software\Classes\CLSID` of the user (`HKEY_CURRENT_USER`, the default) or of the machine
//! (`HKEY_LOCAL_MACHINE`, which Wine 8 needs: it ignores the user's classes), with `InprocServer32` naming the
//! DLL and `ThreadingModel=Both`. With `take_over` it also adds `TreatAs` under Windows' own `CLSID_SyncMgrClient`
//! pointing at synccenter's class, so programs written for Windows' Sync Center reach synccenter. What it did is
//! recorded as values of synccenter's own key, and [`unregister`] removes that and nothing else: a `TreatAs` it
//! did not write, or a `CLSID_SyncMgrClient` key it did not create, is left alone.

use std::path::PathBuf;

/// synccenter's own session creator class (`CLSID_SynccenterSessionCreator` of `syncmgr.idl`).
pub const SYNCCENTER_CLSID: u128 = 0xa6df8d05_7580_4b2c_9dfc_d1f64eefc0ba;

/// Windows' session creator class, `CLSID_SyncMgrClient`, which `take_over` redirects.
pub const SYNCMGR_CLIENT_CLSID: u128 = 0x1202db60_1dac_42c5_aed5_1abdd432248e;

/// The class's display name, the default value of its key.
pub const CLASS_NAME: &str = "synccenter session creator";

/// A class ID as the registry spells it: `{A6DF8D05-7580-4B2C-9DFC-D1F64EEFC0BA}`.
pub fn clsid_text(clsid: u128) -> String {
    let h = format!("{clsid:032X}");
    format!("{{{}-{}-{}-{}-{}}}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// Whose classes: the user's (`HKEY_CURRENT_USER\Software\Classes`) or the machine's (`HKEY_LOCAL_MACHINE`, for
/// every user; needs an administrator on Windows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// `HKEY_CURRENT_USER\Software\Classes`.
    #[default]
    User,
    /// `HKEY_LOCAL_MACHINE\Software\Classes`.
    Machine,
}

impl Scope {
    /// The hive's name, for messages.
    pub fn hive(self) -> &'static str {
        match self {
            Scope::User => "HKEY_CURRENT_USER",
            Scope::Machine => "HKEY_LOCAL_MACHINE",
        }
    }
}

/// What to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// Whose classes.
    pub scope: Scope,
    /// The in-process server, an absolute path to `synccenter_com.dll`.
    pub dll: PathBuf,
    /// Also point `CLSID_SyncMgrClient` at synccenter's class (`TreatAs`).
    pub take_over: bool,
}

/// What [`register`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    /// The class's key, `HKEY_…\Software\Classes\CLSID\{…}`.
    pub key: String,
    /// Whether `CLSID_SyncMgrClient` now treats as synccenter's class.
    pub took_over: bool,
    /// Whether an earlier registration in this scope was undone first.
    pub replaced: bool,
}

/// What [`unregister`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unregistered {
    /// Whether synccenter's class was registered (and is now removed).
    pub removed: bool,
    /// Whether a take-over was undone.
    pub take_over_undone: bool,
}

/// Why registering or unregistering failed. Nothing was changed, except as the message says.
#[derive(Debug, thiserror::Error)]
pub enum ComRegistrationError {
    /// Not Windows.
    #[error("COM exists only on Windows; there is nothing to register on this system")]
    Unsupported,
    /// The DLL path is not an absolute path to a file.
    #[error("{0}: no such DLL (give the absolute path of synccenter_com.dll)")]
    NoDll(PathBuf),
    /// `CLSID_SyncMgrClient` already treats as another class, which synccenter did not write.
    #[error("{key} already points at {existing}, which synccenter did not write; remove it first")]
    TreatAsTaken {
        /// The `TreatAs` key.
        key: String,
        /// The class it names.
        existing: String,
    },
    /// A registry call failed.
    #[error("{what}: {source}")]
    Registry {
        /// What was being done, with the key.
        what: String,
        /// The system's error.
        source: std::io::Error,
    },
}

/// Registers synccenter's class (replacing an earlier registration of it in the same scope, take-over included).
pub fn register(registration: &Registration) -> Result<Registered, ComRegistrationError> {
    imp::supported()?;
    if !registration.dll.is_absolute() || !registration.dll.is_file() {
        return Err(ComRegistrationError::NoDll(registration.dll.clone()));
    }
    imp::register(registration)
}

/// Removes what [`register`] wrote in `scope`; a scope where nothing is registered is no error.
pub fn unregister(scope: Scope) -> Result<Unregistered, ComRegistrationError> {
    imp::unregister(scope)
}

#[cfg(not(windows))]
mod imp {
    use super::{ComRegistrationError, Registered, Registration, Scope, Unregistered};

    pub(super) fn supported() -> Result<(), ComRegistrationError> {
        Err(ComRegistrationError::Unsupported)
    }

    pub(super) fn register(_: &Registration) -> Result<Registered, ComRegistrationError> {
        Err(ComRegistrationError::Unsupported)
    }

    pub(super) fn unregister(_: Scope) -> Result<Unregistered, ComRegistrationError> {
        Err(ComRegistrationError::Unsupported)
    }
}

#[cfg(windows)]
#[path = "com_registration_windows.rs"]
mod imp;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_ids_are_spelled_as_the_registry_does() {
        assert_eq!(clsid_text(SYNCCENTER_CLSID), "{A6DF8D05-7580-4B2C-9DFC-D1F64EEFC0BA}");
        assert_eq!(clsid_text(SYNCMGR_CLIENT_CLSID), "{1202DB60-1DAC-42C5-AED5-1ABDD432248E}");
    }

    #[cfg(not(windows))]
    #[test]
    fn off_windows_both_answer_that_com_exists_only_there() {
        let dll = std::env::current_exe().expect("a file that exists");
        let r = register(&Registration { scope: Scope::User, dll, take_over: false });
        assert!(matches!(r, Err(ComRegistrationError::Unsupported)), "{r:?}");
        assert!(matches!(unregister(Scope::Machine), Err(ComRegistrationError::Unsupported)));
    }

    #[cfg(windows)]
    #[test]
    fn a_relative_or_missing_dll_is_refused_before_anything_is_written() {
        for dll in ["synccenter_com.dll", "/nonexistent/synccenter_com.dll", "C:\\nonexistent\\synccenter_com.dll"] {
            let r = register(&Registration { scope: Scope::User, dll: dll.into(), take_over: true });
            assert!(matches!(r, Err(ComRegistrationError::NoDll(_))), "{dll}: {r:?}");
        }
    }
}
