//! What `QueryForAdditionalItems` hands out (spec §2.2.5, §5.13): an `IEnumString` of pending item IDs (each
//! string allocated with `CoTaskMemAlloc`, freed by the caller), an `IEnumUnknown` of pending contexts, and the
//! context objects themselves (`Context`, which `AddIUnknownToSession` takes back). Both enumerators share
//! `Cursor`, COM's enumeration rules: `Next` answers `S_FALSE` when it fetched fewer than asked, a NULL
//! `pceltFetched` is allowed only when asking for one.

use std::ffi::c_void;
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;
use windows_core::{HRESULT, IUnknown, Interface, implement};
use windows_sys::Win32::System::Com::CoTaskMemFree;

use super::boundary::{Counted, E_INVALIDARG, E_POINTER, Outcome, S_FALSE, S_OK, co_task_string, guard, write};
use super::interfaces::{
    IEnumString, IEnumString_Impl, IEnumUnknown, IEnumUnknown_Impl, ISynccenterContext, ISynccenterContext_Impl,
};

/// A position in a list of `len` elements.
#[derive(Debug)]
struct Cursor {
    len: usize,
    pos: Mutex<usize>,
}

impl Cursor {
    fn new(len: usize, pos: usize) -> Cursor {
        Cursor { len, pos: Mutex::new(pos) }
    }

    fn position(&self) -> usize {
        *self.pos.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves over up to `count` elements and returns them, or `None` when there are fewer (then it moves to the end).
    fn advance(&self, count: u32) -> (Range<usize>, bool) {
        let mut pos = self.pos.lock().unwrap_or_else(PoisonError::into_inner);
        let start = *pos;
        let end = start.saturating_add(count as usize).min(self.len);
        *pos = end;
        (start..end, end - start == count as usize)
    }

    fn reset(&self) {
        *self.pos.lock().unwrap_or_else(PoisonError::into_inner) = 0;
    }

    /// `Next`'s checks: an array to fill, and a count to write unless exactly one is asked for.
    fn check_next<T>(array: *mut T, count: u32, fetched: *mut u32) -> Result<(), HRESULT> {
        if array.is_null() {
            return Err(E_POINTER);
        }
        if fetched.is_null() && count != 1 {
            return Err(E_INVALIDARG);
        }
        Ok(())
    }
}

fn full(all: bool) -> HRESULT {
    if all { S_OK } else { S_FALSE }
}

#[implement(IEnumString)]
pub(crate) struct Strings {
    items: Arc<Vec<String>>,
    cursor: Cursor,
    _counted: Counted,
}

impl Strings {
    pub(crate) fn new(items: Vec<String>) -> Strings {
        Strings::at(Arc::new(items), 0)
    }

    fn at(items: Arc<Vec<String>>, pos: usize) -> Strings {
        Strings { cursor: Cursor::new(items.len(), pos), items, _counted: Counted::new() }
    }
}

impl IEnumString_Impl for Strings_Impl {
    unsafe fn Next(&self, count: u32, strings: *mut *mut u16, fetched: *mut u32) -> HRESULT {
        guard(|| {
            Cursor::check_next(strings, count, fetched)?;
            let (range, all) = self.cursor.advance(count);
            let n = range.len();
            for (i, item) in self.items[range].iter().enumerate() {
                match co_task_string(item) {
                    // SAFETY: the caller's array holds `count` elements; `i` < count.
                    Ok(p) => unsafe { strings.add(i).write(p) },
                    Err(hr) => {
                        for j in 0..i {
                            // SAFETY: the strings written above, not yet handed over.
                            unsafe { CoTaskMemFree(strings.add(j).read().cast()) };
                        }
                        return Err(hr);
                    }
                }
            }
            // SAFETY: NULL or writable.
            unsafe { write(fetched, n as u32) };
            Ok(full(all))
        })
    }

    unsafe fn Skip(&self, count: u32) -> HRESULT {
        guard(|| Ok(full(self.cursor.advance(count).1)))
    }

    unsafe fn Reset(&self) -> HRESULT {
        guard(|| {
            self.cursor.reset();
            Ok(S_OK)
        })
    }

    unsafe fn Clone(&self, copy: *mut *mut c_void) -> HRESULT {
        guard(|| {
            let e: IEnumString = Strings::at(Arc::clone(&self.items), self.cursor.position()).into();
            clone_out(copy, e)
        })
    }
}

/// Writes a clone to `copy`.
fn clone_out<I: Interface>(copy: *mut *mut c_void, object: I) -> Outcome {
    if copy.is_null() {
        return Err(E_POINTER);
    }
    // SAFETY: checked non-NULL; writable by the method's contract.
    unsafe { copy.write(object.into_raw()) };
    Ok(S_OK)
}

/// The pending contexts; each `Next` hands out new `Context` objects for them.
#[implement(IEnumUnknown)]
pub(crate) struct Unknowns {
    objects: Arc<Vec<Value>>,
    cursor: Cursor,
    _counted: Counted,
}

impl Unknowns {
    pub(crate) fn new(objects: Vec<Value>) -> Unknowns {
        Unknowns::at(Arc::new(objects), 0)
    }

    fn at(objects: Arc<Vec<Value>>, pos: usize) -> Unknowns {
        Unknowns { cursor: Cursor::new(objects.len(), pos), objects, _counted: Counted::new() }
    }
}

impl IEnumUnknown_Impl for Unknowns_Impl {
    unsafe fn Next(&self, count: u32, objects: *mut *mut c_void, fetched: *mut u32) -> HRESULT {
        guard(|| {
            Cursor::check_next(objects, count, fetched)?;
            let (range, all) = self.cursor.advance(count);
            let n = range.len();
            for (i, object) in self.objects[range].iter().enumerate() {
                let object = IUnknown::from(Context::new(object.clone()));
                // SAFETY: the caller's array holds `count` elements; `i` < count. Each is a new reference.
                unsafe { objects.add(i).write(object.into_raw()) };
            }
            // SAFETY: NULL or writable.
            unsafe { write(fetched, n as u32) };
            Ok(full(all))
        })
    }

    unsafe fn Skip(&self, count: u32) -> HRESULT {
        guard(|| Ok(full(self.cursor.advance(count).1)))
    }

    unsafe fn Reset(&self) -> HRESULT {
        guard(|| {
            self.cursor.reset();
            Ok(S_OK)
        })
    }

    unsafe fn Clone(&self, copy: *mut *mut c_void) -> HRESULT {
        guard(|| {
            let e: IEnumUnknown = Unknowns::at(Arc::clone(&self.objects), self.cursor.position()).into();
            clone_out(copy, e)
        })
    }
}

/// A pending start request's context (a JSON value, spec §5.14).
#[implement(ISynccenterContext)]
pub(crate) struct Context {
    value: Value,
    _counted: Counted,
}

impl Context {
    pub(crate) fn new(value: Value) -> Context {
        Context { value, _counted: Counted::new() }
    }

    pub(crate) fn value(&self) -> &Value {
        &self.value
    }
}

impl ISynccenterContext_Impl for Context_Impl {
    unsafe fn GetJson(&self, json: *mut *mut u16) -> HRESULT {
        guard(|| {
            if json.is_null() {
                return Err(E_POINTER);
            }
            let p = co_task_string(&self.value.to_string())?;
            // SAFETY: checked non-NULL; writable by the method's contract.
            unsafe { json.write(p) };
            Ok(S_OK)
        })
    }
}
