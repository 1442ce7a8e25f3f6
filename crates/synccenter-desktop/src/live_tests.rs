//! The live state's rules: examples of each, and arbitrary feeds against a model of what must hold.

use proptest::prelude::*;
use synccenter_client::methods::EventInfo;
use synccenter_protocol::{HandlerTypeWire, RetentionWire};

use super::*;

fn handler(id: &str, paused: bool, inhibit: Option<bool>, errors: u64, conflicts: u32) -> HandlerInfo {
    HandlerInfo {
        handler: id.to_owned(),
        name: format!("Handler {id}"),
        handler_type: HandlerTypeWire::Unspecified,
        type_label: String::new(),
        comment: String::new(),
        display_text: String::new(),
        last_sync: None,
        active: true,
        enabled: true,
        connected: true,
        hidden: false,
        capabilities: Vec::new(),
        policies: Vec::new(),
        retention: RetentionWire::Keep,
        syncing: false,
        paused,
        paused_until: None,
        command: false,
        next_run: None,
        overdue: false,
        item_count: 1,
        error_count: errors,
        conflict_count: conflicts,
        notify: None,
        inhibit_sleep: inhibit,
        waiting: None,
    }
}

fn session(id: &str, handler: &str, items: &[&str]) -> SessionInfo {
    SessionInfo {
        session: id.to_owned(),
        handler: handler.to_owned(),
        started_at: String::new(),
        manual: false,
        handler_text: None,
        stop_all: false,
        stopped_items: Vec::new(),
        items: items
            .iter()
            .map(|i| SessionItemInfo {
                item: (*i).to_owned(),
                status: None,
                step: 0,
                max_step: 0,
                text: String::new(),
                amount: None,
            })
            .collect(),
    }
}

fn started(id: &str, handler: &str, items: &[&str]) -> UpdateKind {
    UpdateKind::SessionStarted { session: session(id, handler, items) }
}

fn progress(s: &str, item: &str, status: StatusWire, step: u32, max_step: u32) -> UpdateKind {
    let (session, item, text) = (s.to_owned(), item.to_owned(), String::new());
    UpdateKind::Progress { session, item, status: Some(status), step, max_step, text, amount: None }
}

fn bytes(s: &str, item: &str, done: u64, total: u64) -> UpdateKind {
    let amount = Some(AmountInfo { unit: synccenter_client::UnitWire::Bytes, done, total });
    let (session, item, text) = (s.to_owned(), item.to_owned(), String::new());
    UpdateKind::Progress { session, item, status: Some(StatusWire::Updating), step: 0, max_step: 0, text, amount }
}

/// Issue 20: the running items' bytes add up; a finished item drops out; an unknown total makes the sum's
/// unknown; another unit mixed in gives no amount.
#[test]
fn running_amounts_add_up_in_one_unit() {
    let mut live = Live::default();
    live.apply(&started("s1", "nas", &["a", "b", "c"]));
    assert_eq!(live.amount(), None);
    live.apply(&bytes("s1", "a", 10, 100));
    live.apply(&bytes("s1", "b", 5, 50));
    assert_eq!(live.amount(), Some((Unit::Bytes, 15, 150)));
    live.apply(&progress("s1", "b", StatusWire::Succeeded, 1, 1));
    assert_eq!(live.amount(), Some((Unit::Bytes, 10, 100)));
    live.apply(&bytes("s1", "c", 7, 0));
    assert_eq!(live.amount(), Some((Unit::Bytes, 17, 0)));
    let files = Some(AmountInfo { unit: synccenter_client::UnitWire::Files, done: 1, total: 2 });
    let (session, item) = ("s1".to_owned(), "c".to_owned());
    live.apply(&UpdateKind::Progress {
        session,
        item,
        status: Some(StatusWire::Updating),
        step: 1,
        max_step: 2,
        text: String::new(),
        amount: files,
    });
    assert_eq!(live.amount(), None);
}

fn ended(s: &str, handler: &str) -> UpdateKind {
    let (session, handler, reason) = (s.to_owned(), handler.to_owned(), "ended".to_owned());
    UpdateKind::SessionEnded { session, handler, status: StatusWire::Succeeded, errors: 0, conflicts: 0, reason }
}

fn event(level: EventLevelWire) -> UpdateKind {
    let event = EventInfo {
        event: "e".into(),
        handler: "nas".into(),
        item: None,
        session: None,
        level,
        name: "n".into(),
        description: "d".into(),
        link_text: None,
        link_reference: None,
        context: None,
        time: String::new(),
    };
    UpdateKind::EventAdded { event }
}

#[test]
fn a_live_sync_inhibits_until_it_ends_or_its_handler_pauses() {
    let mut live = Live::default();
    live.reset(&[handler("nas", false, None, 0, 0), handler("cam", false, None, 0, 0)], &[]);
    assert!(!live.any_sync_running_that_may_inhibit());
    assert_eq!(live.apply(&started("s1", "nas", &["docs"])), Refresh::Nothing);
    assert!(live.any_sync_running_that_may_inhibit());
    live.apply(&started("s2", "cam", &["a"]));
    live.apply(&started("s3", "cam", &["b"]));
    assert_eq!(live.inhibitors(), ["Handler cam", "Handler nas"], "sorted, each handler once");
    live.set_handlers(&[handler("nas", true, None, 0, 0), handler("cam", false, None, 0, 0)]);
    assert_eq!(live.inhibitors(), ["Handler cam"], "a paused handler's sync does not inhibit");
    live.set_handlers(&[handler("nas", true, None, 0, 0), handler("cam", true, None, 0, 0)]);
    assert!(!live.any_sync_running_that_may_inhibit(), "all paused");
    live.set_handlers(&[handler("nas", false, None, 0, 0), handler("cam", false, None, 0, 0)]);
    for (s, h) in [("s1", "nas"), ("s2", "cam"), ("s3", "cam")] {
        assert_eq!(live.apply(&ended(s, h)), Refresh::Handlers);
    }
    assert!(!live.any_sync_running_that_may_inhibit());
    assert_eq!(live.progress(), None);
}

#[test]
fn an_opted_out_handler_never_inhibits_and_an_unknown_one_does() {
    let mut live = Live::default();
    live.reset(&[handler("quiet", false, Some(false), 0, 0)], &[session("s", "quiet", &["x"])]);
    assert!(!live.any_sync_running_that_may_inhibit());
    assert!(live.progress().is_some(), "its progress still shows");
    live.apply(&started("t", "new-one", &["y"]));
    assert_eq!(live.inhibitors(), ["new-one"], "not yet listed: the default holds");
}

#[test]
fn progress_weighs_every_item_the_same() {
    let mut live = Live::default();
    live.reset(&[], &[session("a", "nas", &["1", "2", "3"])]);
    assert_eq!(live.progress(), Some(0.0));
    live.apply(&progress("a", "1", StatusWire::Updating, 50, 100));
    live.apply(&progress("a", "2", StatusWire::Succeeded, 0, 0));
    live.apply(&progress("a", "3", StatusWire::UpdatingIndeterminate, 7, 0));
    assert_eq!(live.progress(), Some(0.5));
    live.apply(&started("b", "cam", &["only"]));
    live.apply(&progress("b", "only", StatusWire::Updating, 9, 3));
    assert_eq!(live.progress(), Some(2.5 / 4.0), "a step past its maximum counts as the maximum");
    assert_eq!(live.dock().progress_permille, Some(625));
    live.apply(&progress("gone", "x", StatusWire::Updating, 1, 2));
    assert_eq!(live.progress(), Some(2.5 / 4.0), "progress of an unknown session changes nothing");
}

#[test]
fn the_count_is_errors_plus_conflicts_and_a_new_conflict_is_urgent_until_all_are_resolved() {
    let mut live = Live::default();
    live.reset(&[handler("nas", false, None, 2, 1)], &[]);
    assert_eq!(live.dock(), DockState { count: 3, progress_permille: None, urgent: false }, "known at start");
    assert_eq!(live.apply(&event(EventLevelWire::Error)), Refresh::Handlers);
    assert_eq!(live.apply(&event(EventLevelWire::Warning)), Refresh::Nothing);
    live.set_handlers(&[handler("nas", false, None, 3, 1)]);
    assert!(!live.urgent(), "an error is counted, not urgent");
    live.set_handlers(&[handler("nas", false, None, 3, 1), handler("cam", false, None, 0, 2)]);
    assert_eq!(live.dock(), DockState { count: 6, progress_permille: None, urgent: true });
    live.set_handlers(&[handler("nas", false, None, 3, 0), handler("cam", false, None, 0, 1)]);
    assert!(live.urgent(), "conflicts remain");
    let mut again = live.clone();
    again.reset(&[handler("nas", false, None, 3, 0), handler("cam", false, None, 0, 1)], &[]);
    assert!(again.urgent(), "a reset keeps it while they remain");
    live.set_handlers(&[handler("nas", false, None, 0, 0), handler("cam", false, None, 0, 0)]);
    assert_eq!(live.dock(), DockState { count: 0, progress_permille: None, urgent: false });
}

#[derive(Clone, Debug)]
enum Step {
    Start(u8, u8, u8),
    Progress(u8, u8, u32, u32, bool),
    End(u8),
    Pause(u8, bool),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..4u8, 0..3u8, 0..4u8).prop_map(|(s, h, n)| Step::Start(s, h, n)),
        (0..4u8, 0..4u8, any::<u32>(), any::<u32>(), any::<bool>())
            .prop_map(|(s, i, a, b, d)| Step::Progress(s, i, a, b, d)),
        (0..4u8).prop_map(Step::End),
        (0..3u8, any::<bool>()).prop_map(|(h, p)| Step::Pause(h, p)),
    ]
}

proptest! {
    #[test]
    fn any_feed_keeps_progress_in_range_and_inhibits_exactly_for_unpaused_live_syncs(
        steps in proptest::collection::vec(step(), 0..40)
    ) {
        let mut live = Live::default();
        let mut paused = [false; 3];
        let list = |paused: &[bool; 3]| -> Vec<HandlerInfo> {
            (0..3).map(|h| handler(&format!("h{h}"), paused[h], Some(h != 2), 0, 0)).collect()
        };
        live.reset(&list(&paused), &[]);
        let mut running: BTreeMap<u8, u8> = BTreeMap::new();
        for s in steps {
            match s {
                Step::Start(s, h, n) => {
                    let items: Vec<String> = (0..n).map(|i| i.to_string()).collect();
                    let items: Vec<&str> = items.iter().map(String::as_str).collect();
                    live.apply(&started(&s.to_string(), &format!("h{h}"), &items));
                    running.insert(s, h);
                }
                Step::Progress(s, i, a, b, done) => {
                    let status = if done { StatusWire::Failed } else { StatusWire::Updating };
                    live.apply(&progress(&s.to_string(), &i.to_string(), status, a, b));
                }
                Step::End(s) => {
                    live.apply(&ended(&s.to_string(), "h0"));
                    running.remove(&s);
                }
                Step::Pause(h, p) => {
                    paused[usize::from(h)] = p;
                    live.set_handlers(&list(&paused));
                }
            }
            let p = live.progress();
            prop_assert_eq!(p.is_some(), !running.is_empty());
            prop_assert!(p.is_none_or(|p| (0.0..=1.0).contains(&p)));
            let expected = running.values().any(|&h| h != 2 && !paused[usize::from(h)]);
            prop_assert_eq!(live.any_sync_running_that_may_inhibit(), expected);
            prop_assert_eq!(live.inhibitors().is_empty(), !expected);
        }
    }
}
