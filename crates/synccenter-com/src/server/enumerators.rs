//! What `QueryForAdditionalItems` hands out (spec §2.2.5, §5.13): an `IEnumString` of pending item IDs (each
//! string allocated with `CoTaskMemAlloc`, freed by the caller), an `IEnumUnknown` of pending contexts (a new
//! `Context` object per element fetched), and `Context`, which `AddIUnknownToSession` takes back. Both
//! enumerators are a `List` and follow COM's enumeration rules: `Next` answers `S_FALSE` when it fetched fewer
//! than asked, a NULL `pceltFetched` is allowed only when asking for one, `Clone` keeps the position.

use std::ffi::c_void;
use std::sync::{Arc, Mutex, PoisonError};

use std::ffi::CString;
use windows_core::{HRESULT, IUnknown, Interface, implement};
use windows_sys::Win32::System::Com::CoTaskMemFree;

use super::boundary::{Counted, E_INVALIDARG, E_POINTER, Outcome, S_FALSE, S_OK, co_task_string, guard, write};
use super::interfaces::{
    IEnumString, IEnumString_Impl, IEnumUnknown, IEnumUnknown_Impl, ISynccenterContext, ISynccenterContext_Impl,
};

/// An enumerator's elements (shared by its clones) and its position.
#[derive(Debug)]
struct List<T> {
    elements: Arc<Vec<T>>,
    pos: Mutex<usize>,
    _counted: Counted,
}

impl<T> List<T> {
    fn new(elements: Vec<T>) -> List<T> {
        List { elements: Arc::new(elements), pos: Mutex::new(0), _counted: Counted::new() }
    }

    /// A clone at the same position.
    fn cloned(&self) -> List<T> {
        let pos = *self.pos.lock().unwrap_or_else(PoisonError::into_inner);
        List { elements: Arc::clone(&self.elements), pos: Mutex::new(pos), _counted: Counted::new() }
    }

    /// Moves over up to `count` elements and returns them, with whether there were as many as asked.
    fn advance(&self, count: u32) -> (&[T], bool) {
        let mut pos = self.pos.lock().unwrap_or_else(PoisonError::into_inner);
        let start = *pos;
        let end = start.saturating_add(count as usize).min(self.elements.len());
        *pos = end;
        (&self.elements[start..end], end - start == count as usize)
    }

    /// `Next`: checks the arguments, writes each element fetched with `put` (which on failure must leave the
    /// first `i` written elements to be released by `undo`), then the count.
    fn next<P>(
        &self,
        count: u32,
        array: *mut P,
        fetched: *mut u32,
        put: impl Fn(&T) -> Result<P, HRESULT>,
        undo: impl Fn(P),
    ) -> Outcome {
        if array.is_null() {
            return Err(E_POINTER);
        }
        if fetched.is_null() && count != 1 {
            return Err(E_INVALIDARG);
        }
        let (elements, all) = self.advance(count);
        for (i, element) in elements.iter().enumerate() {
            match put(element) {
                // SAFETY: the caller's array holds `count` elements; `i` < count.
                Ok(p) => unsafe { array.add(i).write(p) },
                Err(hr) => {
                    // SAFETY: the elements written above, not handed over.
                    (0..i).for_each(|j| undo(unsafe { array.add(j).read() }));
                    return Err(hr);
                }
            }
        }
        // SAFETY: NULL or writable.
        unsafe { write(fetched, elements.len() as u32) };
        Ok(if all { S_OK } else { S_FALSE })
    }

    fn skip(&self, count: u32) -> Outcome {
        Ok(if self.advance(count).1 { S_OK } else { S_FALSE })
    }

    fn reset(&self) -> Outcome {
        *self.pos.lock().unwrap_or_else(PoisonError::into_inner) = 0;
        Ok(S_OK)
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

#[implement(IEnumString)]
pub(crate) struct Strings(List<String>);

impl Strings {
    pub(crate) fn new(items: Vec<String>) -> Strings {
        Strings(List::new(items))
    }
}

impl IEnumString_Impl for Strings_Impl {
    unsafe fn Next(&self, count: u32, strings: *mut *mut u16, fetched: *mut u32) -> HRESULT {
        // SAFETY (undo): a string `co_task_string` allocated, freed once.
        guard(|| self.0.next(count, strings, fetched, |s| co_task_string(s), |p| unsafe { CoTaskMemFree(p.cast()) }))
    }

    unsafe fn Skip(&self, count: u32) -> HRESULT {
        guard(|| self.0.skip(count))
    }

    unsafe fn Reset(&self) -> HRESULT {
        guard(|| self.0.reset())
    }

    unsafe fn Clone(&self, copy: *mut *mut c_void) -> HRESULT {
        guard(|| clone_out::<IEnumString>(copy, Strings(self.0.cloned()).into()))
    }
}

#[implement(IEnumUnknown)]
pub(crate) struct Unknowns(List<String>);

impl Unknowns {
    /// Over the contexts' JSON texts.
    pub(crate) fn new(contexts: Vec<String>) -> Unknowns {
        Unknowns(List::new(contexts))
    }
}

impl IEnumUnknown_Impl for Unknowns_Impl {
    unsafe fn Next(&self, count: u32, objects: *mut *mut c_void, fetched: *mut u32) -> HRESULT {
        let put = |json: &String| Ok(IUnknown::from(Context::new(json)?).into_raw());
        // SAFETY (undo): a reference `put` made, released once.
        guard(|| self.0.next(count, objects, fetched, put, |p| drop(unsafe { IUnknown::from_raw(p) })))
    }

    unsafe fn Skip(&self, count: u32) -> HRESULT {
        guard(|| self.0.skip(count))
    }

    unsafe fn Reset(&self) -> HRESULT {
        guard(|| self.0.reset())
    }

    unsafe fn Clone(&self, copy: *mut *mut c_void) -> HRESULT {
        guard(|| clone_out::<IEnumUnknown>(copy, Unknowns(self.0.cloned()).into()))
    }
}

/// A pending start request's context (spec §5.14), as the JSON text the C library hands out and takes back.
#[implement(ISynccenterContext)]
pub(crate) struct Context {
    json: CString,
    _counted: Counted,
}

impl Context {
    fn new(json: &str) -> Result<Context, HRESULT> {
        let json = CString::new(json).map_err(|_| E_INVALIDARG)?;
        Ok(Context { json, _counted: Counted::new() })
    }

    pub(crate) fn json(&self) -> &CString {
        &self.json
    }
}

impl ISynccenterContext_Impl for Context_Impl {
    unsafe fn GetJson(&self, json: *mut *mut u16) -> HRESULT {
        guard(|| {
            if json.is_null() {
                return Err(E_POINTER);
            }
            let p = co_task_string(&self.json.to_string_lossy())?;
            // SAFETY: checked non-NULL; writable by the method's contract.
            unsafe { json.write(p) };
            Ok(S_OK)
        })
    }
}
