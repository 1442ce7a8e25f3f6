//! Every refusal of the core reads as words: each variant of [`CoreError`] (and every value of the enums its
//! messages name: [`IdProblem`], [`IdKind`], [`FlagKind`], [`NotReadyReason`], [`Action`], progress statuses)
//! is displayed and checked for Rust debug names (`words::assert_words`). The walk matches on every variant
//! without a wildcard, so a new variant does not compile here until it has a sample and its words.

mod words;

use synccenter_core::{
    Action, CancelRequest, ConflictId, CoreError, EventId, FlagKind, HandlerId, IdError, IdKind, IdProblem, ItemId,
    NotReadyReason, ProgressStatus, RequestId, ResolutionAbilities, SessionId, StoreError, Target, ValueError,
};

/// The variant's position in the declaration: the match has no wildcard, so a new variant fails to compile.
fn variant(e: &CoreError) -> usize {
    match e {
        CoreError::InvalidId(_) => 0,
        CoreError::Value(ValueError::OutOfRange { .. }) => 1,
        CoreError::Value(ValueError::UndefinedFlags { .. }) => 2,
        CoreError::Value(ValueError::UnknownFlagName { .. }) => 3,
        CoreError::MissingArgument(_) => 4,
        CoreError::EmptyArgument(_) => 5,
        CoreError::TooLong { .. } => 6,
        CoreError::UnknownHandler(_) => 7,
        CoreError::UnknownItem { .. } => 8,
        CoreError::DuplicateHandler { .. } => 9,
        CoreError::DuplicateItem { .. } => 10,
        CoreError::NoItems => 11,
        CoreError::UnknownSession(_) => 12,
        CoreError::SessionEnded(_) => 13,
        CoreError::NotMember { .. } => 14,
        CoreError::AlreadyMember { .. } => 15,
        CoreError::NotProposed { .. } => 16,
        CoreError::TransitionRefused { .. } => 17,
        CoreError::HandlerBusy { .. } => 18,
        CoreError::TargetBusy(_) => 19,
        CoreError::NotReady { .. } => 20,
        CoreError::ForbiddenByPolicy { .. } => 21,
        CoreError::NotDeletable(_) => 22,
        CoreError::Declined { .. } => 23,
        CoreError::UnknownEvent(_) => 24,
        CoreError::UnknownConflict(_) => 25,
        CoreError::UnknownRequest(_) => 26,
        CoreError::ContextNotPending => 27,
        CoreError::ResolutionNotAllowed { .. } => 28,
        CoreError::BadVersionIndex { .. } => 29,
        CoreError::CapacityExceeded { .. } => 30,
        CoreError::Store(_) => 31,
    }
}
const VARIANTS: usize = 32;

const KINDS: [IdKind; 2] = [IdKind::Handler, IdKind::Item];
const PROBLEMS: [IdProblem; 3] = [IdProblem::Empty, IdProblem::TooLong { units: 64 }, IdProblem::ControlCharacter];
const FLAGS: [FlagKind; 9] = [
    FlagKind::HandlerCapabilities,
    FlagKind::HandlerPolicies,
    FlagKind::ItemCapabilities,
    FlagKind::ItemPolicies,
    FlagKind::ControlFlags,
    FlagKind::SyncControlFlags,
    FlagKind::ResolutionAbilities,
    FlagKind::ConflictItemType,
    FlagKind::EventFlags,
];
const REASONS: [NotReadyReason; 5] = [
    NotReadyReason::Inactive,
    NotReadyReason::Disabled,
    NotReadyReason::Disconnected,
    NotReadyReason::NothingToSync,
    NotReadyReason::Paused,
];
const ACTIONS: [Action; 7] = [
    Action::Activate,
    Action::Deactivate,
    Action::Enable,
    Action::Disable,
    Action::StartSync,
    Action::StopSync,
    Action::Delete,
];

fn h() -> HandlerId {
    HandlerId::new("backups").expect("valid")
}
fn i() -> ItemId {
    ItemId::new("photos").expect("valid")
}
fn session() -> SessionId {
    SessionId::parse("5f0c6a4e-1b2c-4d3e-8f90-a1b2c3d4e5f6").expect("uuid")
}

/// A sample of every variant, with every value of the enums their messages show.
fn samples() -> Vec<CoreError> {
    let targets = [Target { handler: h(), item: None }, Target { handler: h(), item: Some(i()) }];
    let mut all = Vec::new();
    for kind in KINDS {
        for problem in PROBLEMS {
            all.push(IdError { kind, id: "bad id\twith tab".into(), problem }.into());
        }
    }
    all.push(ValueError::OutOfRange { what: "progress status", value: 7 }.into());
    for kind in FLAGS {
        all.push(ValueError::UndefinedFlags { kind, bits: 0x40 }.into());
        all.push(ValueError::UnknownFlagName { kind, name: "can_fly".into() }.into());
    }
    all.push(CoreError::MissingArgument("handler"));
    all.push(CoreError::EmptyArgument("items"));
    all.push(CoreError::TooLong { what: "name", len: 300, max: 256 });
    all.push(CoreError::UnknownHandler(h()));
    all.push(CoreError::UnknownItem { handler: h(), item: i() });
    all.push(CoreError::DuplicateHandler { id: HandlerId::new("Backups").expect("valid"), existing: h() });
    all.push(CoreError::DuplicateItem { handler: h(), id: ItemId::new("Photos").expect("valid"), existing: i() });
    all.push(CoreError::NoItems);
    all.push(CoreError::UnknownSession(session()));
    all.push(CoreError::SessionEnded(session()));
    all.push(CoreError::NotMember { session: session(), item: i() });
    all.push(CoreError::AlreadyMember { session: session(), item: i() });
    all.push(CoreError::NotProposed { session: session(), item: i() });
    for &from in ProgressStatus::ALL {
        for &to in ProgressStatus::ALL {
            all.push(CoreError::TransitionRefused { item: i(), from, to, cancel: CancelRequest::None });
        }
    }
    all.push(CoreError::HandlerBusy { handler: h(), session: session() });
    for target in &targets {
        all.push(CoreError::TargetBusy(target.clone()));
        all.push(CoreError::NotDeletable(target.clone()));
        for reason in REASONS {
            all.push(CoreError::NotReady { target: target.clone(), reason });
        }
        for action in ACTIONS {
            all.push(CoreError::ForbiddenByPolicy { target: target.clone(), action });
            all.push(CoreError::Declined { target: target.clone(), action });
        }
    }
    let conflict = ConflictId(session().0);
    all.push(CoreError::UnknownEvent(EventId(session().0)));
    all.push(CoreError::UnknownConflict(conflict));
    all.push(CoreError::UnknownRequest(RequestId(7)));
    all.push(CoreError::ContextNotPending);
    for &(needs, _) in ResolutionAbilities::NAMED {
        all.push(CoreError::ResolutionNotAllowed { conflict, choice: "merge", needs });
    }
    all.push(CoreError::ResolutionNotAllowed { conflict, choice: "keep", needs: ResolutionAbilities::all() });
    all.push(CoreError::BadVersionIndex { conflict, index: 3, count: 2 });
    all.push(CoreError::CapacityExceeded { what: "live sessions", limit: 1000 });
    all.push(CoreError::Store(StoreError::Unavailable("disk full".into())));
    all.push(CoreError::Store(StoreError::Corrupt("bad row".into())));
    all
}

#[test]
fn every_core_error_reads_as_words() {
    let samples = samples();
    let mut covered = [false; VARIANTS];
    for e in &samples {
        covered[variant(e)] = true;
        words::assert_words(&e.to_string());
    }
    let missing: Vec<usize> = (0..VARIANTS).filter(|&v| !covered[v]).collect();
    assert!(missing.is_empty(), "variants without a sample (by position): {missing:?}");
}

#[test]
fn a_refused_id_says_what_is_wrong() {
    let e = HandlerId::new("bad id\twith tab").expect_err("a tab is refused");
    assert_eq!(
        e.to_string(),
        r#"handler ID "bad id\twith tab" is invalid: it contains a control character (U+0000 to U+001F)"#
    );
    let e = ItemId::new("").expect_err("empty is refused");
    assert_eq!(e.to_string(), r#"item ID "" is invalid: it is empty"#);
    let e = ItemId::new("x".repeat(64)).expect_err("too long");
    assert!(e.to_string().ends_with("is invalid: it is 64 UTF-16 units long; the limit is 63"), "{e}");
}
