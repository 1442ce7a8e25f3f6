//! Property tests of the model: the progress state machine of §2.19 against a reference, and random call
//! sequences that must never panic nor break the model's invariants.

use std::sync::{Arc, Mutex};

use proptest::prelude::*;

use super::*;
use crate::enums::{CancelRequest, HandlerCapabilities, ProgressStatus};
use crate::model::{EndReason, HandlerSpec, ItemSpec};
use crate::time::{ManualClock, SequentialIds};

const ITEMS: [&str; 4] = ["a", "b", "c", "d"];

fn center(concurrent: bool) -> (Center, Arc<Mutex<Vec<Notice>>>) {
    let notices = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let notices = notices.clone();
        move |n: Notice| notices.lock().expect("test mutex").push(n)
    };
    let mut c = Center::new(
        CenterConfig::default(),
        Box::new(ManualClock::new(Timestamp(1_000_000))),
        Box::new(SequentialIds::new(1)),
        Box::new(sink),
    );
    let caps =
        if concurrent { HandlerCapabilities::SUPPORTS_CONCURRENT_SESSIONS } else { HandlerCapabilities::empty() };
    let h = HandlerId::new("h").expect("valid");
    c.register_handler(
        h.clone(),
        HandlerSpec { name: Some("H".into()), capabilities: Some(caps), ..Default::default() },
    )
    .expect("register handler");
    for i in ITEMS {
        c.register_item(&h, ItemId::new(i).expect("valid"), ItemSpec { name: Some(i.into()), ..Default::default() })
            .expect("register item");
    }
    (c, notices)
}

fn h() -> HandlerId {
    HandlerId::new("h").expect("valid")
}

fn item(i: usize) -> ItemId {
    ItemId::new(ITEMS[i % ITEMS.len()]).expect("valid")
}

#[derive(Clone, Debug)]
struct Report {
    item: usize,
    status: ProgressStatus,
    text: Option<String>,
    step: u32,
    max: u32,
}

fn report() -> impl Strategy<Value = Report> {
    (
        0..3usize,
        prop::sample::select(ProgressStatus::ALL.to_vec()),
        prop::option::of("[a-zé😀]{0,300}"),
        0..20u32,
        0..20u32,
    )
        .prop_map(|(item, status, text, step, max)| Report { item, status, text, step, max })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// §2.19 rules 9–12: after a completion status only `failed` is accepted (anything else is refused and
    /// marks the item failed); steps never exceed the maximum; text is bounded; after the end every member
    /// is final and every call is `E_UNEXPECTED` with no change.
    #[test]
    fn progress_state_machine_holds_for_any_report_sequence(reports in prop::collection::vec(report(), 0..60)) {
        let (mut c, _) = center(false);
        let members = [item(0), item(1), item(2)];
        let s = c.create_session(OwnerId(1), &h(), &members).expect("create");
        let mut model: Vec<Option<ProgressStatus>> = vec![None; 3];
        for r in &reports {
            let out = c.report_progress(s, &item(r.item), r.status, r.text.as_deref(), r.step, r.max);
            let before = model[r.item];
            match before {
                Some(f) if f.is_final() && r.status != ProgressStatus::Failed => {
                    let err = out.expect_err("a report after completion must be refused");
                    prop_assert_eq!(err.hresult(), crate::HResult::E_ACCESSDENIED);
                    model[r.item] = Some(ProgressStatus::Failed);
                }
                _ => {
                    prop_assert_eq!(out.expect("accepted"), CancelRequest::None);
                    model[r.item] = Some(r.status);
                }
            }
            let view = c.session(s).expect("live");
            for (i, (id, p)) in view.items.iter().enumerate() {
                prop_assert_eq!(id, &members[i]);
                prop_assert_eq!(p.status, model[i]);
                prop_assert!(p.step <= p.max_step);
                prop_assert!(crate::text::utf16_len(&p.text) <= crate::text::MAX_PROGRESS_TEXT_UNITS);
            }
        }
        let summary = c.end_session(s).expect("end");
        let record_changes = c.take_changes();
        for (i, m) in model.iter().enumerate() {
            let last = record_changes.iter().rev().find_map(|ch| match ch {
                Change::ItemProgressed { item: it, progress, .. } if it == &members[i] => Some(progress.status),
                _ => None,
            });
            match m {
                Some(st) if st.is_final() => prop_assert!(last.is_none() || last == Some(Some(*st))),
                _ => prop_assert_eq!(last, Some(Some(ProgressStatus::Failed))),
            }
        }
        let expected = ProgressStatus::aggregate(
            model.iter().map(|m| m.filter(|s| s.is_final()).unwrap_or(ProgressStatus::Failed)),
        );
        prop_assert_eq!(summary.status, expected);
        let fp = c.state_fingerprint();
        for r in &reports {
            let err = c.report_progress(s, &item(r.item), r.status, None, 0, 0).expect_err("ended");
            prop_assert_eq!(err.hresult(), crate::HResult::E_UNEXPECTED);
        }
        prop_assert_eq!(c.can_continue(s, None).expect_err("ended").hresult(), crate::HResult::E_UNEXPECTED);
        prop_assert_eq!(c.add_item(s, &item(3)).expect_err("ended").hresult(), crate::HResult::E_UNEXPECTED);
        prop_assert_eq!(c.state_fingerprint(), fp);
        prop_assert!(!c.has_changes());
    }
}

#[derive(Clone, Debug)]
enum Op {
    Create { owner: u64, items: Vec<usize> },
    Report { session: usize, r: Report },
    Event { session: usize, item: Option<usize> },
    CanContinue { session: usize, item: Option<usize> },
    AddItem { session: usize, item: usize },
    Propose { session: usize, name: u8 },
    Commit { session: usize, name: u8 },
    StartItems { items: Vec<usize>, ignore: bool },
    StartHandler,
    StartAll,
    StopItems { items: Vec<usize> },
    StopHandler,
    StopAll,
    End { session: usize },
    EndOwner { owner: u64 },
    Advance { secs: u64 },
    Tick,
    FailRequest { nth: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let items = || prop::collection::vec(0..5usize, 0..4);
    prop_oneof![
        (0..3u64, items()).prop_map(|(owner, items)| Op::Create { owner, items }),
        (0..6usize, report()).prop_map(|(session, r)| Op::Report { session, r }),
        (0..6usize, prop::option::of(0..5usize)).prop_map(|(session, item)| Op::Event { session, item }),
        (0..6usize, prop::option::of(0..5usize)).prop_map(|(session, item)| Op::CanContinue { session, item }),
        (0..6usize, 0..5usize).prop_map(|(session, item)| Op::AddItem { session, item }),
        (0..6usize, 0..3u8).prop_map(|(session, name)| Op::Propose { session, name }),
        (0..6usize, 0..3u8).prop_map(|(session, name)| Op::Commit { session, name }),
        (items(), any::<bool>()).prop_map(|(items, ignore)| Op::StartItems { items, ignore }),
        Just(Op::StartHandler),
        Just(Op::StartAll),
        items().prop_map(|items| Op::StopItems { items }),
        Just(Op::StopHandler),
        Just(Op::StopAll),
        (0..6usize).prop_map(|session| Op::End { session }),
        (0..3u64).prop_map(|owner| Op::EndOwner { owner }),
        (0..400u64).prop_map(|secs| Op::Advance { secs }),
        Just(Op::Tick),
        (0..4usize).prop_map(|nth| Op::FailRequest { nth }),
    ]
}

/// Item IDs for random ops: index 4 is never registered, so unknown items are exercised too.
fn any_item(i: usize) -> ItemId {
    ItemId::new(["a", "b", "c", "d", "zz"][i % 5]).expect("valid")
}

fn check_invariants(c: &Center, concurrent: bool) -> Result<(), TestCaseError> {
    let mut indexed = 0;
    for (folded, ids) in &c.live_by_handler {
        prop_assert!(!ids.is_empty(), "empty live list kept for {}", folded);
        indexed += ids.len();
        for id in ids {
            let s = c.sessions.get(id).ok_or_else(|| TestCaseError::fail("indexed session is not live"))?;
            prop_assert_eq!(&s.handler.folded(), folded);
        }
        if !concurrent {
            prop_assert!(ids.len() <= 1, "two live sessions for a non-concurrent handler");
        }
    }
    prop_assert_eq!(indexed, c.sessions.len());
    for s in c.sessions.values() {
        prop_assert!(!c.ended.contains_key(&s.id));
        for (i, m) in s.members.iter().enumerate() {
            prop_assert!(!s.members[..i].iter().any(|o| o.item == m.item), "duplicate member");
            prop_assert!(m.progress.step <= m.progress.max_step);
        }
    }
    for r in c.requests.values() {
        prop_assert!(!r.pending.is_empty() || !r.serving.is_empty(), "finished request kept");
        for (_, sid) in &r.serving {
            prop_assert!(c.sessions.contains_key(sid), "request served by a session that is not live");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    /// Any sequence of calls, valid or not, never panics, keeps the invariants, delivers each start
    /// request's result at most once, and a refused call changes nothing.
    #[test]
    fn random_call_sequences_keep_invariants(concurrent in any::<bool>(), ops in prop::collection::vec(op(), 1..80)) {
        let (mut c, notices) = center(concurrent);
        let clock = Arc::new(ManualClock::new(Timestamp(1_000_000)));
        c.clock = Box::new(clock.clone());
        let mut sessions: Vec<SessionId> = Vec::new();
        let pick = |sessions: &Vec<SessionId>, i: usize| sessions.get(i % sessions.len().max(1)).copied();
        for op in ops {
            let before = c.state_fingerprint();
            c.take_changes();
            let refused = match op {
                Op::Create { owner, items } => {
                    let items: Vec<ItemId> = items.into_iter().map(any_item).collect();
                    match c.create_session(OwnerId(owner), &h(), &items) {
                        Ok(s) => { sessions.push(s); false }
                        Err(_) => true,
                    }
                }
                Op::Report { session, r } => match pick(&sessions, session) {
                    Some(s) => match c.report_progress(s, &any_item(r.item), r.status, r.text.as_deref(), r.step, r.max) {
                        Err(CoreError::TransitionRefused { .. }) => false,
                        other => other.is_err(),
                    },
                    None => false,
                },
                Op::Event { session, item } => pick(&sessions, session).is_some_and(|s| {
                    c.report_event(s, crate::model::NewEvent {
                        item: item.map(any_item),
                        level: Some(crate::enums::EventLevel::Error),
                        name: Some("n".into()),
                        description: Some("d".into()),
                        ..Default::default()
                    }).is_err()
                }),
                Op::CanContinue { session, item } => pick(&sessions, session)
                    .is_some_and(|s| c.can_continue(s, item.map(any_item).as_ref()).is_err()),
                Op::AddItem { session, item } => pick(&sessions, session).is_some_and(|s| c.add_item(s, &any_item(item)).is_err()),
                Op::Propose { session, name } => pick(&sessions, session).is_some_and(|s| {
                    let id = ItemId::new(format!("new{name}")).expect("valid");
                    c.propose_item(s, id, ItemSpec { name: Some("N".into()), ..Default::default() }).is_err()
                }),
                Op::Commit { session, name } => pick(&sessions, session).is_some_and(|s| {
                    c.commit_item(s, &ItemId::new(format!("new{name}")).expect("valid")).is_err()
                }),
                Op::StartItems { items, ignore } => {
                    let items: Vec<ItemId> = items.into_iter().map(any_item).collect();
                    let flags = if ignore { SyncControlFlags::IGNORE_IF_ALREADY_SYNCING } else { SyncControlFlags::empty() };
                    c.start_items(&h(), &items, flags, None).is_err()
                }
                Op::StartHandler => c.start_handler(&h(), SyncControlFlags::empty(), None).is_err(),
                Op::StartAll => { c.start_all(); false }
                Op::StopItems { items } => {
                    let items: Vec<ItemId> = items.into_iter().map(any_item).collect();
                    c.stop_items(&h(), &items).is_err()
                }
                Op::StopHandler => c.stop_handler(&h()).is_err(),
                Op::StopAll => { c.stop_all(); false }
                Op::End { session } => pick(&sessions, session).is_some_and(|s| c.end_session(s).is_err()),
                Op::EndOwner { owner } => { c.end_owner(OwnerId(owner)); false }
                Op::Advance { secs } => { clock.advance(std::time::Duration::from_secs(secs)); false }
                Op::Tick => { c.tick(); false }
                Op::FailRequest { nth } => match c.requests().get(nth).map(|r| r.id) {
                    Some(id) => c.fail_request(id, "test").is_err(),
                    None => false,
                },
            };
            if refused {
                prop_assert_eq!(c.state_fingerprint(), before, "a refused call changed the model");
                prop_assert!(!c.has_changes(), "a refused call produced changes");
            }
            check_invariants(&c, concurrent)?;
        }
        for s in c.end_all_sessions(EndReason::Ended) {
            prop_assert!(s.status.is_final());
        }
        check_invariants(&c, concurrent)?;
        let notices = notices.lock().expect("test mutex");
        let mut finished = std::collections::BTreeSet::new();
        for n in notices.iter() {
            if let Notice::RequestFinished { request, .. } = n {
                prop_assert!(finished.insert(*request), "result delivered twice for {}", request);
            }
        }
    }
}
