//! `sc_session`: the spec's `ISyncMgrSyncCallback` (§2.2) as C functions, one per method, plus the explicit end
//! the port adds (§2.19 rule 2) and the stop as a descriptor or callback. After the end every call answers
//! `SC_E_UNEXPECTED` (rule 4) without asking the daemon.

use std::ffi::{CString, c_char, c_int, c_void};
use std::sync::{Arc, Mutex, PoisonError};

use synccenter_client::methods::{CreateSessionParams, ItemFields, ProposedItem, ReportEventParams};
use synccenter_client::{CancelWire, EventLevelWire, Session, StatusWire};
use tokio::task::JoinHandle;

use crate::cancel::{CancelSignal, ScCancelCallback, watch};
use crate::client::{Inner, ScClient, client_ref};
use crate::hresult::{
    Failure, SC_E_INVALIDARG, SC_E_NOTIMPL, SC_E_UNEXPECTED, SC_S_FALSE, SC_S_OK, ScHresult, guard, optional, required,
    to_c_string,
};

/// A live session. Create with `sc_session_new`, end with `sc_session_end`, free with `sc_session_free`.
#[derive(Debug)]
pub struct ScSession {
    pub(crate) inner: Arc<Inner>,
    id: CString,
    /// `None` once ended.
    live: Mutex<Option<Arc<Session>>>,
    /// The aggregated status `session.end` answered, for a repeated end.
    ended: Mutex<Option<u32>>,
    watcher: Mutex<Option<JoinHandle<()>>>,
    cancel: Arc<CancelSignal>,
}

impl ScSession {
    pub(crate) fn live(&self) -> Result<Arc<Session>, Failure> {
        let live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        live.clone().ok_or_else(|| Failure::new(SC_E_UNEXPECTED, "the session has ended"))
    }

    /// Takes the session out for its end: the watcher stops first, so the session is ours alone.
    fn take(&self) -> Result<Session, Failure> {
        let session = self.live.lock().unwrap_or_else(PoisonError::into_inner).take();
        let session = session.ok_or_else(|| Failure::new(SC_E_UNEXPECTED, "the session has ended"))?;
        if let Some(w) = self.watcher.lock().unwrap_or_else(PoisonError::into_inner).take() {
            w.abort();
            let _ = self.inner.block_on(w);
        }
        // Another thread still inside a call on this session holds a clone; it ends when that call returns.
        Arc::try_unwrap(session)
            .map_err(|_| Failure::new(SC_E_UNEXPECTED, "the session is in use on another thread; end it there"))
    }
}

/// # Safety
/// `session` is NULL or a live session.
pub(crate) unsafe fn session_ref<'a>(session: *const ScSession) -> Result<&'a ScSession, Failure> {
    // SAFETY: the caller's contract.
    unsafe { session.as_ref() }.ok_or_else(|| Failure::null("session"))
}

/// # Safety
/// `out` is NULL or writable.
pub(crate) unsafe fn write_out<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: non-NULL and writable by the caller's contract.
        unsafe { *out = value };
    }
}

/// The value of a spec enumeration whose number is `n`, or `SC_E_INVALIDARG` naming `what`.
fn numbered<T: Copy>(all: &[T], number: fn(T) -> u32, n: u32, what: &str) -> Result<T, Failure> {
    all.iter()
        .copied()
        .find(|v| number(*v) == n)
        .ok_or_else(|| Failure::new(SC_E_INVALIDARG, format!("{n} is not a {what}")))
}

fn status_from(n: u32) -> Result<StatusWire, Failure> {
    numbered(StatusWire::ALL, StatusWire::number, n, "SYNCMGR_PROGRESS_STATUS (1..=6)")
}

fn level_from(n: u32) -> Result<EventLevelWire, Failure> {
    numbered(EventLevelWire::ALL, EventLevelWire::number, n, "SYNCMGR_EVENT_LEVEL (1..=3)")
}

/// The strings of a C array of IDs (`what`: the array's name in messages, `each`: one ID's).
///
/// # Safety
/// `ids` is NULL or points to `n` pointers, each NULL or a NUL-terminated string.
pub(crate) unsafe fn id_list(
    ids: *const *const c_char,
    n: usize,
    what: &str,
    each: &str,
) -> Result<Vec<String>, Failure> {
    if ids.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: `n` readable pointers by the caller's contract.
    let ptrs = unsafe { std::slice::from_raw_parts(ids, n) };
    // SAFETY: each pointer as the caller's contract says.
    ptrs.iter().map(|&p| unsafe { required(p, each) }.map(str::to_owned)).collect()
}

/// `CreateSession` (§2.1): a session of `handler` over the `n_items` items of `items`, owned by this client's
/// connection (it ends as `owner_lost` if the program exits without ending it). With `out` NULL the sync is only
/// announced (§5.2): the session is created and ended at once, with nothing recorded for its items.
/// `SC_E_POINTER` for a NULL `client`, `handler`, `items` or item; `SC_E_INVALIDARG` for unknown IDs or no
/// items; `SC_E_BUSY`, `SC_E_NOT_READY`, `SC_E_OUTOFMEMORY` as the daemon answers.
///
/// # Safety
/// `client` is NULL or live; strings are NULL or NUL-terminated; `items` is NULL or holds `n_items` pointers;
/// `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sc_session_new(
    client: *const ScClient,
    handler: *const c_char,
    items: *const *const c_char,
    n_items: usize,
    out: *mut *mut ScSession,
) -> ScHresult {
    guard(|| {
        // SAFETY (all three): the caller's contract.
        let client = unsafe { client_ref(client) }?;
        let handler = unsafe { required(handler, "handler") }?.to_owned();
        let items = unsafe { id_list(items, n_items, "items", "an item ID") }?;
        let inner = Arc::clone(&client.inner);
        if out.is_null() {
            inner.block_on(inner.client.announce_session(&handler, items))??;
            return Ok(SC_S_OK);
        }
        let params = CreateSessionParams { handler, items, detach: false, lease_seconds: None, announce: false };
        let session = inner.block_on(inner.client.create_session_with(params))??;
        let id = CString::new(session.id()).map_err(|_| Failure::new(SC_E_INVALIDARG, "a session ID with NUL"))?;
        let cancel = Arc::new(CancelSignal::new()?);
        let session = Arc::new(session);
        let watcher = inner.runtime.spawn(watch(Arc::clone(&session), Arc::clone(&cancel)));
        let handle = ScSession {
            inner,
            id,
            live: Mutex::new(Some(session)),
            ended: Mutex::new(None),
            watcher: Mutex::new(Some(watcher)),
            cancel,
        };
        // SAFETY: checked non-NULL; writable by the caller's contract.
        unsafe { *out = Box::into_raw(Box::new(handle)) };
        Ok(SC_S_OK)
    })
}

/// The session's ID (a UUID), owned by the session: valid until `sc_session_free`. NULL for a NULL session.
///
/// # Safety
/// `session` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sc_session_id(session: *const ScSession) -> *const c_char {
    // SAFETY: the caller's contract.
    unsafe { session.as_ref() }.map_or(std::ptr::null(), |s| s.id.as_ptr())
}

/// `ReportProgress` (§2.2.1): `status` a `SYNCMGR_PROGRESS_STATUS` (1..=6), `text` NULL to keep the item's text,
/// `""` to clear it. Waits for the daemon's answer, and writes the stop in force for the item to `*cancel` (0
/// `NONE`, 1 `CANCEL_ITEM`, 2 `CANCEL_ALL`) when `cancel` is not NULL. `SC_E_ACCESSDENIED` after a final status
/// (the item becomes failed), `SC_E_INVALIDARG` for an item not in the session or a bad status.
///
/// # Safety
/// `session` is NULL or live; strings are NULL or NUL-terminated; `cancel` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sc_session_report_progress(
    session: *const ScSession,
    item: *const c_char,
    text: *const c_char,
    status: u32,
    step: u32,
    max_step: u32,
    cancel: *mut u32,
) -> ScHresult {
    guard(|| {
        // SAFETY (all three): the caller's contract.
        let s = unsafe { session_ref(session) }?;
        let item = unsafe { required(item, "item") }?;
        let text = unsafe { optional(text, "text") }?;
        let status = status_from(status)?;
        let live = s.live()?;
        let answer = s.inner.block_on(live.report_progress_acked(item, status, text, step, max_step))??;
        // SAFETY: the caller's contract.
        unsafe { write_out(cancel, answer.number()) };
        Ok(SC_S_OK)
    })
}

/// `SetHandlerProgressText` (§2.2.2): the handler's status line, sent without waiting (latest wins). Writes the
/// handler-level stop in force (0 or 2, rule 15) to `*cancel` when not NULL.
///
/// # Safety
/// As `sc_session_report_progress`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sc_session_set_handler_progress_text(
    session: *const ScSession,
    text: *const c_char,
    cancel: *mut u32,
) -> ScHresult {
    guard(|| {
        // SAFETY (both): the caller's contract.
        let s = unsafe { session_ref(session) }?;
        let text = unsafe { required(text, "text") }?;
        let live = s.live()?;
        live.set_handler_progress_text(text)?;
        let all = if live.cancel_state().all { CancelWire::CancelAll } else { CancelWire::None };
        // SAFETY: the caller's contract.
        unsafe { write_out(cancel, all.number()) };
        Ok(SC_S_OK)
    })
}

/// `ReportEvent` (§2.2.3): `item` NULL for a handler-level event, `level` a `SYNCMGR_EVENT_LEVEL` (1..=3),
/// `flags` 0; `name` and `description` required, the link and context optional. Writes the new event's ID to
/// `*event_id` (free it with `sc_string_free`) when not NULL.
///
/// # Safety
/// `session` is NULL or live; strings are NULL or NUL-terminated; `event_id` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sc_session_report_event(
    session: *const ScSession,
    item: *const c_char,
    level: u32,
    flags: u32,
    name: *const c_char,
    description: *const c_char,
    link_text: *const c_char,
    link_reference: *const c_char,
    context: *const c_char,
    event_id: *mut *mut c_char,
) -> ScHresult {
    guard(|| {
        // SAFETY (all): the caller's contract.
        let s = unsafe { session_ref(session) }?;
        let own = |p, what| unsafe { optional(p, what) }.map(|o| o.map(str::to_owned));
        let params = ReportEventParams {
            item: own(item, "item")?,
            level: Some(level_from(level)?),
            flags: Some(flags),
            name: Some(unsafe { required(name, "name") }?.to_owned()),
            description: Some(unsafe { required(description, "description") }?.to_owned()),
            link_text: own(link_text, "link_text")?,
            link_reference: own(link_reference, "link_reference")?,
            context: own(context, "context")?,
            ..ReportEventParams::default()
        };
        let live = s.live()?;
        let id = s.inner.block_on(live.report_event_with(params))??;
        if !event_id.is_null() {
            // SAFETY: the caller's contract.
            unsafe { *event_id = to_c_string(id)? };
        }
        Ok(SC_S_OK)
    })
}

/// `CanContinue` (§2.2.4): `SC_S_OK` when no stop applies to `item` (NULL or `""`: the handler as a whole),
/// `SC_S_FALSE` when one does, `SC_E_INVALIDARG` for an item not in the session.
///
/// # Safety
/// `session` is NULL or live; `item` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sc_session_can_continue(session: *const ScSession, item: *const c_char) -> ScHresult {
    guard(|| {
        // SAFETY (both): the caller's contract.
        let s = unsafe { session_ref(session) }?;
        let item = unsafe { optional(item, "item") }?.filter(|i| !i.is_empty());
        let live = s.live()?;
        let proceed = s.inner.block_on(live.can_continue(item))??;
        Ok(if proceed { SC_S_OK } else { SC_S_FALSE })
    })
}

/// Runs one of the session calls that name an item and answer nothing.
///
/// # Safety
/// `session` is NULL or live; `item` is NULL or NUL-terminated.
unsafe fn item_call<F>(session: *const ScSession, item: *const c_char, call: F) -> ScHresult
where
    F: AsyncFnOnce(&Session, &str) -> Result<(), synccenter_client::ClientError>,
{
    guard(|| {
        // SAFETY (both): the caller's contract.
        let s = unsafe { session_ref(session) }?;
        let item = unsafe { required(item, "item") }?;
        let live = s.live()?;
        s.inner.block_on(call(&live, item))??;
        Ok(SC_S_OK)
    })
}

/// `QueryForAdditionalItems` (§2.2.5): the items of pending start requests for the session's handler, written to
/// `*items` (an array of `*n_items` strings; free it with `sc_strings_free`), and, when `contexts` is not NULL,
/// their contexts as JSON texts the same way. `SC_S_OK` when something is pending, `SC_S_FALSE` when nothing is
/// (the arrays are then NULL with a count of 0).
///
/// # Safety
/// `session` is NULL or live; `items` and `n_items` are NULL or writable; `contexts` and `n_contexts` are both
/// NULL or both writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sc_session_query_additional_items(
    session: *const ScSession,
    items: *mut *mut *mut c_char,
    n_items: *mut usize,
    contexts: *mut *mut *mut c_char,
    n_contexts: *mut usize,
) -> ScHresult {
    guard(|| {
        // SAFETY: the caller's contract.
        let s = unsafe { session_ref(session) }?;
        if items.is_null() || n_items.is_null() {
            return Err(Failure::null("items or n_items"));
        }
        if contexts.is_null() != n_contexts.is_null() {
            return Err(Failure::null("contexts or n_contexts"));
        }
        let live = s.live()?;
        let pending = s.inner.block_on(live.query_additional_items())??;
        let hr = if pending.items.is_empty() && pending.contexts.is_empty() { SC_S_FALSE } else { SC_S_OK };
        let item_array = string_array(pending.items)?;
        let context_array = string_array(pending.contexts.iter().map(ToString::to_string).collect())?;
        // SAFETY (all four): checked non-NULL, writable by the caller's contract.
        unsafe {
            (*items, *n_items) = item_array;
            if contexts.is_null() {
                sc_strings_free(context_array.0, context_array.1);
            } else {
                (*contexts, *n_contexts) = context_array;
            }
        }
        Ok(hr)
    })
}

/// An array of C strings for `sc_strings_free`; NULL when empty.
fn string_array(strings: Vec<String>) -> Result<(*mut *mut c_char, usize), Failure> {
    if strings.is_empty() {
        return Ok((std::ptr::null_mut(), 0));
    }
    let mut out: Vec<*mut c_char> = Vec::with_capacity(strings.len());
    for s in strings {
        match to_c_string(s) {
            Ok(p) => out.push(p),
            Err(e) => {
                let n = out.len();
                // SAFETY: the strings made so far, as an array this function owns.
                unsafe { sc_strings_free(Box::into_raw(out.into_boxed_slice()).cast(), n) };
                return Err(e);
            }
        }
    }
    let n = out.len();
    Ok((Box::into_raw(out.into_boxed_slice()).cast(), n))
}

/// Frees an array of `n` strings this library returned (`sc_session_query_additional_items`). NULL is ignored.
///
/// # Safety
/// `strings` is NULL or an array of `n` strings returned by this library and not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sc_strings_free(strings: *mut *mut c_char, n: usize) {
    if strings.is_null() {
        return;
    }
    guard(|| {
        // SAFETY: made by `string_array` from a boxed slice of `n` pointers, freed once by the caller's contract.
        let array = unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(strings, n)) };
        for &p in array.iter() {
            // SAFETY: each made by `to_c_string`.
            unsafe { crate::hresult::sc_string_free(p) };
        }
        Ok(SC_S_OK)
    });
}

/// `AddItemToSession` (§2.2.6): `SC_E_INVALIDARG` when the item is unknown or already in the session.
///
/// # Safety
/// `session` is NULL or live; `item` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sc_session_add_item(session: *const ScSession, item: *const c_char) -> ScHresult {
    // SAFETY: the caller's contract.
    unsafe { item_call(session, item, async |s, i| s.add_item(i).await) }
}

/// `AddIUnknownToSession` (§2.2.7, resolved in §5.14): takes `context`, a JSON text as
/// `sc_session_query_additional_items` hands out, from the pending start request that carries it into this
/// session. `SC_E_POINTER` for a NULL `context`, `SC_E_INVALIDARG` when it is not JSON or no pending request of the
/// session's handler carries it.
///
/// # Safety
/// `session` is NULL or live; `context` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sc_session_add_context(session: *const ScSession, context: *const c_char) -> ScHresult {
    guard(|| {
        // SAFETY (both): the caller's contract.
        let s = unsafe { session_ref(session) }?;
        let text = unsafe { required(context, "context") }?;
        let context: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Failure::new(SC_E_INVALIDARG, format!("the context is not JSON: {e}")))?;
        let live = s.live()?;
        s.inner.block_on(live.add_context(context))??;
        Ok(SC_S_OK)
    })
}

/// `ProposeItem` (§2.2.8): a new item `item` named `name`, to be committed with `sc_session_commit_item`.
/// `SC_E_INVALIDARG` when an item with that ID exists.
///
/// # Safety
/// `session` is NULL or live; strings are NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sc_session_propose_item(
    session: *const ScSession,
    item: *const c_char,
    name: *const c_char,
) -> ScHresult {
    guard(|| {
        // SAFETY (all three): the caller's contract.
        let s = unsafe { session_ref(session) }?;
        let id = unsafe { required(item, "item") }?.to_owned();
        let name = unsafe { required(name, "name") }?.to_owned();
        let live = s.live()?;
        let fields = ItemFields { name: Some(name), ..ItemFields::default() };
        s.inner.block_on(live.propose_item(ProposedItem { id, fields }))??;
        Ok(SC_S_OK)
    })
}

/// `CommitItem` (§2.2.9): `SC_E_INVALIDARG` when the item was not proposed or already is a member.
///
/// # Safety
/// `session` is NULL or live; `item` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sc_session_commit_item(session: *const ScSession, item: *const c_char) -> ScHresult {
    // SAFETY: the caller's contract.
    unsafe { item_call(session, item, async |s, i| s.commit_item(i).await) }
}

/// `ReportManualSync` (§2.2.10): the user started this sync from outside Sync Center.
///
/// # Safety
/// `session` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sc_session_report_manual_sync(session: *const ScSession) -> ScHresult {
    guard(|| {
        // SAFETY: the caller's contract.
        let s = unsafe { session_ref(session) }?;
        let live = s.live()?;
        s.inner.block_on(live.report_manual_sync())??;
        Ok(SC_S_OK)
    })
}

/// Ends the session after everything reported so far and writes its aggregated `SYNCMGR_PROGRESS_STATUS` to
/// `*status` when not NULL (items without a final status become failed, rule 3). Ending again answers the same,
/// as the protocol does; every other call now answers `SC_E_UNEXPECTED` (rule 4).
///
/// # Safety
/// `session` is NULL or live; `status` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sc_session_end(session: *const ScSession, status: *mut u32) -> ScHresult {
    guard(|| {
        // SAFETY: the caller's contract.
        let s = unsafe { session_ref(session) }?;
        let mut ended = s.ended.lock().unwrap_or_else(PoisonError::into_inner);
        let answer = match *ended {
            Some(answer) => answer,
            None => {
                let taken = s.take()?;
                let answer = s.inner.block_on(taken.end())??.status.number();
                *ended = Some(answer);
                answer
            }
        };
        // SAFETY: the caller's contract.
        unsafe { write_out(status, answer) };
        Ok(SC_S_OK)
    })
}

/// Frees a session; one not ended is ended without waiting (the daemon ends it anyway when the connection
/// closes). NULL is ignored.
///
/// # Safety
/// `session` is NULL or a session from `sc_session_new` not yet freed, and no other thread is using it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sc_session_free(session: *mut ScSession) {
    if !session.is_null() {
        guard(|| {
            // SAFETY: made by `Box::into_raw` in `sc_session_new`, freed once by the caller's contract.
            let s = unsafe { Box::from_raw(session) };
            if let Some(w) = s.watcher.lock().unwrap_or_else(PoisonError::into_inner).take() {
                w.abort();
                // The watcher's hold on the session goes first, so the end below is queued while the runtime
                // runs (a free from a cancel callback cannot wait: the runtime drops the task later).
                let _ = s.inner.block_on(w);
            }
            drop(s);
            Ok(SC_S_OK)
        });
    }
}

/// Writes to `*fd` a descriptor that becomes readable when the daemon pushes the first stop for this session
/// and stays readable (do not read from it; it is closed by `sc_session_free`). Poll it, then ask
/// `sc_session_can_continue` or `sc_session_report_progress` which stop it was. `SC_E_NOTIMPL` on Windows, which
/// has no such descriptor: use `sc_session_set_cancel_callback` there.
///
/// # Safety
/// `session` is NULL or live; `fd` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sc_session_cancel_fd(session: *const ScSession, fd: *mut c_int) -> ScHresult {
    guard(|| {
        // SAFETY: the caller's contract.
        let s = unsafe { session_ref(session) }?;
        if fd.is_null() {
            return Err(Failure::null("fd"));
        }
        let Some(readable) = s.cancel.fd() else {
            return Err(Failure::new(
                SC_E_NOTIMPL,
                "no pollable descriptor on this platform: use sc_session_set_cancel_callback",
            ));
        };
        // SAFETY: checked non-NULL; writable by the caller's contract.
        unsafe { *fd = readable };
        Ok(SC_S_OK)
    })
}

/// Registers `callback` (NULL removes it), called with `user` on a library thread for each stop the daemon pushes
/// for this session from now on (`ScCancelCallback`). It must not call into the library.
///
/// # Safety
/// `session` is NULL or live; `callback` and `user` stay usable from another thread until the session is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sc_session_set_cancel_callback(
    session: *const ScSession,
    callback: ScCancelCallback,
    user: *mut c_void,
) -> ScHresult {
    guard(|| {
        // SAFETY: the caller's contract.
        let s = unsafe { session_ref(session) }?;
        s.cancel.set_callback(callback, user);
        Ok(SC_S_OK)
    })
}
