//! The Windows half of `com_registration`: the keys and values it writes and removes, through `win32_registry`.
//! What was done is recorded as values of synccenter's own class key before it is done, so that an unregister
//! after a failure halfway still finds it; the class key itself goes last.

use std::io;

use super::{
    CLASS_NAME, ComRegistrationError, Registered, Registration, SYNCCENTER_CLSID, SYNCMGR_CLIENT_CLSID, Scope,
    Unregistered, clsid_text,
};
use crate::win32_registry::{self as reg, Hive, Key};

const CLASSES: &str = r"Software\Classes\CLSID";
/// Recorded on synccenter's key: a `TreatAs` under `CLSID_SyncMgrClient` was written by synccenter.
const TOOK_OVER: &str = "SynccenterTookOver";
/// Recorded on synccenter's key: the `CLSID_SyncMgrClient` key itself was created by synccenter (Wine).
const CREATED_CLIENT_KEY: &str = "SynccenterCreatedClientKey";

fn hive(scope: Scope) -> Hive {
    match scope {
        Scope::User => Hive::User,
        Scope::Machine => Hive::Machine,
    }
}

fn ours() -> String {
    format!(r"{CLASSES}\{}", clsid_text(SYNCCENTER_CLSID))
}

fn client() -> String {
    format!(r"{CLASSES}\{}", clsid_text(SYNCMGR_CLIENT_CLSID))
}

fn failed(scope: Scope, what: &str, path: &str) -> impl FnOnce(io::Error) -> ComRegistrationError {
    let what = format!(r"{what} {}\{path}", scope.hive());
    move |source| ComRegistrationError::Registry { what, source }
}

pub(super) fn supported() -> Result<(), ComRegistrationError> {
    Ok(())
}

pub(super) fn register(r: &Registration) -> Result<Registered, ComRegistrationError> {
    let dll = r.dll.to_str().ok_or_else(|| ComRegistrationError::NoDll(r.dll.clone()))?;
    let previous = unregister(r.scope)?;
    match write(r, dll) {
        Ok(()) => Ok(Registered {
            key: format!(r"{}\{}", r.scope.hive(), ours()),
            took_over: r.take_over,
            replaced: previous.removed,
        }),
        Err(e) => {
            // Undo whatever was written and recorded before the failure.
            let _ = unregister(r.scope);
            Err(e)
        }
    }
}

fn write(r: &Registration, dll: &str) -> Result<(), ComRegistrationError> {
    let (h, path) = (hive(r.scope), ours());
    let (key, _) = reg::create(h, &path).map_err(failed(r.scope, "create", &path))?;
    key.set_string(None, CLASS_NAME).map_err(failed(r.scope, "write", &path))?;
    let inproc = format!(r"{path}\InprocServer32");
    let (server, _) = reg::create(h, &inproc).map_err(failed(r.scope, "create", &inproc))?;
    server.set_string(None, dll).map_err(failed(r.scope, "write", &inproc))?;
    server.set_string(Some("ThreadingModel"), "Both").map_err(failed(r.scope, "write", &inproc))?;
    if r.take_over {
        take_over(r.scope, &key)?;
    }
    Ok(())
}

/// Points `CLSID_SyncMgrClient` at synccenter's class, recording each step on synccenter's `key` first.
fn take_over(scope: Scope, key: &Key) -> Result<(), ComRegistrationError> {
    let (h, ours_path, client) = (hive(scope), ours(), client());
    let treat_as = format!(r"{client}\TreatAs");
    let target = clsid_text(SYNCCENTER_CLSID);
    if let Some(existing) = reg::open(h, &treat_as).map_err(failed(scope, "open", &treat_as))? {
        let value = existing.get_string(None).map_err(failed(scope, "read", &treat_as))?.unwrap_or_default();
        if !value.eq_ignore_ascii_case(&target) {
            return Err(ComRegistrationError::TreatAsTaken {
                key: format!(r"{}\{treat_as}", scope.hive()),
                existing: value,
            });
        }
    }
    if reg::open(h, &client).map_err(failed(scope, "open", &client))?.is_none() {
        key.set_string(Some(CREATED_CLIENT_KEY), "1").map_err(failed(scope, "write", &ours_path))?;
    }
    key.set_string(Some(TOOK_OVER), "1").map_err(failed(scope, "write", &ours_path))?;
    let (t, _) = reg::create(h, &treat_as).map_err(failed(scope, "create", &treat_as))?;
    t.set_string(None, &target).map_err(failed(scope, "write", &treat_as))
}

pub(super) fn unregister(scope: Scope) -> Result<Unregistered, ComRegistrationError> {
    let (h, path, client) = (hive(scope), ours(), client());
    let Some(key) = reg::open(h, &path).map_err(failed(scope, "open", &path))? else {
        return Ok(Unregistered { removed: false, take_over_undone: false });
    };
    let took_over = key.get_string(Some(TOOK_OVER)).map_err(failed(scope, "read", &path))?.is_some();
    let created_client = key.get_string(Some(CREATED_CLIENT_KEY)).map_err(failed(scope, "read", &path))?.is_some();
    drop(key);
    let mut take_over_undone = false;
    if took_over {
        let treat_as = format!(r"{client}\TreatAs");
        let points_at_us = match reg::open(h, &treat_as).map_err(failed(scope, "open", &treat_as))? {
            Some(t) => t
                .get_string(None)
                .map_err(failed(scope, "read", &treat_as))?
                .is_some_and(|v| v.eq_ignore_ascii_case(&clsid_text(SYNCCENTER_CLSID))),
            None => false,
        };
        if points_at_us {
            reg::delete_empty(h, &treat_as).map_err(failed(scope, "delete", &treat_as))?;
            take_over_undone = true;
        }
    }
    if created_client {
        // Only if nothing else was put in it since: Windows refuses to delete a key with subkeys.
        let _ = reg::delete_empty(h, &client);
    }
    reg::delete_tree(h, &path).map_err(failed(scope, "delete", &path))?;
    Ok(Unregistered { removed: true, take_over_undone })
}
