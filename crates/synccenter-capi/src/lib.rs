//! # libsynccenter
//!
//! The C library of issue 21: plain C functions in the rustls-ffi style over `synccenter-client`, so that sync
//! programs in C (and anything that calls C: C++, Python's ctypes, Go's cgo) report sessions to the daemon
//! without speaking JSON-RPC. Handles are opaque (`sc_client`, `sc_session`), strings are UTF-8, every function
//! answers an `HRESULT` with the spec's numbers, out-parameters are written only on success, and no panic crosses
//! the boundary. A stop pushed by the daemon reaches C as a file descriptor that becomes readable (for `poll`,
//! `select`, an event loop) or as a callback. `docs/c-api.md` is the manual; `include/synccenter.h` is generated
//! by cbindgen from this crate and checked in (`tests/header.rs` fails when it is stale).
//!
//! Besides the Win32 calls of `synccenter-platform` and `synccenter-desktop-native`, this crate is the workspace's
//! `unsafe` code: every exported function dereferences pointers the caller passed, under the contract its
//! `# Safety` section states.

#![allow(unsafe_code)]

mod cancel;
mod client;
mod conflict;
mod hresult;
mod session;

pub use cancel::ScCancelCallback;
pub use client::{ScClient, sc_client_free, sc_client_new};
pub use conflict::*;
pub use hresult::*;
pub use session::*;
