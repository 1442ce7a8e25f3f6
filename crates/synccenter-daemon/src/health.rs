//! Whether the store is currently failing to write (a full disk, an I/O error), shared by the writer, which
//! finds out, and the hub, which refuses new durable calls meanwhile instead of piling up changes it cannot
//! acknowledge. The writer keeps what it could not write and writes it first once a commit succeeds again.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// The store's state as the last commit left it.
#[derive(Debug, Default)]
pub(crate) struct StoreHealth {
    failing: AtomicBool,
    last_error: Mutex<String>,
}

impl StoreHealth {
    /// A commit succeeded: everything queued before it is on disk.
    pub(crate) fn recovered(&self) {
        if self.failing.swap(false, Ordering::SeqCst) {
            tracing::info!("the store writes again; the changes kept meanwhile are stored");
        }
    }

    /// A commit failed with `error`.
    pub(crate) fn failed(&self, error: String) {
        if let Ok(mut last) = self.last_error.lock() {
            *last = error;
        }
        self.failing.store(true, Ordering::SeqCst);
    }

    /// The last failure, while the store is failing.
    pub(crate) fn failure(&self) -> Option<String> {
        if !self.failing.load(Ordering::SeqCst) {
            return None;
        }
        Some(self.last_error.lock().map(|e| e.clone()).unwrap_or_default())
    }
}
