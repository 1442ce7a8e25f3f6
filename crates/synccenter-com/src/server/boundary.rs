//! What every method does at the boundary: catch unwinds (a panic answers `E_UNEXPECTED`, never unwinds into the
//! host), turn UTF-16 arguments into the C library's UTF-8 strings (an unpaired surrogate is `E_INVALIDARG`; a
//! NULL stays NULL, for the C library to judge), write out-parameters only when not NULL, take the C library's
//! `HRESULT`s as they are, and count live objects for `DllCanUnloadNow`.

use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};

use synccenter_capi::ScHresult;
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

/// The C library's answer as an `HRESULT`, and as `Err` when it failed.
pub(crate) fn check(hr: ScHresult) -> Outcome {
    let hr = HRESULT(hr);
    if hr.is_ok() { Ok(hr) } else { Err(hr) }
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

/// A string argument as the C library's UTF-8 string; `None` for NULL.
///
/// # Safety
/// As [`units`].
pub(crate) unsafe fn c_string(p: *const u16) -> Result<Option<CString>, HRESULT> {
    // SAFETY: the caller's contract.
    let Some(units) = (unsafe { units(p) }) else { return Ok(None) };
    let text = from_utf16(units).ok_or(E_INVALIDARG)?;
    // No NUL inside: the UTF-16 string ended at its first.
    CString::new(text).map(Some).map_err(|_| E_INVALIDARG)
}

/// A string for the C library: its pointer, NULL for `None`.
pub(crate) fn ptr(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(std::ptr::null(), |c| c.as_ptr())
}

/// A string the C library returned, as text (the library's strings are UTF-8).
///
/// # Safety
/// `p` is a NUL-terminated string that stays valid for the call.
pub(crate) unsafe fn text(p: *const c_char) -> String {
    // SAFETY: the caller's contract.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
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
pub(crate) unsafe fn take_co_task_string(p: *mut u16) -> Result<CString, HRESULT> {
    // SAFETY: the caller's contract.
    let text = unsafe { c_string(p) }.and_then(|s| s.ok_or(E_POINTER));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_answers_e_unexpected_and_failures_pass_through() {
        assert_eq!(guard(|| panic!("boom")), E_UNEXPECTED);
        assert_eq!(guard(|| Ok(S_FALSE)), S_FALSE);
        assert_eq!(guard(|| check(0x8007_0005_u32 as i32)), HRESULT(0x8007_0005_u32 as i32));
    }

    #[test]
    fn utf16_arguments_become_the_libraries_strings() {
        let docs: Vec<u16> = "döcs\0".encode_utf16().collect();
        // SAFETY (all three): NULL or NUL-terminated UTF-16 arrays that outlive the calls.
        assert_eq!(unsafe { c_string(docs.as_ptr()) }, Ok(Some(CString::new("döcs").expect("no NUL"))));
        assert_eq!(unsafe { c_string(std::ptr::null()) }, Ok(None));
        assert_eq!(unsafe { c_string([0x64, 0xD800, 0].as_ptr()) }, Err(E_INVALIDARG));
    }

    #[test]
    fn null_out_pointers_are_not_written() {
        // SAFETY: NULL is allowed.
        unsafe { write(std::ptr::null_mut::<u32>(), 7) };
        let mut x = 0u32;
        // SAFETY: a writable local.
        unsafe { write(&mut x, 7) };
        assert_eq!(x, 7);
    }
}
