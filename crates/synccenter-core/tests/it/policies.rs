//! Enabling, disabling, stopping and removing under the handler's and items' policies (§2.13–2.16, §5.7):
//! each forbidding policy refuses on its own and changes nothing; a handler is removed only without a live
//! session, and only its own conflicts go with it.

use synccenter_core::{
    AlwaysConfirm, Change, ConflictItemType, ConflictVersion, ControlFlags, HResult, HandlerCapabilities,
    HandlerPolicies, HandlerSpec, ItemCapabilities, ItemPolicies, ItemSpec, NewConflict, Notice, ResolutionAbilities,
};

use crate::support::{Fx, assert_refused, handler_spec, hid, iid};

fn handler_with(policies: HandlerPolicies, enabled: bool) -> Fx {
    Fx::with_handler(HandlerSpec { policies: Some(policies), enabled: Some(enabled), ..handler_spec("Handler H") })
}

#[test]
fn each_handler_enable_or_disable_policy_refuses_on_its_own() {
    for (policy, enable) in [
        (HandlerPolicies::PREVENT_ENABLE, true),
        (HandlerPolicies::DISABLE_ENABLE, true),
        (HandlerPolicies::PREVENT_DISABLE, false),
        (HandlerPolicies::DISABLE_DISABLE, false),
    ] {
        let mut fx = handler_with(policy, !enable);
        let h = fx.h();
        assert_refused(&mut fx, HResult::E_ACCESSDENIED, |c| {
            c.enable_handler(&h, enable, ControlFlags::empty(), &mut AlwaysConfirm)
        });
        assert_eq!(fx.c.handler(&h).unwrap().enabled, !enable, "{policy:?}");
    }
}

#[test]
fn each_item_enable_or_disable_policy_refuses_on_its_own() {
    for (policy, enable) in [
        (ItemPolicies::PREVENT_ENABLE, true),
        (ItemPolicies::DISABLE_ENABLE, true),
        (ItemPolicies::PREVENT_DISABLE, false),
        (ItemPolicies::DISABLE_DISABLE, false),
    ] {
        let mut fx = Fx::new();
        let h = fx.h();
        let spec = ItemSpec { policies: Some(policy), enabled: Some(!enable), ..ItemSpec::default() };
        fx.c.register_item(&h, iid("A"), spec).unwrap();
        fx.c.take_changes();
        assert_refused(&mut fx, HResult::E_ACCESSDENIED, |c| {
            c.enable_item(&h, &iid("A"), enable, ControlFlags::empty(), &mut AlwaysConfirm)
        });
        assert_eq!(fx.c.item(&h, &iid("A")).unwrap().enabled, !enable, "{policy:?}");
    }
}

#[test]
fn always_confirm_consents_where_the_handler_asks_first() {
    let spec = HandlerSpec {
        enabled: Some(false),
        capabilities: Some(HandlerCapabilities::QUERY_BEFORE_ENABLE),
        ..handler_spec("Handler H")
    };
    let mut fx = Fx::with_handler(spec);
    let h = fx.h();
    fx.c.enable_handler(&h, true, ControlFlags::empty(), &mut AlwaysConfirm).expect("confirmed");
    assert!(fx.c.handler(&h).unwrap().enabled);

    let spec = ItemSpec { capabilities: Some(ItemCapabilities::QUERY_BEFORE_DISABLE), ..ItemSpec::default() };
    fx.c.register_item(&h, iid("A"), spec).unwrap();
    fx.c.enable_item(&h, &iid("A"), false, ControlFlags::empty(), &mut AlwaysConfirm).expect("confirmed");
    assert!(!fx.c.item(&h, &iid("A")).unwrap().enabled);
}

fn cancel_requests(notices: &[Notice]) -> usize {
    notices.iter().filter(|n| matches!(n, Notice::CancelRequested { .. })).count()
}

#[test]
fn stopping_an_item_asks_only_the_sessions_that_have_it_and_only_once() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    fx.take_notices();
    fx.c.stop_items(&fx.h(), &[iid("B")]).expect("stop B");
    assert_eq!(cancel_requests(&fx.take_notices()), 0, "B is in no session");
    fx.c.stop_items(&fx.h(), &[iid("A")]).expect("stop A");
    assert_eq!(cancel_requests(&fx.take_notices()), 1);
    fx.c.stop_items(&fx.h(), &[iid("A")]).expect("stop A again");
    assert_eq!(cancel_requests(&fx.take_notices()), 0, "already asked");
    assert!(fx.c.session(s).is_ok());
}

#[test]
fn after_a_handler_stop_an_item_stop_asks_nothing_more() {
    let mut fx = Fx::new();
    fx.session(&["A", "B"]);
    fx.c.stop_handler(&fx.h()).expect("stop H");
    fx.take_notices();
    fx.c.stop_items(&fx.h(), &[iid("A")]).expect("stop A");
    assert_eq!(cancel_requests(&fx.take_notices()), 0, "the session is already asked to cancel everything");
}

fn conflict_of(fx: &mut Fx, handler: &str) -> synccenter_core::ConflictId {
    let version = ConflictVersion { item_type: ConflictItemType::UPDATED, ..ConflictVersion::default() };
    let new = NewConflict {
        item: None,
        key: None,
        name: format!("conflict of {handler}"),
        description: String::new(),
        versions: vec![version.clone(), version],
        abilities: ResolutionAbilities::KEEP_RECENT,
    };
    fx.c.add_conflict(&hid(handler), new).expect("conflict")
}

#[test]
fn removing_a_handler_takes_its_items_and_conflicts_but_no_other_handlers() {
    let mut fx = Fx::new();
    fx.add_handler("H2", handler_spec("Handler H2"), &["X"]);
    let mine = conflict_of(&mut fx, "H");
    let theirs = conflict_of(&mut fx, "H2");
    fx.c.take_changes();

    fx.c.remove_handler(&fx.h()).expect("remove");
    assert_eq!(fx.c.take_changes(), [Change::HandlerDeleted(hid("H"))]);
    assert_refused(&mut fx, HResult::E_INVALIDARG, |c| c.handler(&hid("H")).cloned());
    assert!(fx.c.conflict(mine).is_err());
    assert!(fx.c.conflict(theirs).is_ok(), "another handler's conflict stays");
    assert_eq!(fx.c.handlers().map(|h| h.id.to_string()).collect::<Vec<_>>(), ["H2"]);
}

#[test]
fn a_handler_with_a_live_session_cannot_be_removed() {
    let mut fx = Fx::new();
    let s = fx.session(&["A"]);
    let h = fx.h();
    assert_refused(&mut fx, HResult::ERROR_BUSY, |c| c.remove_handler(&h));
    fx.c.end_session(s).unwrap();
    fx.c.remove_handler(&h).expect("removable once the session ended");
}
