//! Shared fixture: a `Center` on a manual clock with sequential IDs, a notice collector, handler "H" with
//! items "A", "B", "C", and `assert_refused` for every refusal that must leave no trace.

use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use synccenter_core::{
    Center, CenterConfig, CoreError, EventLevel, HResult, HandlerId, HandlerSpec, ItemId, ItemSpec, ManualClock,
    MemoryStore, NewEvent, Notice, OwnerId, SequentialIds, SessionId, SyncCenter, Timestamp,
};

/// The instant every fixture clock starts at.
pub(crate) const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);

/// The comment of handler "H".
pub(crate) const H_COMMENT: &str = "Three test items";

pub(crate) const OWNER: OwnerId = OwnerId(1);

pub(crate) fn hid(s: &str) -> HandlerId {
    HandlerId::new(s).expect("valid handler id")
}

pub(crate) fn iid(s: &str) -> ItemId {
    ItemId::new(s).expect("valid item id")
}

pub(crate) fn ids(list: &[&str]) -> Vec<ItemId> {
    list.iter().map(|s| iid(s)).collect()
}

pub(crate) fn handler_spec(name: &str) -> HandlerSpec {
    HandlerSpec { name: Some(name.into()), comment: Some(H_COMMENT.into()), ..HandlerSpec::default() }
}

pub(crate) fn item_spec(name: &str) -> ItemSpec {
    ItemSpec { name: Some(name.into()), ..ItemSpec::default() }
}

pub(crate) type Notices = Arc<Mutex<Vec<Notice>>>;

fn parts() -> (Arc<ManualClock>, Notices, Box<dyn synccenter_core::NoticeSink>) {
    let clock = Arc::new(ManualClock::new(T0));
    let notices: Notices = Arc::default();
    let sink_notices = Arc::clone(&notices);
    let sink = Box::new(move |n: Notice| sink_notices.lock().expect("notices").push(n));
    (clock, notices, sink)
}

/// A `Center` with handler "H" (items "A", "B", "C") registered and its registration changes drained.
#[derive(Debug)]
pub(crate) struct Fx {
    pub(crate) c: Center,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) notices: Notices,
}

impl Fx {
    pub(crate) fn new() -> Self {
        Self::with_handler(handler_spec("Handler H"))
    }

    /// Handler "H" registered with `spec`, items A, B, C default.
    pub(crate) fn with_handler(spec: HandlerSpec) -> Self {
        let mut fx = Self::empty();
        fx.add_handler("H", spec, &["A", "B", "C"]);
        fx.c.take_changes();
        fx
    }

    pub(crate) fn empty() -> Self {
        let (clock, notices, sink) = parts();
        let c =
            Center::new(CenterConfig::default(), Box::new(Arc::clone(&clock)), Box::new(SequentialIds::new(1)), sink);
        Self { c, clock, notices }
    }

    pub(crate) fn add_handler(&mut self, id: &str, spec: HandlerSpec, items: &[&str]) {
        self.c.register_handler(hid(id), spec).expect("register handler");
        for i in items {
            self.c.register_item(&hid(id), iid(i), item_spec(&format!("Item {i}"))).expect("register item");
        }
    }

    pub(crate) fn h(&self) -> HandlerId {
        hid("H")
    }

    /// A session of `OWNER` for handler "H" over `items`.
    pub(crate) fn session(&mut self, items: &[&str]) -> SessionId {
        self.c.create_session(OWNER, &hid("H"), &ids(items)).expect("create session")
    }

    /// Notices received since the last call.
    pub(crate) fn take_notices(&self) -> Vec<Notice> {
        std::mem::take(&mut *self.notices.lock().expect("notices"))
    }

    pub(crate) fn notice_count(&self) -> usize {
        self.notices.lock().expect("notices").len()
    }

    /// The progress of `item` in live session `s`.
    pub(crate) fn progress(&self, s: SessionId, item: &str) -> synccenter_core::ItemProgress {
        let view = self.c.session(s).expect("live session");
        view.items.into_iter().find(|(i, _)| i.as_str() == item).map(|(_, p)| p).expect("member")
    }
}

/// Runs `op`, which must be refused with `expected`, and proves it changed nothing: same fingerprint, no
/// change recorded, no notice sent.
pub(crate) fn assert_refused<T: Debug>(
    fx: &mut Fx,
    expected: HResult,
    op: impl FnOnce(&mut Center) -> Result<T, CoreError>,
) -> CoreError {
    let before = fx.c.state_fingerprint();
    fx.c.take_changes();
    let notices_before = fx.notice_count();
    let err = match op(&mut fx.c) {
        Ok(v) => panic!("expected {expected}, got Ok({v:?})"),
        Err(e) => e,
    };
    assert_eq!(err.hresult(), expected, "wrong HRESULT for {err}");
    assert_eq!(err.hresult().code, expected.code);
    assert_eq!(fx.c.state_fingerprint(), before, "a refused call changed the state: {err}");
    assert!(!fx.c.has_changes(), "a refused call recorded changes: {:?}", fx.c.take_changes());
    assert_eq!(fx.notice_count(), notices_before, "a refused call sent notices");
    err
}

/// A `SyncCenter` over a `MemoryStore` with handler "H" (items "A", "B", "C") registered with `spec`.
pub(crate) struct ScFx {
    pub(crate) sc: SyncCenter<MemoryStore>,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) notices: Notices,
}

impl Debug for ScFx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScFx").finish_non_exhaustive()
    }
}

impl ScFx {
    pub(crate) async fn new(spec: HandlerSpec) -> Self {
        let (clock, notices, sink) = parts();
        let mut sc = SyncCenter::open(
            MemoryStore::new(),
            CenterConfig::default(),
            Box::new(Arc::clone(&clock)),
            Box::new(SequentialIds::new(2)),
            sink,
        )
        .await
        .expect("open");
        sc.apply(|c| {
            c.register_handler(hid("H"), spec)?;
            for i in ["A", "B", "C"] {
                c.register_item(&hid("H"), iid(i), item_spec(&format!("Item {i}")))?;
            }
            Ok(())
        })
        .await
        .expect("register");
        Self { sc, clock, notices }
    }

    pub(crate) async fn session(&mut self, handler: &str, items: &[&str]) -> SessionId {
        let (h, items) = (hid(handler), ids(items));
        self.sc.apply(|c| c.create_session(OWNER, &h, &items)).await.expect("create session")
    }
}

/// The `SyncRequested` notices (Sync Center calling `Synchronize`) as (handler, items) pairs.
pub(crate) fn sync_requests(notices: &[Notice]) -> Vec<(String, Vec<String>)> {
    notices
        .iter()
        .filter_map(|n| match n {
            Notice::SyncRequested { handler, items, .. } => {
                Some((handler.to_string(), items.iter().map(ToString::to_string).collect()))
            }
            _ => None,
        })
        .collect()
}

/// An ERROR-level event about `item` (or the handler, with `None`).
pub(crate) fn error_event(item: Option<&str>) -> NewEvent {
    NewEvent {
        item: item.map(iid),
        level: Some(EventLevel::Error),
        name: Some("failed".into()),
        description: Some("it failed".into()),
        ..NewEvent::default()
    }
}
