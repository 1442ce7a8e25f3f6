//! `ISyncMgrSyncCallback` (spec §2.2): one session of the daemon. Each method reads its arguments, asks the
//! daemon (which validates them and answers the spec's `HRESULT`s) and writes the out-parameters that are not
//! NULL; `*pnCancelRequest` is written also on failure (spec §5.11), from the stops the daemon pushed. Releasing
//! the last reference ends the session (spec §2.19 rule 2), waiting for the daemon's answer.

use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use synccenter_client::methods::{ItemFields, ProposedItem, ReportEventParams};
use synccenter_client::{CancelWire, EventLevelWire, Session, StatusWire};
use windows_core::{GUID, HRESULT, IUnknown, Interface, implement};

use super::boundary::{
    Connection, Counted, E_FAIL, E_INVALIDARG, E_POINTER, E_UNEXPECTED, Outcome, S_FALSE, S_OK, guard, optional,
    required, take_co_task_string, write,
};
use super::enumerators::{Context, Strings, Unknowns};
use super::interfaces::{IEnumString, IEnumUnknown, ISyncMgrSyncCallback, ISyncMgrSyncCallback_Impl, ISyncMgrSyncItem};
use crate::text::event_guid;

#[implement(ISyncMgrSyncCallback)]
pub(crate) struct Callback {
    conn: Arc<Connection>,
    /// Taken only when the object is destroyed, to end the session.
    session: Option<Session>,
    _counted: Counted,
}

impl Callback {
    pub(crate) fn new(conn: Arc<Connection>, session: Session) -> Callback {
        Callback { conn, session: Some(session), _counted: Counted::new() }
    }

    fn session(&self) -> Result<&Session, HRESULT> {
        self.session.as_ref().ok_or(E_UNEXPECTED)
    }

    /// The stop in force for `item` as the daemon pushed it (`CANCEL_ALL` wins), for a failed report.
    fn pushed_cancel(&self, item: Option<&str>) -> u32 {
        let Some(state) = self.session.as_ref().map(Session::cancel_state) else { return CancelWire::None.number() };
        let cancel = if state.all {
            CancelWire::CancelAll
        } else if item.is_some_and(|i| state.items.contains(i)) {
            CancelWire::CancelItem
        } else {
            CancelWire::None
        };
        cancel.number()
    }

    fn report_progress(
        &self,
        item: &str,
        text: Option<&str>,
        status: u32,
        step: u32,
        max: u32,
    ) -> Result<u32, HRESULT> {
        let status = numbered(StatusWire::ALL, StatusWire::number, status)?;
        let s = self.session()?;
        let answer = self.conn.run(s.report_progress_acked(item, status, text, step, max))?;
        Ok(answer.number())
    }

    /// `ProposeItem` with the item's ID and name read from it.
    fn propose(&self, item: &ISyncMgrSyncItem) -> Outcome {
        let mut id = std::ptr::null_mut();
        // SAFETY: a live item (the caller holds its reference for the call); `id` is writable.
        unsafe { item.GetItemID(&mut id) }.ok().map_err(|e| e.code())?;
        // SAFETY: the string GetItemID allocated for us (or NULL, refused as E_POINTER).
        let id = unsafe { take_co_task_string(id) }?;
        let mut name = std::ptr::null_mut();
        // SAFETY: as above.
        unsafe { item.GetName(&mut name) }.ok().map_err(|e| e.code())?;
        // SAFETY: as above.
        let name = unsafe { take_co_task_string(name) }?;
        let fields = ItemFields { name: Some(name), ..ItemFields::default() };
        self.conn.run(self.session()?.propose_item(ProposedItem { id, fields }))?;
        Ok(S_OK)
    }
}

/// The spec value of an enumeration whose number is `n` (spec §5.5: out of range is `E_INVALIDARG`).
fn numbered<T: Copy>(all: &[T], number: fn(T) -> u32, n: u32) -> Result<T, HRESULT> {
    all.iter().copied().find(|v| number(*v) == n).ok_or(E_INVALIDARG)
}

impl Drop for Callback {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            let conn = &self.conn;
            // A failed end leaves the session to the daemon, which ends it when the connection closes.
            let _ = catch_unwind(AssertUnwindSafe(|| conn.run(session.end())));
        }
    }
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
            let item = unsafe { required(item) };
            let text = unsafe { optional(text) };
            let outcome = match (&item, &text) {
                (Ok(item), Ok(text)) => self.report_progress(item, text.as_deref(), status, step, max_step),
                (Err(hr), _) | (_, Err(hr)) => Err(*hr),
            };
            let written = match outcome {
                Ok(answer) => answer,
                Err(_) => self.pushed_cancel(item.as_deref().ok()),
            };
            // SAFETY: NULL or writable.
            unsafe { write(cancel, written) };
            outcome.map(|_| S_OK)
        })
    }

    unsafe fn SetHandlerProgressText(&self, text: *const u16, cancel: *mut u32) -> HRESULT {
        guard(|| {
            // SAFETY: NULL or a NUL-terminated string.
            let outcome = unsafe { required(text) }.and_then(|text| {
                self.session()?.set_handler_progress_text(&text).map_err(super::boundary::from_client)
            });
            // Spec §2.19 rule 15: only a handler-level stop is reported here.
            let all = self.session.as_ref().is_some_and(|s| s.cancel_state().all);
            let written = if all { CancelWire::CancelAll } else { CancelWire::None };
            // SAFETY: NULL or writable.
            unsafe { write(cancel, written.number()) };
            outcome.map(|()| S_OK)
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
            let params = unsafe {
                ReportEventParams {
                    item: optional(item)?,
                    level: Some(numbered(EventLevelWire::ALL, EventLevelWire::number, level)?),
                    flags: Some(flags),
                    name: Some(required(name)?),
                    description: Some(required(description)?),
                    link_text: optional(link_text)?,
                    link_reference: optional(link_reference)?,
                    context: optional(context)?,
                    ..ReportEventParams::default()
                }
            };
            let id = self.conn.run(self.session()?.report_event_with(params))?;
            let guid = event_guid(&id).ok_or(E_FAIL)?;
            // SAFETY: NULL or writable.
            unsafe { write(event_id, GUID::from_u128(guid)) };
            Ok(S_OK)
        })
    }

    unsafe fn CanContinue(&self, item: *const u16) -> HRESULT {
        guard(|| {
            // SAFETY: NULL or a NUL-terminated string; NULL and "" ask about the handler (spec §5.10).
            let item = unsafe { optional(item) }?.filter(|i| !i.is_empty());
            let proceed = self.conn.run(self.session()?.can_continue(item.as_deref()))?;
            Ok(if proceed { S_OK } else { S_FALSE })
        })
    }

    unsafe fn QueryForAdditionalItems(&self, items: *mut *mut c_void, punks: *mut *mut c_void) -> HRESULT {
        guard(|| {
            // SAFETY (both): NULL or writable out-parameters, NULL until something is pending.
            unsafe { write(items, std::ptr::null_mut()) };
            unsafe { write(punks, std::ptr::null_mut()) };
            let pending = self.conn.run(self.session()?.query_additional_items())?;
            if pending.items.is_empty() && pending.contexts.is_empty() {
                return Ok(S_FALSE);
            }
            if !items.is_null() && !pending.items.is_empty() {
                let e: IEnumString = Strings::new(pending.items).into();
                // SAFETY: checked non-NULL, writable.
                unsafe { items.write(e.into_raw()) };
            }
            if !punks.is_null() && !pending.contexts.is_empty() {
                let e: IEnumUnknown = Unknowns::new(pending.contexts).into();
                // SAFETY: checked non-NULL, writable.
                unsafe { punks.write(e.into_raw()) };
            }
            Ok(S_OK)
        })
    }

    unsafe fn AddItemToSession(&self, item: *const u16) -> HRESULT {
        guard(|| {
            // SAFETY: NULL or a NUL-terminated string.
            let item = unsafe { required(item) }?;
            self.conn.run(self.session()?.add_item(&item))?;
            Ok(S_OK)
        })
    }

    unsafe fn AddIUnknownToSession(&self, punk: *mut c_void) -> HRESULT {
        guard(|| {
            // SAFETY: NULL or a live object the caller holds for the call.
            let unknown = unsafe { IUnknown::from_raw_borrowed(&punk) }.ok_or(E_POINTER)?;
            // Only a context this DLL handed out (spec §5.14: anything else is not pending).
            let context = unknown.cast_object_ref::<Context>().map_err(|_| E_INVALIDARG)?;
            self.conn.run(self.session()?.add_context(context.value().clone()))?;
            Ok(S_OK)
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
            let item = unsafe { required(item) }?;
            self.conn.run(self.session()?.commit_item(&item))?;
            Ok(S_OK)
        })
    }

    unsafe fn ReportManualSync(&self) -> HRESULT {
        guard(|| {
            self.conn.run(self.session()?.report_manual_sync())?;
            Ok(S_OK)
        })
    }
}
