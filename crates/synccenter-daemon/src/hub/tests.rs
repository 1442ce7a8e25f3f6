//! Unit tests of the handlers: a hub over a fresh model, calls made directly, replies read from the outbox.
//! Nothing here needs a socket or a runtime: an outbox is a channel read with `try_recv`, and the store writer
//! is [`Fixture::commit`], which does with a batch what a successful commit does. The tests are grouped by
//! family of methods: `session` (the session creator and its callback), `control` (control, handlers and
//! items), `dispatch` (what every call shares: replies and their order, refusals, forwarding, the feed, queries,
//! coalescing, closed connections).

mod control;
mod dispatch;
mod ping;
mod session;

use std::sync::Arc;

use serde_json::Value;
use synccenter_core::{Center, CenterConfig, Change, ManualClock, SequentialIds, Timestamp};
use synccenter_protocol::methods::{self as m, ItemFields};
use synccenter_protocol::{EventLevelWire, RequestId, StatusWire};
use tokio::sync::mpsc;

use super::{Hub, HubSetup, Whereabouts};
use crate::calls::Call;
use crate::fleet::{FleetLink, FleetTimings};
use crate::inbox::Inbound;
use crate::outbox::{ConnId, Outbox};
use crate::scheduler::{RunMsg, Scheduler};
use crate::{Intervals, Limits};

/// When the model's clock starts (2023-11-14T22:13:20Z).
const START: Timestamp = Timestamp::from_micros(1_700_000_000_000_000);

struct Fixture {
    hub: Hub,
    clock: Arc<ManualClock>,
    next_conn: ConnId,
    next_id: i64,
    /// Where command runs would report; none starts here (there is no configuration), but the channel stays open.
    _runs: mpsc::Receiver<RunMsg>,
}

/// A connection as its client sees it.
struct Client {
    conn: ConnId,
    rx: mpsc::Receiver<String>,
    /// Lines received and not yet looked at, in arrival order.
    unread: Vec<Value>,
}

impl Fixture {
    fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    /// A fixture with one client that registered handler `h` with `items`.
    fn with_handler(items: &[&str]) -> (Self, Client) {
        let mut fx = Self::new();
        let mut c = fx.connect();
        fx.handler(&mut c, "h", items, false);
        (fx, c)
    }

    /// [`Fixture::with_handler`] with a session of the client over `items`.
    fn with_session(items: &[&str]) -> (Self, Client, String) {
        let (mut fx, mut c) = Self::with_handler(items);
        let s = fx.session(&mut c, "h", items);
        (fx, c, s)
    }

    fn with_limits(limits: Limits) -> Self {
        let clock = Arc::new(ManualClock::new(START));
        let (notice_tx, notices) = std::sync::mpsc::channel();
        let ids = Box::new(SequentialIds::new(7));
        let center = Center::new(CenterConfig::default(), Box::new(clock.clone()), ids, Box::new(notice_tx));
        let (runs, runs_rx) = mpsc::channel(16);
        let setup = HubSetup {
            whereabouts: Whereabouts {
                socket: "/run/user/1000/synccenter/test.sock".into(),
                data_dir: "/tmp/synccenter-hub-tests".into(),
                store: "sqlite:///tmp/synccenter-hub-tests/synccenter.db".into(),
                started_at: crate::convert::ts(START),
                http: None,
            },
            intervals: Intervals::default(),
            limits,
            scheduler: Scheduler::new(None, START),
            fleet: FleetLink::local("host-a".into(), FleetTimings::default()),
            health: Arc::default(),
            runs,
        };
        Self { hub: Hub::new(center, notices, setup), clock, next_conn: 1, next_id: 0, _runs: runs_rx }
    }

    fn connect(&mut self) -> Client {
        self.connect_with(None)
    }

    /// A connection whose calls may also arrive through a queue of its own, as from a socket.
    fn connect_with(&mut self, inbound: Option<Arc<Inbound>>) -> Client {
        let (tx, rx) = mpsc::channel(1024);
        let conn = self.next_conn;
        self.next_conn += 1;
        self.hub.open(conn, Outbox::new(tx), inbound);
        Client { conn, rx, unread: Vec::new() }
    }

    fn next_id(&mut self) -> RequestId {
        self.next_id += 1;
        RequestId::Number(self.next_id)
    }

    /// Makes a request and returns its ID; nothing is committed.
    fn send(&mut self, c: &Client, call: Call) -> RequestId {
        let id = self.next_id();
        self.hub.call(c.conn, Some(id.clone()), call);
        id
    }

    /// Sends a notification (no reply).
    fn notify(&mut self, c: &Client, call: Call) {
        self.hub.call(c.conn, None, call);
    }

    /// What the writer does with the batch when its commit succeeds; returns the changes written.
    fn commit(&mut self) -> Vec<Change> {
        let batch = self.hub.take_batch();
        for ack in batch.acks {
            ack.out.sent_after_commit(ack.line);
        }
        for (out, line) in batch.after {
            out.send(line);
        }
        for barrier in batch.barriers {
            let _ = barrier.send(());
        }
        batch.changes
    }

    /// A request and the commit after it; its result (the test fails on an error reply).
    fn ok(&mut self, c: &mut Client, call: Call) -> Value {
        let id = self.send(c, call);
        self.commit();
        c.result(&id)
    }

    /// A request that must be refused, and the commit after it; the error object.
    fn refused(&mut self, c: &mut Client, call: Call) -> Value {
        let id = self.send(c, call);
        self.commit();
        c.error(&id)
    }

    /// Registers handler `h` (sessions of it may run concurrently when `concurrent`) with `items`.
    fn handler(&mut self, c: &mut Client, h: &str, items: &[&str], concurrent: bool) {
        let mut p = handler_params(h);
        if concurrent {
            p.capabilities = Some(vec!["supports_concurrent_sessions".into()]);
        }
        self.ok(c, Call::HandlerRegister(p));
        for i in items {
            self.ok(c, register_item(h, i));
        }
    }

    /// A session of `c` over `items` of `h`, committed; its ID.
    fn session(&mut self, c: &mut Client, h: &str, items: &[&str]) -> String {
        let created = self.ok(c, create(h, items));
        created["session"].as_str().expect("a session ID").to_owned()
    }

    fn now(&self) -> Timestamp {
        synccenter_core::Clock::now(&*self.clock)
    }
}

impl Client {
    fn read(&mut self) {
        while let Ok(line) = self.rx.try_recv() {
            self.unread.push(serde_json::from_str(&line).expect("every line the hub sends is JSON"));
        }
    }

    fn position(&mut self, id: &RequestId) -> Option<usize> {
        self.read();
        let id = serde_json::to_value(id).expect("an ID is JSON");
        self.unread.iter().position(|l| l.get("method").is_none() && l["id"] == id)
    }

    fn has_reply(&mut self, id: &RequestId) -> bool {
        self.position(id).is_some()
    }

    fn reply(&mut self, id: &RequestId) -> Value {
        match self.position(id) {
            Some(at) => self.unread.remove(at),
            None => panic!("no reply to {id:?}; received {:?}", self.unread),
        }
    }

    fn result(&mut self, id: &RequestId) -> Value {
        let reply = self.reply(id);
        reply.get("result").cloned().unwrap_or_else(|| panic!("{id:?} was refused: {reply}"))
    }

    fn error(&mut self, id: &RequestId) -> Value {
        let reply = self.reply(id);
        reply.get("error").cloned().unwrap_or_else(|| panic!("{id:?} was accepted: {reply}"))
    }

    /// The parameters of the pushes of `method` received so far (taken).
    fn pushes(&mut self, method: &str) -> Vec<Value> {
        self.read();
        let (mine, rest) = std::mem::take(&mut self.unread).into_iter().partition(|l| l["method"] == method);
        self.unread = rest;
        mine.into_iter().map(|l: Value| l["params"].clone()).collect()
    }

    /// The IDs of the replies received so far, in order (taken).
    fn reply_ids(&mut self) -> Vec<Value> {
        self.read();
        let (replies, rest) = std::mem::take(&mut self.unread).into_iter().partition(|l| l.get("method").is_none());
        self.unread = rest;
        replies.into_iter().map(|l: Value| l["id"].clone()).collect()
    }
}

fn handler_params(h: &str) -> m::HandlerRegisterParams {
    m::HandlerRegisterParams { handler: h.into(), name: Some(format!("{h} handler")), ..Default::default() }
}

/// An item that may be deleted from the sync set.
fn register_item(h: &str, i: &str) -> Call {
    let fields = ItemFields {
        name: Some(format!("{i} item")),
        capabilities: Some(vec!["can_delete".into()]),
        ..Default::default()
    };
    Call::ItemRegister(m::ItemRegisterParams { handler: h.into(), item: i.into(), fields })
}

fn create(h: &str, items: &[&str]) -> Call {
    Call::SessionCreate(m::CreateSessionParams {
        handler: h.into(),
        items: items.iter().map(|i| (*i).to_owned()).collect(),
        detach: false,
        lease_seconds: None,
        announce: false,
    })
}

fn progress(session: &str, item: &str, status: StatusWire, step: u32) -> Call {
    Call::SessionReportProgress(m::ReportProgressParams {
        session: session.into(),
        item: item.into(),
        status,
        text: Some(format!("step {step}")),
        step: Some(step),
        max_step: Some(100),
        unit: None,
        done: None,
        total: None,
    })
}

fn event(session: &str, level: EventLevelWire, name: &str, description: &str) -> m::ReportEventParams {
    m::ReportEventParams {
        session: session.into(),
        level: Some(level),
        name: Some(name.into()),
        description: Some(description.into()),
        ..Default::default()
    }
}

fn end(session: &str) -> Call {
    Call::SessionEnd(m::SessionParams { session: session.into() })
}

fn target(h: &str, items: Option<&[&str]>) -> m::ControlTargetParams {
    m::ControlTargetParams {
        handler: Some(h.into()),
        items: items.map(|list| list.iter().map(|i| (*i).to_owned()).collect()),
        ..Default::default()
    }
}

/// The HRESULT name of an error object.
fn hresult(error: &Value) -> &str {
    error["data"]["name"].as_str().unwrap_or_default()
}

fn is_session_started(c: &Change) -> bool {
    matches!(c, Change::SessionStarted { .. })
}
