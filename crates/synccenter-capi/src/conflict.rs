//! Conflicts a session finds (spec §1.8, §2.18; `session.report_conflict`). A conflict has more fields than a C
//! function should take in a row, and versions of which there are two or more, so it is built in an opaque
//! `sc_conflict` (name, description, resolution abilities, then one call per version) that
//! `sc_session_report_conflict` sends: a builder can gain fields later without changing any signature. The
//! abilities and version types are the spec's masks (§3.4.1, §3.4.2), which the wire spells as names.
//! `sc_client_remove_conflicts` is the store's report that conflicts are gone (§5.33: only the owner removes them).

use std::ffi::c_char;

use synccenter_client::methods::{ConflictVersionWire, ReportConflictParams};

use crate::client::{ScClient, client_ref};
use crate::hresult::{Failure, SC_E_INVALIDARG, SC_S_OK, ScHresult, guard, optional, required, to_c_string};
use crate::session::{ScSession, id_list, session_ref, write_out};

/// `SYNCMGR_RA_KEEPOTHER`: the conflict can be resolved by keeping another (merged) item.
pub const SC_RA_KEEPOTHER: u32 = 0x1;
/// `SYNCMGR_RA_KEEPRECENT`: the most recent version can be kept.
pub const SC_RA_KEEPRECENT: u32 = 0x2;
/// `SYNCMGR_RA_REMOVEFROMSYNCSET`: the item can be removed from the sync set.
pub const SC_RA_REMOVEFROMSYNCSET: u32 = 0x4;
/// `SYNCMGR_RA_KEEP_SINGLE`: one version can be kept.
pub const SC_RA_KEEP_SINGLE: u32 = 0x8;
/// `SYNCMGR_RA_KEEP_MULTIPLE`: several versions can be kept.
pub const SC_RA_KEEP_MULTIPLE: u32 = 0x10;
/// `SYNCMGR_RA_VALID`: every resolution ability.
pub const SC_RA_VALID: u32 = 0x1F;
/// `SYNCMGR_CIT_UPDATED`: this version was updated.
pub const SC_CIT_UPDATED: u32 = 0x1;
/// `SYNCMGR_CIT_DELETED`: this version was deleted.
pub const SC_CIT_DELETED: u32 = 0x2;

const ABILITIES: [(u32, &str); 5] = [
    (SC_RA_KEEPOTHER, "keep_other"),
    (SC_RA_KEEPRECENT, "keep_recent"),
    (SC_RA_REMOVEFROMSYNCSET, "remove_from_sync_set"),
    (SC_RA_KEEP_SINGLE, "keep_single"),
    (SC_RA_KEEP_MULTIPLE, "keep_multiple"),
];
const VERSION_TYPES: [(u32, &str); 2] = [(SC_CIT_UPDATED, "updated"), (SC_CIT_DELETED, "deleted")];

/// The wire's names of the bits of `mask`; a bit the spec does not define is `SC_E_INVALIDARG` (§5.5).
fn names(mask: u32, table: &[(u32, &str)], what: &str) -> Result<Vec<String>, Failure> {
    let valid = table.iter().fold(0, |all, (bit, _)| all | bit);
    if mask & !valid != 0 {
        return Err(Failure::new(SC_E_INVALIDARG, format!("{what} 0x{mask:x} has bits outside 0x{valid:x}")));
    }
    Ok(table.iter().filter(|(bit, _)| mask & bit != 0).map(|(_, name)| (*name).to_owned()).collect())
}

/// A conflict being described. Create with `sc_conflict_new`, add versions with `sc_conflict_add_version`,
/// report with `sc_session_report_conflict`, free with `sc_conflict_free`.
#[derive(Debug)]
pub struct ScConflict {
    name: String,
    description: String,
    abilities: Vec<String>,
    versions: Vec<ConflictVersionWire>,
}

/// A new conflict named `name` (required) with `description` (NULL: none) and `abilities`, a mask of
/// `SC_RA_*` (`SYNCMGR_RESOLUTION_ABILITIES`), written to `*out`. `SC_E_POINTER` for a NULL `name` or `out`,
/// `SC_E_INVALIDARG` for a bit outside `SC_RA_VALID` or a string that is not UTF-8.
///
/// # Safety
/// Strings are NULL or NUL-terminated; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sc_conflict_new(
    name: *const c_char,
    description: *const c_char,
    abilities: u32,
    out: *mut *mut ScConflict,
) -> ScHresult {
    guard(|| {
        // SAFETY (both): the caller's contract.
        let name = unsafe { required(name, "name") }?.to_owned();
        let description = unsafe { optional(description, "description") }?.unwrap_or_default().to_owned();
        let abilities = names(abilities, &ABILITIES, "abilities")?;
        if out.is_null() {
            return Err(Failure::null("out"));
        }
        let conflict = ScConflict { name, description, abilities, versions: Vec::new() };
        // SAFETY: checked non-NULL; writable by the caller's contract.
        unsafe { *out = Box::into_raw(Box::new(conflict)) };
        Ok(SC_S_OK)
    })
}

/// Adds one version (`CONFIRM_CONFLICT_ITEM`): where it is (`location_short`, `location_full`, required), `types`
/// a mask of `SC_CIT_*`, its name (`original_name`, NULL: the location's own) and the name to give it when several
/// versions are kept (`alternate_name`, NULL: none), when it was last modified (`modified`, an RFC 3339 time,
/// NULL: unknown; the daemon checks it) and its size in bytes (`size`, NULL: unknown). `SC_E_POINTER` for a NULL
/// `conflict` or location, `SC_E_INVALIDARG` for a bit outside `SC_CIT_UPDATED | SC_CIT_DELETED` or a string
/// that is not UTF-8; the conflict is unchanged then.
///
/// # Safety
/// `conflict` is NULL or a live conflict no other thread is using; strings are NULL or NUL-terminated; `size` is
/// NULL or readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sc_conflict_add_version(
    conflict: *mut ScConflict,
    location_short: *const c_char,
    location_full: *const c_char,
    types: u32,
    original_name: *const c_char,
    alternate_name: *const c_char,
    modified: *const c_char,
    size: *const u64,
) -> ScHresult {
    guard(|| {
        // SAFETY (all): the caller's contract.
        let conflict = unsafe { conflict.as_mut() }.ok_or_else(|| Failure::null("conflict"))?;
        let own = |p, what| unsafe { optional(p, what) }.map(|o| o.map(str::to_owned));
        let version = ConflictVersionWire {
            location_short: unsafe { required(location_short, "location_short") }?.to_owned(),
            location_full: unsafe { required(location_full, "location_full") }?.to_owned(),
            types: names(types, &VERSION_TYPES, "types")?,
            original_name: own(original_name, "original_name")?,
            alternate_name: own(alternate_name, "alternate_name")?,
            modified: own(modified, "modified")?,
            size: unsafe { size.as_ref() }.copied(),
        };
        conflict.versions.push(version);
        Ok(SC_S_OK)
    })
}

/// Frees a conflict (reported or not). NULL is ignored.
///
/// # Safety
/// `conflict` is NULL or a conflict from `sc_conflict_new` not yet freed, and no other thread is using it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sc_conflict_free(conflict: *mut ScConflict) {
    if !conflict.is_null() {
        guard(|| {
            // SAFETY: made by `Box::into_raw` in `sc_conflict_new`, freed once by the caller's contract.
            drop(unsafe { Box::from_raw(conflict) });
            Ok(SC_S_OK)
        });
    }
}

/// Reports `conflict` as found by this session for `item` (NULL: the handler as a whole) and writes its ID to
/// `*conflict_id` (free it with `sc_string_free`) when not NULL. `key` (NULL: none) is the owner's own name for it:
/// reporting the same key again updates that conflict. The conflict stays listed until the owner removes it
/// (`sc_client_remove_conflicts`); the `conflict` handle may be reported again or freed. `SC_E_POINTER` for a
/// NULL `session` or `conflict`; `SC_E_INVALIDARG` for fewer than two versions, an item not in the session or a
/// bad time; `SC_E_OUTOFMEMORY` for more versions than the daemon allows.
///
/// # Safety
/// `session` is NULL or live; `conflict` is NULL or live; strings are NULL or NUL-terminated; `conflict_id` is
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sc_session_report_conflict(
    session: *const ScSession,
    item: *const c_char,
    key: *const c_char,
    conflict: *const ScConflict,
    conflict_id: *mut *mut c_char,
) -> ScHresult {
    guard(|| {
        // SAFETY (all): the caller's contract.
        let s = unsafe { session_ref(session) }?;
        let item = unsafe { optional(item, "item") }?.map(str::to_owned);
        let key = unsafe { optional(key, "key") }?.map(str::to_owned);
        let conflict = unsafe { conflict.as_ref() }.ok_or_else(|| Failure::null("conflict"))?;
        let params = ReportConflictParams {
            session: String::new(),
            item,
            key,
            name: conflict.name.clone(),
            description: conflict.description.clone(),
            versions: conflict.versions.clone(),
            abilities: conflict.abilities.clone(),
        };
        let live = s.live()?;
        let id = s.inner.block_on(live.report_conflict(params))??;
        if !conflict_id.is_null() {
            // SAFETY: the caller's contract.
            unsafe { write_out(conflict_id, to_c_string(id)?) };
        }
        Ok(SC_S_OK)
    })
}

/// Removes the `n` conflicts of `conflicts` (IDs as `sc_session_report_conflict` returned): the owner's report that
/// they are gone, resolved or not (`conflicts.remove`). All must exist, else none is removed and the answer is
/// `SC_E_INVALIDARG`; `SC_E_POINTER` for a NULL `client`, array or ID.
///
/// # Safety
/// `client` is NULL or live; `conflicts` is NULL or holds `n` pointers, each NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sc_client_remove_conflicts(
    client: *const ScClient,
    conflicts: *const *const c_char,
    n: usize,
) -> ScHresult {
    guard(|| {
        // SAFETY (both): the caller's contract.
        let client = unsafe { client_ref(client) }?;
        let ids = unsafe { id_list(conflicts, n, "conflicts", "a conflict ID") }?;
        client.inner.block_on(client.inner.client.remove_conflicts(ids))??;
        Ok(SC_S_OK)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_become_the_wire_names_and_undefined_bits_are_refused() {
        assert_eq!(
            names(SC_RA_KEEPRECENT | SC_RA_KEEP_SINGLE, &ABILITIES, "a").ok(),
            Some(vec!["keep_recent".to_owned(), "keep_single".to_owned()])
        );
        assert_eq!(names(SC_RA_VALID, &ABILITIES, "a").map(|n| n.len()).ok(), Some(5));
        assert_eq!(names(0x20, &ABILITIES, "a").map_err(|f| f.hresult).err(), Some(SC_E_INVALIDARG));
        assert_eq!(names(SC_CIT_DELETED, &VERSION_TYPES, "t").ok(), Some(vec!["deleted".to_owned()]));
        assert_eq!(names(0x4, &VERSION_TYPES, "t").map_err(|f| f.hresult).err(), Some(SC_E_INVALIDARG));
    }
}
