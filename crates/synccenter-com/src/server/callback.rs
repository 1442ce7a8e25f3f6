//! `ISyncMgrSyncCallback` (spec §2.2): one session, each method the C library's function for it
//! (`sc_session_report_progress`, …), which validates, asks the daemon and answers the spec's `HRESULT`s
//! (`S_FALSE` included); here only the strings are converted and the out-parameters that are not NULL written.
//! `*pnCancelRequest` is written also on failure (spec §5.11), with the stop the daemon says is in force. Releasing the
//! last reference ends the session (spec §2.19 rule 2), waiting for the daemon's answer.

use std::ffi::{c_char, c_void};
use std::ptr::null_mut;

use synccenter_capi::{
    sc_session_add_context, sc_session_add_item, sc_session_can_continue, sc_session_commit_item,
    sc_session_propose_item, sc_session_query_additional_items, sc_session_report_event, sc_session_report_manual_sync,
    sc_session_report_progress, sc_session_set_handler_progress_text, sc_string_free, sc_strings_free,
};
use windows_core::{GUID, HRESULT, IUnknown, Interface, implement};

use super::boundary::{
    Counted, E_FAIL, E_INVALIDARG, E_POINTER, Outcome, S_OK, c_string, guard, ptr, take_co_task_string, text, write,
};
use super::enumerators::{Context, Strings, Unknowns};
use super::handles::Session;
use super::interfaces::{IEnumString, IEnumUnknown, ISyncMgrSyncCallback, ISyncMgrSyncCallback_Impl, ISyncMgrSyncItem};
use crate::text::event_guid;

#[implement(ISyncMgrSyncCallback)]
pub(crate) struct Callback {
    session: Session,
    _counted: Counted,
}

impl Callback {
    pub(crate) fn new(session: Session) -> Callback {
        Callback { session, _counted: Counted::new() }
    }

    /// `ProposeItem` with the item's ID and name read from it.
    fn propose(&self, item: &ISyncMgrSyncItem) -> Outcome {
        let mut id = null_mut();
        // SAFETY: a live item (the caller holds its reference for the call); `id` is writable.
        unsafe { item.GetItemID(&mut id) }.ok().map_err(|e| e.code())?;
        // SAFETY: the string GetItemID allocated for us (or NULL, refused as E_POINTER).
        let id = unsafe { take_co_task_string(id) }?;
        let mut name = null_mut();
        // SAFETY: as above.
        unsafe { item.GetName(&mut name) }.ok().map_err(|e| e.code())?;
        // SAFETY: as above.
        let name = unsafe { take_co_task_string(name) }?;
        // SAFETY: a live session; both NUL-terminated.
        self.session.call(|s| unsafe { sc_session_propose_item(s, id.as_ptr(), name.as_ptr()) })
    }

    /// The pending items and contexts (`sc_session_query_additional_items`): its `HRESULT` and both lists.
    fn pending(&self) -> Result<(HRESULT, Vec<String>, Vec<String>), HRESULT> {
        let (mut items, mut n_items, mut contexts, mut n_contexts) = (null_mut(), 0, null_mut(), 0);
        // SAFETY: a live session; all four out-parameters writable.
        let hr = self.session.call(|s| unsafe {
            sc_session_query_additional_items(s, &mut items, &mut n_items, &mut contexts, &mut n_contexts)
        })?;
        // SAFETY: arrays of that many strings the library made, freed once here (NULL with 0 is allowed).
        let (items, contexts) = unsafe { (take_strings(items, n_items), take_strings(contexts, n_contexts)) };
        Ok((hr, items, contexts))
    }
}

/// An array of `n` strings from the C library as texts; the array freed.
///
/// # Safety
/// `array` is NULL (with `n` 0) or an array of `n` strings from the library, not yet freed.
unsafe fn take_strings(array: *mut *mut c_char, n: usize) -> Vec<String> {
    if array.is_null() {
        return Vec::new();
    }
    // SAFETY: the caller's contract.
    let texts = unsafe { std::slice::from_raw_parts(array, n) }.iter().map(|&p| unsafe { text(p) }).collect();
    // SAFETY: the caller's contract; freed once.
    unsafe { sc_strings_free(array, n) };
    texts
}

impl ISyncMgrSyncCallback_Impl for Callback_Impl {
    unsafe fn ReportProgress(
        &self,
        item: *const u16,
        text: *const u16,
        status: u32,
        step: u32,
        max_step: u32,
        cancel: *mut u32,
    ) -> HRESULT {
        guard(|| {
            // SAFETY (both): NULL or NUL-terminated strings.
            let item = unsafe { c_string(item) };
            let text = unsafe { c_string(text) };
            let mut answer = 0;
            let outcome = match (&item, &text) {
                // SAFETY: a live session; strings NULL or NUL-terminated; `answer` writable.
                (Ok(i), Ok(t)) => self.session.call(|s| unsafe {
                    sc_session_report_progress(s, ptr(i), ptr(t), status, step, max_step, &mut answer)
                }),
                (Err(hr), _) | (_, Err(hr)) => Err(*hr),
            };
            if outcome.is_err() && !cancel.is_null() {
                answer = self.session.cancel_in_force(item.ok().flatten().as_deref());
            }
            // SAFETY: NULL or writable.
            unsafe { write(cancel, answer) };
            outcome
        })
    }

    unsafe fn SetHandlerProgressText(&self, text: *const u16, cancel: *mut u32) -> HRESULT {
        guard(|| {
            let mut answer = 0;
            // SAFETY: NULL or a NUL-terminated string.
            let outcome = unsafe { c_string(text) }.and_then(|t| {
                // SAFETY: a live session; the text NULL or NUL-terminated; `answer` writable.
                self.session.call(|s| unsafe { sc_session_set_handler_progress_text(s, ptr(&t), &mut answer) })
            });
            if outcome.is_err() && !cancel.is_null() {
                // Spec §2.19 rule 15: only a handler-level stop is reported here.
                answer = self.session.cancel_in_force(None);
            }
            // SAFETY: NULL or writable.
            unsafe { write(cancel, answer) };
            outcome
        })
    }

    unsafe fn ReportEvent(
        &self,
        item: *const u16,
        level: u32,
        flags: u32,
        name: *const u16,
        description: *const u16,
        link_text: *const u16,
        link_reference: *const u16,
        context: *const u16,
        event_id: *mut GUID,
    ) -> HRESULT {
        guard(|| {
            // SAFETY (all): NULL or NUL-terminated strings.
            let strings = unsafe { [item, name, description, link_text, link_reference, context].map(|p| c_string(p)) };
            let [item, name, description, link_text, link_reference, context] = strings;
            let (item, name, description) = (item?, name?, description?);
            let (link_text, link_reference, context) = (link_text?, link_reference?, context?);
            let mut id: *mut c_char = null_mut();
            let id_out = if event_id.is_null() { null_mut() } else { &mut id as *mut *mut c_char };
            // SAFETY: a live session; strings NULL or NUL-terminated; `id_out` NULL or writable.
            self.session
                .call(|s| unsafe {
                    sc_session_report_event(
                        s,
                        ptr(&item),
                        level,
                        flags,
                        ptr(&name),
                        ptr(&description),
                        ptr(&link_text),
                        ptr(&link_reference),
                        ptr(&context),
                        id_out,
                    )
                })
                .map(drop)?;
            if id.is_null() {
                return Ok(S_OK);
            }
            // SAFETY: the event ID the library made, freed once.
            let id_text = unsafe { text(id) };
            unsafe { sc_string_free(id) };
            let guid = event_guid(&id_text).ok_or(E_FAIL)?;
            // SAFETY: non-NULL (an ID was asked for) and writable.
            unsafe { event_id.write(GUID::from_u128(guid)) };
            Ok(S_OK)
        })
    }

    unsafe fn CanContinue(&self, item: *const u16) -> HRESULT {
        guard(|| {
            // SAFETY: NULL or a NUL-terminated string; NULL and "" ask about the handler (spec §5.10).
            let item = unsafe { c_string(item) }?;
            // SAFETY: a live session; the item NULL or NUL-terminated.
            self.session.call(|s| unsafe { sc_session_can_continue(s, ptr(&item)) })
        })
    }

    unsafe fn QueryForAdditionalItems(&self, items: *mut *mut c_void, punks: *mut *mut c_void) -> HRESULT {
        guard(|| {
            // SAFETY (both): NULL or writable out-parameters, NULL unless something is pending.
            unsafe { write(items, null_mut()) };
            unsafe { write(punks, null_mut()) };
            let (hr, ids, contexts) = self.pending()?;
            if !items.is_null() && !ids.is_empty() {
                let e: IEnumString = Strings::new(ids).into();
                // SAFETY: checked non-NULL, writable.
                unsafe { items.write(e.into_raw()) };
            }
            if !punks.is_null() && !contexts.is_empty() {
                let e: IEnumUnknown = Unknowns::new(contexts).into();
                // SAFETY: checked non-NULL, writable.
                unsafe { punks.write(e.into_raw()) };
            }
            Ok(hr)
        })
    }

    unsafe fn AddItemToSession(&self, item: *const u16) -> HRESULT {
        guard(|| {
            // SAFETY: NULL or a NUL-terminated string.
            let item = unsafe { c_string(item) }?;
            // SAFETY: a live session; the item NULL or NUL-terminated.
            self.session.call(|s| unsafe { sc_session_add_item(s, ptr(&item)) })
        })
    }

    unsafe fn AddIUnknownToSession(&self, punk: *mut c_void) -> HRESULT {
        guard(|| {
            // SAFETY: NULL or a live object the caller holds for the call.
            let unknown = unsafe { IUnknown::from_raw_borrowed(&punk) }.ok_or(E_POINTER)?;
            // Only a context this DLL handed out (spec §5.14: anything else is not pending).
            let context = unknown.cast_object_ref::<Context>().map_err(|_| E_INVALIDARG)?;
            // SAFETY: a live session; the context's JSON text is NUL-terminated.
            self.session.call(|s| unsafe { sc_session_add_context(s, context.json().as_ptr()) })
        })
    }

    unsafe fn ProposeItem(&self, item: *mut c_void) -> HRESULT {
        guard(|| {
            // SAFETY: NULL or a live item the caller holds for the call.
            let item = unsafe { ISyncMgrSyncItem::from_raw_borrowed(&item) }.ok_or(E_POINTER)?;
            self.propose(item)
        })
    }

    unsafe fn CommitItem(&self, item: *const u16) -> HRESULT {
        guard(|| {
            // SAFETY: NULL or a NUL-terminated string.
            let item = unsafe { c_string(item) }?;
            // SAFETY: a live session; the item NULL or NUL-terminated.
            self.session.call(|s| unsafe { sc_session_commit_item(s, ptr(&item)) })
        })
    }

    unsafe fn ReportManualSync(&self) -> HRESULT {
        // SAFETY: a live session.
        guard(|| self.session.call(|s| unsafe { sc_session_report_manual_sync(s) }))
    }
}
