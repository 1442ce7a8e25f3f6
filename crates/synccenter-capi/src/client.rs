//! `sc_client`: one connection to the daemon and the tokio runtime that drives it. Every call blocks the
//! calling C thread on that runtime until the daemon answers, so C sees plain synchronous functions while the
//! client's reader keeps receiving pushes (stops) in the background.

use std::ffi::c_char;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use synccenter_client::Client;
use tokio::runtime::Runtime;

use crate::hresult::{Failure, SC_E_FAIL, SC_S_OK, ScHresult, guard, optional};

/// A connection to the daemon. Create with `sc_client_new`, free with `sc_client_free`.
#[derive(Debug)]
pub struct ScClient {
    pub(crate) inner: Arc<Inner>,
}

/// What a client and its sessions share; the runtime lives until the last of them is freed.
#[derive(Debug)]
pub(crate) struct Inner {
    // Dropped before the runtime (field order), so the connection's shutdown is queued on a live runtime.
    pub(crate) client: Client,
    pub(crate) runtime: Runtime,
}

impl Inner {
    /// Runs `f` to completion on the runtime from the calling (C) thread.
    pub(crate) fn block_on<F: Future>(&self, f: F) -> Result<F::Output, Failure> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Failure::new(SC_E_FAIL, "libsynccenter called from its own thread (a cancel callback)"));
        }
        Ok(self.runtime.block_on(f))
    }
}

/// Connects to the daemon at `socket_path` (NULL: the default socket, `SYNCCENTER_SOCKET`, else
/// `$XDG_RUNTIME_DIR/synccenter/synccenter.sock`, else `/tmp/synccenter-$UID/synccenter.sock`) and writes the new
/// client to `*out`. Fails with `SC_E_POINTER` when `out` is NULL, `SC_E_INVALIDARG` when the path is not UTF-8,
/// `SC_E_FAIL` when no daemon answers.
///
/// # Safety
/// `socket_path` is NULL or a NUL-terminated string; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sc_client_new(socket_path: *const c_char, out: *mut *mut ScClient) -> ScHresult {
    guard(|| {
        if out.is_null() {
            return Err(Failure::null("out"));
        }
        // SAFETY: the caller's contract.
        let path = unsafe { optional(socket_path, "socket_path") }?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("synccenter-capi")
            .enable_all()
            .build()
            .map_err(|e| Failure::new(SC_E_FAIL, format!("cannot start the library's runtime: {e}")))?;
        let client = runtime.block_on(async {
            match path {
                Some(p) => Client::connect(Path::new(p)).await,
                None => Client::connect_default().await,
            }
        })?;
        let handle = Box::new(ScClient { inner: Arc::new(Inner { client, runtime }) });
        // SAFETY: checked non-NULL; writable by the caller's contract.
        unsafe { *out = Box::into_raw(handle) };
        Ok(SC_S_OK)
    })
}

/// Frees a client. Its sessions stay usable until they are freed themselves. NULL is ignored.
///
/// # Safety
/// `client` is NULL or a client from `sc_client_new` not yet freed, and no other thread is using it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sc_client_free(client: *mut ScClient) {
    if !client.is_null() {
        // SAFETY: made by `Box::into_raw` in `sc_client_new`, freed once by the caller's contract.
        guard(|| {
            drop(unsafe { Box::from_raw(client) });
            Ok(SC_S_OK)
        });
    }
}

/// The client behind a handle pointer.
///
/// # Safety
/// `client` is NULL or a live client.
pub(crate) unsafe fn client_ref<'a>(client: *const ScClient) -> Result<&'a ScClient, Failure> {
    // SAFETY: the caller's contract.
    unsafe { client.as_ref() }.ok_or_else(|| Failure::null("client"))
}
