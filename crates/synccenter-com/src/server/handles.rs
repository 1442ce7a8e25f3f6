//! The C library's handles, owned: a `Client` (`sc_client`, one connection to the daemon with the runtime that
//! drives it) and a `Session` (`sc_session`), each freed exactly once when dropped; a session is ended first,
//! waiting for the daemon's answer.

use std::ffi::{CStr, c_char};
use std::ptr::{NonNull, null, null_mut};

use synccenter_capi::{
    ScClient, ScSession, sc_client_free, sc_client_new, sc_session_can_continue, sc_session_end, sc_session_free,
    sc_session_new,
};
use windows_core::HRESULT;

use super::boundary::{Outcome, S_FALSE, check};

/// A connection to the daemon: `SYNCCENTER_SOCKET`, else the user's named pipe.
#[derive(Debug)]
pub(crate) struct Client(NonNull<ScClient>);

// SAFETY: the C library's handles may be used from any thread and from several at once (docs/c-api.md,
// Threading); this owner frees it once, when dropped.
unsafe impl Send for Client {}
// SAFETY: as above.
unsafe impl Sync for Client {}

impl Client {
    pub(crate) fn connect() -> Result<Client, HRESULT> {
        let mut out = null_mut();
        // SAFETY: NULL asks for the default socket; `out` is writable.
        check(unsafe { sc_client_new(null(), &mut out) }).map(drop)?;
        NonNull::new(out).map(Client).ok_or(super::boundary::E_FAIL)
    }

    /// `sc_session_new` with the strings given; `None` when `announce_only` (the session was created and ended).
    pub(crate) fn session(
        &self,
        handler: *const c_char,
        items: &[*const c_char],
        announce_only: bool,
    ) -> Result<Option<Session>, HRESULT> {
        let mut out = null_mut();
        let out_ptr = if announce_only { null_mut() } else { &mut out as *mut *mut ScSession };
        // SAFETY: a live client; strings NULL or NUL-terminated, `items.len()` of them; `out_ptr` NULL or writable.
        check(unsafe { sc_session_new(self.0.as_ptr(), handler, items.as_ptr(), items.len(), out_ptr) }).map(drop)?;
        match NonNull::new(out) {
            None => Ok(None),
            Some(session) => Ok(Some(Session(session))),
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // SAFETY: made by `sc_client_new`, freed only here; its sessions live on until freed themselves.
        unsafe { sc_client_free(self.0.as_ptr()) };
    }
}

/// A live session.
#[derive(Debug)]
pub(crate) struct Session(NonNull<ScSession>);

// SAFETY: as for `Client`.
unsafe impl Send for Session {}
// SAFETY: as above.
unsafe impl Sync for Session {}

impl Session {
    /// Runs one of the library's session calls and takes its `HRESULT`.
    pub(crate) fn call(&self, f: impl FnOnce(*const ScSession) -> i32) -> Outcome {
        check(f(self.0.as_ptr()))
    }

    /// The `SYNCMGR_CANCEL_REQUEST` in force for `item` (`None`: the handler's, spec §2.19 rule 15), as the daemon
    /// answers `CanContinue`; `NONE` when it cannot answer. For a `*pnCancelRequest` written even when the call
    /// that fills it failed (spec §5.11).
    pub(crate) fn cancel_in_force(&self, item: Option<&CStr>) -> u32 {
        let stopped = |item: *const c_char| {
            // SAFETY: a live session; the item NULL or NUL-terminated.
            self.call(|s| unsafe { sc_session_can_continue(s, item) }) == Ok(S_FALSE)
        };
        if stopped(null()) {
            2
        } else if item.is_some_and(|i| !i.is_empty() && stopped(i.as_ptr())) {
            1
        } else {
            0
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // SAFETY: made by `sc_session_new`, ended and freed only here (COM calls no method after the last
        // Release).
        unsafe {
            sc_session_end(self.0.as_ptr(), null_mut());
            sc_session_free(self.0.as_ptr());
        }
    }
}
