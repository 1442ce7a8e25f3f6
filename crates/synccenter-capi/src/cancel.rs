//! The pushed stop, offered the way C programs wait for things: a pipe whose read end becomes readable at the
//! first `session.cancel_requested` push (and stays readable: the library never drains it), and an optional
//! callback called on the library's thread for every push. A watcher task per session feeds both from the
//! client's `Session::cancelled`.

use std::ffi::{CString, c_char, c_int, c_void};
use std::io::{PipeReader, PipeWriter, Write};
use std::sync::{Arc, Mutex, PoisonError};

use synccenter_client::Session;

use crate::hresult::{Failure, SC_E_FAIL};

/// Called for each stop the daemon pushes for the session, on a library thread: `user` as registered, `cancel`
/// a `SYNCMGR_CANCEL_REQUEST` (1 `CANCEL_ITEM`, 2 `CANCEL_ALL`), `item` the stopped item or NULL (valid only
/// during the call). It must return quickly and must not call into the library.
pub type ScCancelCallback = Option<unsafe extern "C" fn(user: *mut c_void, cancel: u32, item: *const c_char)>;

#[derive(Debug, Clone, Copy)]
struct Registered {
    callback: unsafe extern "C" fn(*mut c_void, u32, *const c_char),
    user: *mut c_void,
}

// SAFETY: the C caller registers a callback and pointer it promises may be used from the library's thread
// (docs/c-api.md, Threading).
unsafe impl Send for Registered {}

/// One session's stop signal: the pipe and the callback.
#[derive(Debug)]
pub(crate) struct CancelSignal {
    reader: PipeReader,
    writer: Mutex<Option<PipeWriter>>,
    callback: Mutex<Option<Registered>>,
}

impl CancelSignal {
    pub(crate) fn new() -> Result<CancelSignal, Failure> {
        let (reader, writer) =
            std::io::pipe().map_err(|e| Failure::new(SC_E_FAIL, format!("cannot create the cancel pipe: {e}")))?;
        Ok(CancelSignal { reader, writer: Mutex::new(Some(writer)), callback: Mutex::new(None) })
    }

    /// The pipe's read end for `poll` (Unix); `None` on Windows, where only the callback tells.
    pub(crate) fn fd(&self) -> Option<c_int> {
        synccenter_platform::pipe::pollable_fd(&self.reader)
    }

    pub(crate) fn set_callback(
        &self,
        callback: Option<unsafe extern "C" fn(*mut c_void, u32, *const c_char)>,
        user: *mut c_void,
    ) {
        let registered = callback.map(|callback| Registered { callback, user });
        *self.callback.lock().unwrap_or_else(PoisonError::into_inner) = registered;
    }

    /// A stop arrived: the callback, then one byte into the pipe the first time (a pipe holds it whatever the
    /// reader does), so that a program woken by the descriptor finds its callback already called.
    fn fire(&self, cancel: u32, item: Option<&str>) {
        let registered = *self.callback.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(r) = registered {
            let item = item.and_then(|i| CString::new(i).ok());
            let item_ptr = item.as_ref().map_or(std::ptr::null(), |i| i.as_ptr());
            // SAFETY: a C function registered for this purpose, called with its own `user` pointer.
            unsafe { (r.callback)(r.user, cancel, item_ptr) };
        }
        if let Some(mut w) = self.writer.lock().unwrap_or_else(PoisonError::into_inner).take() {
            let _ = w.write_all(b"!");
        }
    }
}

/// Feeds `signal` from the session's pushes until the connection closes (or the task is aborted at the end).
pub(crate) async fn watch(session: Arc<Session>, signal: Arc<CancelSignal>) {
    while let Ok(push) = session.cancelled().await {
        signal.fire(push.cancel.number(), push.item.as_deref());
    }
}
