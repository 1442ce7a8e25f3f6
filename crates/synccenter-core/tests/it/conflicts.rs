//! Conflicts: behaviours 77–80 (`GetProperty` of an unknown key, resolution does not remove a conflict,
//! `EnumConflicts` scopes, `KeepItems` with several versions needs `KEEP_MULTIPLE`).

use synccenter_core::{
    ConflictItemType, ConflictVersion, HResult, KeptVersion, NewConflict, Notice, ResolutionAbilities, ResolutionChoice,
};

use crate::support::{Fx, assert_refused, iid};

fn conflict(item: Option<&str>, name: &str, abilities: ResolutionAbilities) -> NewConflict {
    let v = |loc: &str| ConflictVersion {
        location_short: loc.into(),
        location_full: format!("/{loc}/{name}"),
        item_type: ConflictItemType::UPDATED,
        ..ConflictVersion::default()
    };
    NewConflict {
        item: item.map(iid),
        name: name.into(),
        description: format!("{name} changed in two places"),
        versions: vec![v("here"), v("there")],
        abilities,
        ..NewConflict::default()
    }
}

fn keep(indexes: &[usize]) -> ResolutionChoice {
    ResolutionChoice::KeepItems(indexes.iter().map(|&index| KeptVersion { index, new_name: None }).collect())
}

#[test]
fn b77_unknown_property_is_empty_not_an_error() {
    let mut fx = Fx::new();
    let id = fx.c.add_conflict(&fx.h(), conflict(Some("A"), "doc.txt", ResolutionAbilities::empty())).unwrap();
    let c = fx.c.conflict(id).unwrap();
    assert_eq!(c.property("System.No.Such.Key"), None);
    assert_eq!(c.property("System.ItemNameDisplay").as_deref(), Some("doc.txt"));
    assert_eq!(c.property("System.Sync.ItemID").as_deref(), Some("A"));
}

#[test]
fn b78_resolved_conflict_stays_listed_until_the_store_removes_it() {
    let mut fx = Fx::new();
    let h = fx.h();
    let id = fx.c.add_conflict(&h, conflict(Some("A"), "doc.txt", ResolutionAbilities::empty())).unwrap();
    let outcome = fx.c.resolve_conflict(id, keep(&[1]), false).unwrap();
    assert_eq!(outcome.recorded, vec![id]);
    let notices = fx.take_notices();
    assert_eq!(
        notices,
        vec![Notice::ResolutionRequested {
            conflict: id,
            handler: h.clone(),
            item: Some(iid("A")),
            choice: keep(&[1])
        }]
    );
    let listed = fx.c.conflicts(Some(&h), None);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].resolution.as_ref().map(|r| r.choice.clone()), Some(keep(&[1])));
    assert_eq!(fx.c.conflict_count(&h), 1);
    fx.c.remove_conflicts(&[id]).unwrap();
    assert!(fx.c.conflicts(Some(&h), None).is_empty());
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.conflict(id).cloned());
}

#[test]
fn b79_enum_conflicts_by_handler_and_by_item() {
    let mut fx = Fx::new();
    let h = fx.h();
    fx.add_handler("H2", crate::support::handler_spec("Other"), &["A"]);
    let none = ResolutionAbilities::empty();
    let on_h = fx.c.add_conflict(&h, conflict(None, "h.txt", none)).unwrap();
    let on_a = fx.c.add_conflict(&h, conflict(Some("A"), "a.txt", none)).unwrap();
    let on_b = fx.c.add_conflict(&h, conflict(Some("B"), "b.txt", none)).unwrap();
    let other = fx.c.add_conflict(&crate::support::hid("H2"), conflict(Some("A"), "x.txt", none)).unwrap();
    let mut all: Vec<_> = fx.c.conflicts(Some(&h), None).iter().map(|c| c.id).collect();
    all.sort();
    let mut want = vec![on_h, on_a, on_b];
    want.sort();
    assert_eq!(all, want);
    let only_a: Vec<_> = fx.c.conflicts(Some(&h), Some(&iid("A"))).iter().map(|c| c.id).collect();
    assert_eq!(only_a, vec![on_a]);
    assert!(!only_a.contains(&other));
    assert_eq!(fx.c.conflict_count(&h), 3);
}

#[test]
fn b80_keeping_several_versions_needs_keep_multiple() {
    let mut fx = Fx::new();
    let h = fx.h();
    let single = fx.c.add_conflict(&h, conflict(Some("A"), "one.txt", ResolutionAbilities::empty())).unwrap();
    let multi = fx.c.add_conflict(&h, conflict(Some("B"), "two.txt", ResolutionAbilities::KEEP_MULTIPLE)).unwrap();
    fx.c.take_changes();
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.resolve_conflict(single, keep(&[0, 1]), false));
    assert_eq!(fx.c.conflict(single).unwrap().resolution, None);
    fx.c.resolve_conflict(single, keep(&[0]), false).unwrap();
    fx.c.resolve_conflict(multi, keep(&[0, 1]), false).unwrap();
    let notices = fx.take_notices();
    let kept: Vec<usize> = notices
        .iter()
        .filter_map(|n| match n {
            Notice::ResolutionRequested { conflict, choice: ResolutionChoice::KeepItems(v), .. }
                if *conflict == multi =>
            {
                Some(v.len())
            }
            _ => None,
        })
        .collect();
    assert_eq!(kept, [2]);
}
