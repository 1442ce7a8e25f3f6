//! # synccenter_com.dll
//!
//! The COM in-process server of issue 21: Sync Center's session interfaces, `ISyncMgrSessionCreator` and
//! `ISyncMgrSyncCallback` (spec §2.1, §2.2) with their published IIDs, for programs written for Windows' Sync
//! Center, on Windows and under Wine. It is a thin layer over the C library (`synccenter-capi`): each method
//! converts its UTF-16 strings and calls the library's function for it, which validates, asks the daemon over its
//! named pipe and answers the spec's `HRESULT`s; they pass through unchanged (`S_FALSE` included). The class is `CLSID_SynccenterSessionCreator`, registered by
//! `synccenter com register` (or `DllRegisterServer`), and also served as `CLSID_SyncMgrClient` after the opt-in
//! take-over. `idl/syncmgr.idl` declares the interfaces for C and C++ and `include/syncmgr.h` is what widl makes
//! of it (`tests/header.rs` keeps it current). `docs/com.md` is the manual.
//!
//! COM exists only on Windows: elsewhere this crate is its text conversions, which are tested everywhere. Its
//! Windows module is the crate's `unsafe` code: COM hands it raw pointers, and every method catches unwinds.

pub mod text;

#[cfg(windows)]
mod server;

#[cfg(windows)]
pub use server::exports::{DllCanUnloadNow, DllGetClassObject, DllRegisterServer, DllUnregisterServer};
pub use synccenter_platform::com_registration::{SYNCCENTER_CLSID, SYNCMGR_CLIENT_CLSID};
