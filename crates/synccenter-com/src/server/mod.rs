//! The COM server (Windows only), a layer over the C library (`synccenter-capi`): the interfaces as this DLL
//! declares them (`interfaces`), the boundary's helpers (`boundary`: unwinds caught, UTF-16 to the library's
//! UTF-8, out-parameters), the library's handles owned (`handles`), the session creator (`creator`), the session
//! callback (`callback`), the enumerators of pending items and contexts (`enumerators`) and the DLL's exports
//! (`exports`: the class factory, registration and unloading).
//!
//! COM calls these objects through raw pointers, so this module is `unsafe` code by nature: every method checks
//! its pointers (NULL out-pointers are honoured, never written), catches unwinds, and says why each dereference is
//! sound.

#![allow(unsafe_code)]

mod boundary;
mod callback;
mod creator;
mod enumerators;
pub(crate) mod exports;
mod handles;
mod interfaces;
