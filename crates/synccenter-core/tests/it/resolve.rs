//! Conflict bookkeeping beyond behaviours 77–80 (§2.18, §5.33): how many versions a conflict may have, the
//! owner's key that updates a conflict in place, and what "apply to all" reaches.

use synccenter_core::{
    ConflictId, ConflictItemType, ConflictVersion, HResult, MAX_CONFLICT_VERSIONS, NewConflict, ResolutionAbilities,
    ResolutionChoice,
};

use crate::support::{Fx, assert_refused, handler_spec, hid};

fn versions(kinds: &[ConflictItemType]) -> Vec<ConflictVersion> {
    kinds.iter().map(|&item_type| ConflictVersion { item_type, ..ConflictVersion::default() }).collect()
}

fn new(key: Option<&str>, name: &str, kinds: &[ConflictItemType], abilities: ResolutionAbilities) -> NewConflict {
    NewConflict {
        item: None,
        key: key.map(str::to_owned),
        name: name.into(),
        description: String::new(),
        versions: versions(kinds),
        abilities,
    }
}

const U: ConflictItemType = ConflictItemType::UPDATED;
const D: ConflictItemType = ConflictItemType::DELETED;

fn add(fx: &mut Fx, handler: &str, n: NewConflict) -> ConflictId {
    fx.c.add_conflict(&hid(handler), n).expect("conflict")
}

#[test]
fn a_conflict_has_between_two_and_the_maximum_versions() {
    let mut fx = Fx::new();
    let h = fx.h();
    let any = ResolutionAbilities::KEEP_RECENT;
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.add_conflict(&h, new(None, "one", &[U], any)));
    add(&mut fx, "H", new(None, "two", &[U, U], any));
    add(&mut fx, "H", new(None, "three", &[U, U, D], any));
    add(&mut fx, "H", new(None, "max", &vec![U; MAX_CONFLICT_VERSIONS], any));
    assert_refused(&mut fx, HResult::E_OUTOFMEMORY, |c| {
        c.add_conflict(&h, new(None, "too many", &vec![U; MAX_CONFLICT_VERSIONS + 1], any))
    });
    assert_eq!(fx.c.conflict_count(&h), 3);
}

#[test]
fn the_same_key_of_the_same_handler_updates_the_conflict_and_clears_its_resolution() {
    let mut fx = Fx::new();
    fx.add_handler("H2", handler_spec("Handler H2"), &[]);
    let recent = ResolutionAbilities::KEEP_RECENT;
    let first = add(&mut fx, "H", new(Some("k"), "old name", &[U, U], recent));
    fx.c.resolve_conflict(first, ResolutionChoice::KeepRecent, false).unwrap();

    let again = add(&mut fx, "H", new(Some("k"), "new name", &[U, D], recent));
    assert_eq!(again, first, "same key, same conflict");
    let c = fx.c.conflict(first).unwrap();
    assert_eq!((c.name.as_str(), c.resolution.is_none()), ("new name", true));

    let other_key = add(&mut fx, "H", new(Some("k2"), "other", &[U, U], recent));
    let no_key = add(&mut fx, "H", new(None, "unkeyed", &[U, U], recent));
    let other_handler = add(&mut fx, "H2", new(Some("k"), "elsewhere", &[U, U], recent));
    let all = [first, other_key, no_key, other_handler];
    for (i, a) in all.iter().enumerate() {
        assert!(all[i + 1..].iter().all(|b| b != a), "distinct conflicts: {all:?}");
    }
    assert_eq!(fx.c.conflict(first).unwrap().name, "new name", "H2's key k is its own");
    assert_eq!(fx.c.conflict_count(&hid("H")), 3);
}

#[test]
fn apply_to_all_reaches_only_unresolved_conflicts_of_the_same_handler_and_kind() {
    let mut fx = Fx::new();
    fx.add_handler("H2", handler_spec("Handler H2"), &[]);
    let recent = ResolutionAbilities::KEEP_RECENT;
    let origin = add(&mut fx, "H", new(None, "origin", &[U, D], recent));
    let same = add(&mut fx, "H", new(None, "same kind", &[U, D], recent));
    let resolved = add(&mut fx, "H", new(None, "already resolved", &[U, D], recent));
    let other_kind = add(&mut fx, "H", new(None, "other kind", &[U, U], recent));
    let other_handler = add(&mut fx, "H2", new(None, "other handler", &[U, D], recent));
    let not_allowed = add(&mut fx, "H", new(None, "cannot keep recent", &[U, D], ResolutionAbilities::KEEP_OTHER));
    fx.c.resolve_conflict(resolved, ResolutionChoice::KeepRecent, false).unwrap();
    let resolved_at = fx.c.conflict(resolved).unwrap().resolution.clone();

    let outcome = fx.c.resolve_conflict(origin, ResolutionChoice::KeepRecent, true).unwrap();
    assert_eq!(outcome.recorded, [origin, same]);
    assert_eq!(outcome.needs_attention, [not_allowed]);
    assert_eq!(fx.c.conflict(origin).unwrap().resolution.as_ref().unwrap().applied_from, None);
    assert_eq!(fx.c.conflict(same).unwrap().resolution.as_ref().unwrap().applied_from, Some(origin));
    assert_eq!(fx.c.conflict(resolved).unwrap().resolution, resolved_at, "an earlier decision stays");
    for untouched in [other_kind, other_handler, not_allowed] {
        assert_eq!(fx.c.conflict(untouched).unwrap().resolution, None);
    }
}
