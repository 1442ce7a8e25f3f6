//! `ISyncMgrSessionCreator` (spec §2.1): the object `CoCreateInstance` makes. It connects to the daemon at its
//! first `CreateSession` (the C library's `sc_client_new`) and keeps that connection for the sessions it creates
//! (a connection that failed is dropped, so the next call connects again); each session is an
//! `ISyncMgrSyncCallback` of its own (`sc_session_new`).

use std::ffi::c_void;
use std::sync::{Arc, Mutex, PoisonError};

use windows_core::{HRESULT, Interface, implement};

use super::boundary::{Counted, E_FAIL, E_INVALIDARG, S_OK, c_string, guard, ptr, write};
use super::callback::Callback;
use super::handles::Client;
use super::interfaces::{ISyncMgrSessionCreator, ISyncMgrSessionCreator_Impl, ISyncMgrSyncCallback};

#[implement(ISyncMgrSessionCreator)]
pub(crate) struct Creator {
    client: Mutex<Option<Arc<Client>>>,
    _counted: Counted,
}

impl Creator {
    pub(crate) fn new() -> Creator {
        Creator { client: Mutex::new(None), _counted: Counted::new() }
    }

    fn client(&self) -> Result<Arc<Client>, HRESULT> {
        let mut slot = self.client.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = slot.as_ref() {
            return Ok(Arc::clone(c));
        }
        let c = Arc::new(Client::connect()?);
        *slot = Some(Arc::clone(&c));
        Ok(c)
    }

    /// Forgets a connection that failed, so the next call connects again (its sessions keep theirs).
    fn forget(&self, failed: &Arc<Client>) {
        let mut slot = self.client.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref().is_some_and(|c| Arc::ptr_eq(c, failed)) {
            *slot = None;
        }
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
            // SAFETY: NULL or writable by COM's contract for an out-parameter; NULL on every failure.
            unsafe { write(out, std::ptr::null_mut()) };
            // SAFETY: NULL or a NUL-terminated string.
            let handler = unsafe { c_string(handler) }?;
            if items.is_null() {
                // Spec §5.8: a NULL list is a bad argument, as an empty one is (the C library says E_POINTER).
                return Err(E_INVALIDARG);
            }
            // SAFETY: `count` readable pointers by the method's contract.
            let ptrs = unsafe { std::slice::from_raw_parts(items, count as usize) };
            // SAFETY: each NULL or a NUL-terminated string.
            let items = ptrs.iter().map(|&p| unsafe { c_string(p) }).collect::<Result<Vec<_>, _>>()?;
            let item_ptrs: Vec<_> = items.iter().map(ptr).collect();
            let client = self.client()?;
            let session = match client.session(ptr(&handler), &item_ptrs, out.is_null()) {
                Ok(session) => session,
                Err(hr) => {
                    if hr == E_FAIL {
                        // A lost connection (or a generic failure: connecting again then costs nothing).
                        self.forget(&client);
                    }
                    return Err(hr);
                }
            };
            if let Some(session) = session {
                let callback: ISyncMgrSyncCallback = Callback::new(session).into();
                // SAFETY: non-NULL (a session is made only then); writable by the caller's contract.
                unsafe { out.write(callback.into_raw()) };
            }
            Ok(S_OK)
        })
    }
}
