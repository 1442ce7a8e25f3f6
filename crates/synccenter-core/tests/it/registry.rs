//! Handler and item registry: behaviours 54–64 (names, default metadata when info is unavailable, kept state
//! on `E_NOTIMPL`/failure, item IDs, the item container, `HIDDEN_BY_DEFAULT`).

use synccenter_core::{
    AlwaysConfirm, ControlFlags, HResult, HandlerPolicies, HandlerSpec, HandlerType, ItemId, ItemSpec, SyncControlFlags,
};

use crate::support::{Fx, OWNER, assert_refused, handler_spec, hid, ids, iid, item_spec, sync_requests};

fn listed(fx: &Fx) -> Vec<String> {
    fx.c.handlers().map(|h| h.id.as_str().to_owned()).collect()
}

#[test]
fn b54_handler_without_name_is_not_listed_and_long_names_are_truncated() {
    let mut fx = Fx::new();
    assert_refused(&mut fx, HResult::E_POINTER, |c| c.register_handler(hid("N1"), HandlerSpec::default()));
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.register_handler(hid("N2"), handler_spec("")));
    assert_eq!(listed(&fx), ["H"]);
    let reqs = fx.c.start_all();
    assert_eq!(reqs.len(), 1);
    assert_eq!(sync_requests(&fx.take_notices()), [("H".to_owned(), vec!["A".into(), "B".into(), "C".into()])]);

    let long: String = (0..200).map(|i| char::from(b'A' + (i % 26) as u8)).collect();
    let h = fx.c.register_handler(hid("L"), handler_spec(&long)).unwrap();
    assert_eq!(h.name, long[..127]);
    assert_eq!(fx.c.handler(&hid("L")).unwrap().name.len(), 127);
}

#[test]
fn b55_missing_handler_info_gives_defaults_and_stays_synchronizable() {
    let mut fx = Fx::empty();
    let h =
        fx.c.register_handler(hid("H"), HandlerSpec { name: Some("Bare".into()), ..HandlerSpec::default() }).unwrap();
    assert_eq!(h.handler_type, HandlerType::Unspecified);
    assert_eq!(h.handler_type.number(), 0);
    assert_eq!((h.type_label.as_str(), h.comment.as_str()), ("", ""));
    assert!(h.active && h.enabled && h.connected);
    fx.c.register_item(&hid("H"), iid("A"), item_spec("A")).unwrap();
    assert_eq!(listed(&fx), ["H"]);
    fx.c.start_handler(&hid("H"), SyncControlFlags::empty(), None).unwrap();
    assert_eq!(sync_requests(&fx.take_notices()), [("H".to_owned(), vec!["A".into()])]);
}

#[test]
fn b56_unknown_connection_state_is_connected() {
    let mut fx = Fx::empty();
    let spec = HandlerSpec { name: Some("H".into()), connected: None, ..HandlerSpec::default() };
    assert!(fx.c.register_handler(hid("H"), spec).unwrap().connected);
    fx.c.register_item(&hid("H"), iid("A"), item_spec("A")).unwrap();
    let s = fx.c.create_session(OWNER, &hid("H"), &ids(&["A"])).unwrap();
    assert_eq!(fx.c.session(s).unwrap().items.len(), 1);
}

#[test]
fn b57_is_active_not_implemented_keeps_the_state_set_by_activate_handler() {
    let mut fx = Fx::new();
    let h = fx.h();
    // `UpdateHandler` with `IsActive` → E_NOTIMPL: the field is not supplied, so the state that
    // `ActivateHandler` set stands, whichever way it was set.
    fx.c.activate_handler(&h, false, ControlFlags::WAIT, &mut AlwaysConfirm).unwrap();
    assert!(!fx.c.handler(&h).unwrap().active, "inactive when the call returns");
    assert!(!fx.c.register_handler(h.clone(), HandlerSpec::default()).unwrap().active);
    assert!(!fx.c.handler(&h).unwrap().active, "still inactive: not listed in Sync Center");
    assert_refused(&mut fx, HResult::ERROR_NOT_READY, |c| c.start_handler(&h, SyncControlFlags::empty(), None));

    fx.c.activate_handler(&h, true, ControlFlags::WAIT, &mut AlwaysConfirm).unwrap();
    assert!(fx.c.handler(&h).unwrap().active, "active when the call returns");
    assert!(fx.c.register_handler(h.clone(), HandlerSpec::default()).unwrap().active);
    assert!(fx.c.handler(&h).unwrap().active);
    fx.c.start_handler(&h, SyncControlFlags::empty(), None).unwrap();
}

#[test]
fn b58_is_active_failing_keeps_last_known_active() {
    let mut fx = Fx::new();
    let h = fx.h();
    assert!(fx.c.handler(&h).unwrap().active);
    let updated = fx.c.register_handler(h.clone(), HandlerSpec { active: None, ..HandlerSpec::default() }).unwrap();
    assert!(updated.active);
    assert_eq!(updated.name, "Handler H", "other unsupplied fields are kept too");

    // The last known state is kept, not a default: a handler last known inactive stays inactive.
    let mut fx = Fx::with_handler(HandlerSpec { active: Some(false), ..handler_spec("Handler H") });
    let updated = fx.c.register_handler(h.clone(), HandlerSpec { active: None, ..HandlerSpec::default() }).unwrap();
    assert!(!updated.active);
    assert!(!fx.c.handler(&h).unwrap().active);
}

#[test]
fn b59_enable_handler_false_disables_and_start_does_not_synchronize() {
    let mut fx = Fx::new();
    let h = fx.h();
    fx.c.enable_handler(&h, false, ControlFlags::WAIT, &mut AlwaysConfirm).unwrap();
    fx.c.register_handler(h.clone(), HandlerSpec { enabled: None, ..HandlerSpec::default() }).unwrap();
    assert!(!fx.c.handler(&h).unwrap().enabled);
    assert_eq!(listed(&fx), ["H"], "still listed");
    fx.take_notices();
    assert_refused(&mut fx, HResult::ERROR_NOT_READY, |c| c.start_handler(&h, SyncControlFlags::empty(), None));
    assert!(fx.c.start_all().is_empty());
    assert!(sync_requests(&fx.take_notices()).is_empty());
}

#[test]
fn b60_item_with_empty_id_is_never_listed_or_synchronized() {
    let mut fx = Fx::new();
    let h = fx.h();
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| {
        let id = ItemId::new("")?;
        c.register_item(&h, id, item_spec("ghost"))
    });
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| {
        let id = ItemId::new("x".repeat(64))?;
        c.register_item(&h, id, item_spec("too long"))
    });
    assert_eq!(fx.c.item_count(&h).unwrap(), 3);
    fx.c.start_handler(&h, SyncControlFlags::empty(), None).unwrap();
    assert_eq!(sync_requests(&fx.take_notices()), [("H".to_owned(), vec!["A".into(), "B".into(), "C".into()])]);
}

#[test]
fn b61_item_without_info_is_listed_and_synchronized_with_defaults() {
    let mut fx = Fx::new();
    let h = fx.h();
    let item = fx.c.register_item(&h, iid("D"), ItemSpec { name: Some("D".into()), ..ItemSpec::default() }).unwrap();
    assert!(item.enabled && item.connected && !item.hidden);
    assert_eq!((item.type_label.as_str(), item.comment.as_str()), ("", ""));
    assert_eq!(item.last_sync(), None);
    fx.c.start_handler(&h, SyncControlFlags::empty(), None).unwrap();
    assert_eq!(
        sync_requests(&fx.take_notices()),
        [("H".to_owned(), vec!["A".into(), "B".into(), "C".into(), "D".into()])]
    );
}

#[test]
fn b62_get_sync_item_unknown_is_invalidarg() {
    let mut fx = Fx::new();
    let h = fx.h();
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.item(&h, &iid("unknown")).cloned());
    assert_eq!(fx.c.item(&h, &iid("B")).unwrap().name, "Item B");
}

#[test]
fn b63_item_count_matches_enumeration() {
    let mut fx = Fx::new();
    let h = fx.h();
    assert_eq!(fx.c.item_count(&h).unwrap(), 3);
    assert_eq!(fx.c.items(&h).unwrap().len(), 3);
    fx.c.register_item(&h, iid("D"), item_spec("D")).unwrap();
    assert_eq!(fx.c.item_count(&h).unwrap(), 4);
    assert_eq!(fx.c.items(&h).unwrap().iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["A", "B", "C", "D"]);
}

#[test]
fn b64_hidden_by_default_only_sets_the_first_value() {
    let spec = HandlerSpec { policies: Some(HandlerPolicies::HIDDEN_BY_DEFAULT), ..handler_spec("Handler H") };
    let mut fx = Fx::with_handler(spec.clone());
    let h = fx.h();
    assert!(fx.c.handler(&h).unwrap().hidden);
    fx.c.set_hidden(&h, None, false).unwrap();
    let updated = fx.c.register_handler(h.clone(), spec).unwrap();
    assert_eq!(updated.policies, HandlerPolicies::HIDDEN_BY_DEFAULT);
    assert!(!updated.hidden);
    assert!(!fx.c.handler(&h).unwrap().hidden);
}
