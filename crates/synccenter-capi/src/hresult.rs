//! Every exported function answers with an `HRESULT` carrying the spec's numbers (§0.1), so C callers compare
//! against the same values a Windows Sync Center client would. This module holds those numbers, the mapping of
//! the client's errors onto them, the per-thread message of the last failure, and `guard`, which keeps a Rust
//! panic from ever unwinding into C.

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use synccenter_client::ClientError;

/// An `HRESULT`: negative on failure (`SC_FAILED`), `SC_S_OK` or `SC_S_FALSE` on success.
pub type ScHresult = i32;

/// Success.
pub const SC_S_OK: ScHresult = 0;
/// Success, but "no": `sc_session_can_continue` when a stop was requested.
pub const SC_S_FALSE: ScHresult = 1;
/// The daemon does not implement the operation.
pub const SC_E_NOTIMPL: ScHresult = 0x8000_4001_u32 as i32;
/// A bad or unknown ID, a bad enumeration value, a string that is not UTF-8.
pub const SC_E_INVALIDARG: ScHresult = 0x8007_0057_u32 as i32;
/// An illegal progress transition out of a final status.
pub const SC_E_ACCESSDENIED: ScHresult = 0x8007_0005_u32 as i32;
/// A generic failure: no daemon, a closed connection, a call from a library thread.
pub const SC_E_FAIL: ScHresult = 0x8000_4005_u32 as i32;
/// A limit was reached.
pub const SC_E_OUTOFMEMORY: ScHresult = 0x8007_000E_u32 as i32;
/// A call on a session that has ended.
pub const SC_E_UNEXPECTED: ScHresult = 0x8000_FFFF_u32 as i32;
/// A required pointer or string argument is NULL.
pub const SC_E_POINTER: ScHresult = 0x8000_4003_u32 as i32;
/// `HRESULT_FROM_WIN32(ERROR_BUSY)`: the handler already has a live session and does not allow concurrent ones.
pub const SC_E_BUSY: ScHresult = 0x8007_00AA_u32 as i32;
/// `HRESULT_FROM_WIN32(ERROR_NOT_READY)`: the handler or item is inactive, disabled or disconnected.
pub const SC_E_NOT_READY: ScHresult = 0x8007_0015_u32 as i32;

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// A failed call: its `HRESULT` and the words kept for `sc_last_error_message`.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) hresult: ScHresult,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(hresult: ScHresult, message: impl Into<String>) -> Failure {
        Failure { hresult, message: message.into() }
    }

    pub(crate) fn null(what: &str) -> Failure {
        Failure::new(SC_E_POINTER, format!("{what} is NULL"))
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Failure {
        // The daemon's error carries the spec's HRESULT unchanged (docs/protocol.md, Errors).
        let hresult = match &e {
            ClientError::Rpc { hresult, .. } => *hresult as i32,
            ClientError::LineTooLong { .. } | ClientError::Encode { .. } => SC_E_INVALIDARG,
            _ => SC_E_FAIL,
        };
        Failure::new(hresult, e.to_string())
    }
}

pub(crate) type Outcome = Result<ScHresult, Failure>;

/// Runs an exported function's body: a panic becomes `SC_E_FAIL`, a failure is remembered for
/// `sc_last_error_message` on this thread, a success clears it.
pub(crate) fn guard(body: impl FnOnce() -> Outcome) -> ScHresult {
    let outcome = catch_unwind(AssertUnwindSafe(body))
        .unwrap_or_else(|_| Err(Failure::new(SC_E_FAIL, "internal error: libsynccenter panicked")));
    match outcome {
        Ok(hr) => {
            set_last_error(None);
            hr
        }
        Err(f) => {
            set_last_error(Some(f.message));
            f.hresult
        }
    }
}

fn set_last_error(message: Option<String>) {
    let message = message.map(|m| CString::new(m.replace('\0', " ")).unwrap_or_default());
    LAST_ERROR.with(|slot| *slot.borrow_mut() = message);
}

/// The message of the last failed call on this thread, or NULL after a success. Valid until the next call
/// into the library on this thread; do not free it.
#[unsafe(no_mangle)]
pub extern "C" fn sc_last_error_message() -> *const c_char {
    catch_unwind(|| LAST_ERROR.with(|slot| slot.borrow().as_ref().map_or(std::ptr::null(), |s| s.as_ptr())))
        .unwrap_or(std::ptr::null())
}

/// A required C string as UTF-8.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that stays valid for `'a`.
pub(crate) unsafe fn required<'a>(p: *const c_char, what: &str) -> Result<&'a str, Failure> {
    // SAFETY: the caller's contract.
    unsafe { optional(p, what) }?.ok_or_else(|| Failure::null(what))
}

/// An optional C string as UTF-8 (`None` for NULL).
///
/// # Safety
/// As [`required`].
pub(crate) unsafe fn optional<'a>(p: *const c_char, what: &str) -> Result<Option<&'a str>, Failure> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str().map(Some).map_err(|_| Failure::new(SC_E_INVALIDARG, format!("{what} is not UTF-8")))
}

/// A string handed to C, freed with `sc_string_free`.
pub(crate) fn to_c_string(s: String) -> Result<*mut c_char, Failure> {
    CString::new(s)
        .map(CString::into_raw)
        .map_err(|_| Failure::new(SC_E_FAIL, "the daemon answered a string with a NUL byte"))
}

/// Frees a string this library returned (an event ID, a session ID copy). NULL is ignored.
///
/// # Safety
/// `s` is NULL or a string returned by this library and not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sc_string_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: made by `CString::into_raw` in `to_c_string`, freed once by the caller's contract.
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { CString::from_raw(s) })));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last() -> Option<String> {
        let p = sc_last_error_message();
        // SAFETY: NULL or this thread's live message.
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }

    #[test]
    fn a_panic_becomes_e_fail_with_a_message_and_a_success_clears_it() {
        assert_eq!(guard(|| panic!("boom")), SC_E_FAIL);
        assert_eq!(last().as_deref(), Some("internal error: libsynccenter panicked"));
        assert_eq!(guard(|| Ok(SC_S_FALSE)), SC_S_FALSE);
        assert_eq!(last(), None);
    }

    #[test]
    fn strings_are_checked_for_null_and_utf8() {
        // SAFETY: NULL and NUL-terminated literals.
        unsafe {
            assert_eq!(required(std::ptr::null(), "item").map_err(|f| f.hresult), Err(SC_E_POINTER));
            assert_eq!(optional(c"\xff".as_ptr(), "item").map_err(|f| f.hresult), Err(SC_E_INVALIDARG));
            assert_eq!(required(c"docs".as_ptr(), "item").map_err(|f| f.hresult), Ok("docs"));
        }
    }

    #[test]
    fn the_daemons_hresult_is_returned_unchanged() {
        let e = ClientError::Rpc {
            method: "session.create".into(),
            code: -32000,
            message: "busy".into(),
            hresult: 0x8007_00AA,
            name: "ERROR_BUSY".into(),
        };
        assert_eq!(Failure::from(e).hresult, SC_E_BUSY);
        assert_eq!(Failure::from(ClientError::Disconnected).hresult, SC_E_FAIL);
    }
}
