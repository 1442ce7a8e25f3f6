//! What every method does at the boundary: catch unwinds (a panic answers `E_UNEXPECTED`, never unwinds into the
//! host), read UTF-16 arguments (NULL where required is `E_POINTER`, an unpaired surrogate `E_INVALIDARG`), write
//! out-parameters only when not NULL, turn the client's errors into the spec's `HRESULT`s (the daemon's own pass
//! through unchanged), count live objects for `DllCanUnloadNow`, and hold the connection to the daemon with the
//! runtime that drives it.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};

use synccenter_client::{Client, ClientError};
use tokio::runtime::Runtime;
use windows_core::HRESULT;
use windows_sys::Win32::System::Com::{CoTaskMemAlloc, CoTaskMemFree};

use crate::text::from_utf16;

pub(crate) const S_OK: HRESULT = HRESULT(0);
pub(crate) const S_FALSE: HRESULT = HRESULT(1);
pub(crate) const E_POINTER: HRESULT = HRESULT(0x8000_4003_u32 as i32);
pub(crate) const E_INVALIDARG: HRESULT = HRESULT(0x8007_0057_u32 as i32);
pub(crate) const E_UNEXPECTED: HRESULT = HRESULT(0x8000_FFFF_u32 as i32);
pub(crate) const E_FAIL: HRESULT = HRESULT(0x8000_4005_u32 as i32);
pub(crate) const E_OUTOFMEMORY: HRESULT = HRESULT(0x8007_000E_u32 as i32);
pub(crate) const CLASS_E_NOAGGREGATION: HRESULT = HRESULT(0x8004_0110_u32 as i32);
pub(crate) const CLASS_E_CLASSNOTAVAILABLE: HRESULT = HRESULT(0x8004_0111_u32 as i32);
pub(crate) const SELFREG_E_CLASS: HRESULT = HRESULT(0x8004_0201_u32 as i32);

/// A method's result: the success `HRESULT` (`S_OK`, `S_FALSE`) or the failure one.
pub(crate) type Outcome = Result<HRESULT, HRESULT>;

/// Runs a method's body; a panic becomes `E_UNEXPECTED`.
pub(crate) fn guard(body: impl FnOnce() -> Outcome) -> HRESULT {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(Err(E_UNEXPECTED)).unwrap_or_else(|hr| hr)
}

/// The client's error as an `HRESULT`: the daemon's answer carries the spec's number (docs/protocol.md, Errors);
/// an over-long or unencodable argument is `E_INVALIDARG`; no daemon or a lost connection is `E_FAIL`.
pub(crate) fn from_client(e: ClientError) -> HRESULT {
    match e {
        ClientError::Rpc { hresult, .. } => HRESULT(hresult as i32),
        ClientError::LineTooLong { .. } | ClientError::Encode { .. } => E_INVALIDARG,
        _ => E_FAIL,
    }
}

/// The UTF-16 units of a NUL-terminated string, without the NUL; `None` for NULL.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated UTF-16 string that stays valid for `'a`.
unsafe fn units<'a>(p: *const u16) -> Option<&'a [u16]> {
    if p.is_null() {
        return None;
    }
    let mut len = 0;
    // SAFETY: the string is NUL-terminated, so every unit up to the NUL is readable.
    while unsafe { *p.add(len) } != 0 {
        len += 1;
    }
    // SAFETY: `len` readable units, as just walked.
    Some(unsafe { std::slice::from_raw_parts(p, len) })
}

/// An optional string argument as UTF-8.
///
/// # Safety
/// As [`units`].
pub(crate) unsafe fn optional(p: *const u16) -> Result<Option<String>, HRESULT> {
    // SAFETY: the caller's contract.
    match unsafe { units(p) } {
        None => Ok(None),
        Some(u) => from_utf16(u).map(Some).ok_or(E_INVALIDARG),
    }
}

/// A required string argument as UTF-8: NULL is `E_POINTER`.
///
/// # Safety
/// As [`units`].
pub(crate) unsafe fn required(p: *const u16) -> Result<String, HRESULT> {
    // SAFETY: the caller's contract.
    unsafe { optional(p) }?.ok_or(E_POINTER)
}

/// Writes `value` to `out` unless it is NULL.
///
/// # Safety
/// `out` is NULL or writable.
pub(crate) unsafe fn write<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: non-NULL and writable by the caller's contract.
        unsafe { out.write(value) };
    }
}

/// `s` as a NUL-terminated UTF-16 string allocated with `CoTaskMemAlloc`, which the caller frees with
/// `CoTaskMemFree`.
pub(crate) fn co_task_string(s: &str) -> Result<*mut u16, HRESULT> {
    let wide: Vec<u16> = s.encode_utf16().chain([0]).collect();
    // SAFETY: a plain allocation; NULL on failure.
    let p = unsafe { CoTaskMemAlloc(wide.len() * 2) }.cast::<u16>();
    if p.is_null() {
        return Err(E_OUTOFMEMORY);
    }
    // SAFETY: `p` holds `wide.len()` units, just allocated, not overlapping `wide`.
    unsafe { std::ptr::copy_nonoverlapping(wide.as_ptr(), p, wide.len()) };
    Ok(p)
}

/// Takes a string another object allocated with `CoTaskMemAlloc` for us: its text, the memory freed.
///
/// # Safety
/// `p` is NULL or a NUL-terminated UTF-16 string from `CoTaskMemAlloc` that nothing else frees.
pub(crate) unsafe fn take_co_task_string(p: *mut u16) -> Result<String, HRESULT> {
    // SAFETY: the caller's contract.
    let text = unsafe { required(p) };
    // SAFETY: allocated with CoTaskMemAlloc and ours to free (NULL is allowed).
    unsafe { CoTaskMemFree(p.cast()) };
    text
}

static OBJECTS: AtomicUsize = AtomicUsize::new(0);
static LOCKS: AtomicUsize = AtomicUsize::new(0);

/// Held by every object this DLL hands out: while one lives, `DllCanUnloadNow` says no.
#[derive(Debug)]
pub(crate) struct Counted(());

impl Counted {
    pub(crate) fn new() -> Counted {
        OBJECTS.fetch_add(1, Ordering::SeqCst);
        Counted(())
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        OBJECTS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// `IClassFactory::LockServer`.
pub(crate) fn lock_server(lock: bool) {
    if lock {
        LOCKS.fetch_add(1, Ordering::SeqCst);
    } else {
        let _ = LOCKS.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    }
}

/// Whether no object lives and no lock is held.
pub(crate) fn can_unload() -> bool {
    OBJECTS.load(Ordering::SeqCst) == 0 && LOCKS.load(Ordering::SeqCst) == 0
}

/// One connection to the daemon and the runtime that drives it, shared by a session creator and the sessions it
/// made; it closes when the last of them is released.
#[derive(Debug)]
pub(crate) struct Connection {
    // Dropped before the runtime (field order), so the connection's shutdown is queued on a live runtime.
    pub(crate) client: Client,
    runtime: Runtime,
}

impl Connection {
    /// Connects to the daemon: `SYNCCENTER_SOCKET`, else the user's named pipe.
    pub(crate) fn open() -> Result<Connection, HRESULT> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("synccenter-com")
            .enable_all()
            .build()
            .map_err(|_| E_FAIL)?;
        let client = runtime.block_on(Client::connect_default()).map_err(from_client)?;
        Ok(Connection { client, runtime })
    }

    /// Runs `f` to completion from the calling thread; the client's error as an `HRESULT`.
    pub(crate) fn run<T, F>(&self, f: F) -> Result<T, HRESULT>
    where
        F: Future<Output = Result<T, ClientError>>,
    {
        if tokio::runtime::Handle::try_current().is_ok() {
            // A host that calls from inside its own tokio runtime: blocking here would panic.
            return Err(E_UNEXPECTED);
        }
        self.runtime.block_on(f).map_err(from_client)
    }
}
