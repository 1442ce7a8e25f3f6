//! `ISyncMgrSessionCreator` (spec §2.1): the object `CoCreateInstance` makes. It connects to the daemon at its
//! first `CreateSession` and keeps that connection for the sessions it creates (a lost connection is dropped, so
//! the next call connects again); each session is an `ISyncMgrSyncCallback` of its own.

use std::ffi::c_void;
use std::sync::{Arc, Mutex, PoisonError};

use synccenter_client::methods::CreateSessionParams;
use windows_core::{HRESULT, Interface, implement};

use super::boundary::{Connection, Counted, E_FAIL, E_INVALIDARG, Outcome, S_OK, guard, required, write};
use super::callback::Callback;
use super::interfaces::{ISyncMgrSessionCreator, ISyncMgrSessionCreator_Impl, ISyncMgrSyncCallback};

#[implement(ISyncMgrSessionCreator)]
pub(crate) struct Creator {
    connection: Mutex<Option<Arc<Connection>>>,
    _counted: Counted,
}

impl Creator {
    pub(crate) fn new() -> Creator {
        Creator { connection: Mutex::new(None), _counted: Counted::new() }
    }

    fn connection(&self) -> Result<Arc<Connection>, HRESULT> {
        let mut slot = self.connection.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = slot.as_ref() {
            return Ok(Arc::clone(c));
        }
        let c = Arc::new(Connection::open()?);
        *slot = Some(Arc::clone(&c));
        Ok(c)
    }

    /// Forgets a connection that failed, so the next call connects again.
    fn forget(&self, failed: &Arc<Connection>) {
        let mut slot = self.connection.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref().is_some_and(|c| Arc::ptr_eq(c, failed)) {
            *slot = None;
        }
    }

    /// `CreateSession` with its arguments read; `out` NULL announces only (spec §5.2).
    fn create(&self, handler: String, items: Vec<String>, out: *mut *mut c_void) -> Outcome {
        let conn = self.connection()?;
        let params = CreateSessionParams { handler, items, detach: false, lease_seconds: None };
        let session = match conn.run(conn.client.create_session_with(params)) {
            Ok(s) => s,
            Err(hr) => {
                if hr == E_FAIL {
                    // A lost connection (or a daemon's generic failure: reconnecting then costs nothing).
                    self.forget(&conn);
                }
                return Err(hr);
            }
        };
        if out.is_null() {
            conn.run(session.end())?;
            return Ok(S_OK);
        }
        let callback: ISyncMgrSyncCallback = Callback::new(conn, session).into();
        // SAFETY: checked non-NULL; writable by the caller's contract.
        unsafe { out.write(callback.into_raw()) };
        Ok(S_OK)
    }
}

impl ISyncMgrSessionCreator_Impl for Creator_Impl {
    unsafe fn CreateSession(
        &self,
        handler: *const u16,
        items: *const *const u16,
        count: u32,
        out: *mut *mut c_void,
    ) -> HRESULT {
        guard(|| {
            // SAFETY: NULL or writable by COM's contract for an out-parameter.
            unsafe { write(out, std::ptr::null_mut()) };
            // SAFETY: NULL or a NUL-terminated string.
            let handler = unsafe { required(handler) }?;
            if items.is_null() {
                // Spec §5.8: a NULL list is a bad argument, as no items are.
                return Err(E_INVALIDARG);
            }
            // SAFETY: `count` readable pointers by the method's contract.
            let ptrs = unsafe { std::slice::from_raw_parts(items, count as usize) };
            // SAFETY: each NULL or a NUL-terminated string.
            let items = ptrs.iter().map(|&p| unsafe { required(p) }).collect::<Result<Vec<_>, _>>()?;
            self.create(handler, items, out)
        })
    }
}
