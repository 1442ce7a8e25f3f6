//! A call's way to its handler. What every call shares is decided here once, from the method's declaration: a
//! call naming another host goes there; a call that would need a commit is refused while the store cannot
//! write; a detached session's lease is renewed; the reply leaves at once or after the commit. The `match` from
//! call to handler is generated from the declarations, so a declared method without a handler does not
//! compile.

use synccenter_protocol::RequestId;
use synccenter_protocol::api::{self, Method};

use super::{Deferred, Hub};
use crate::calls::Call;
use crate::convert::RpcResult;
use crate::inbox::{Entry, Inbound};
use crate::outbox::{ConnId, Reply, json};
use crate::queries::Query;

/// What a handler answers when it accepts the call.
#[derive(Debug)]
pub(crate) enum Answer<R> {
    Now(R),
    /// The reply comes from the store.
    FromStore(Box<Query>),
}

/// A handler's answer, or its refusal.
pub(crate) type Handled<R> = RpcResult<Answer<R>>;

/// Accepts the call with this result.
pub(crate) fn done<R>(result: R) -> Handled<R> {
    Ok(Answer::Now(result))
}

/// The handler of method `M`. Implemented by [`Hub`] once per declared method, in the room of its family.
pub(crate) trait Handle<M: Method> {
    fn handle(&mut self, conn: ConnId, params: M::Params) -> Handled<M::Result>;
}

enum Outcome {
    Reply(Reply),
    Query(Query),
}

fn outcome<R: serde::Serialize>(handled: Handled<R>) -> Outcome {
    match handled {
        Ok(Answer::Now(r)) => Outcome::Reply(Ok(json(r))),
        Ok(Answer::FromStore(q)) => Outcome::Query(*q),
        Err(e) => Outcome::Reply(Err(e)),
    }
}

macro_rules! dispatch {
    ($($method:ident),+) => {
        impl Hub {
            fn dispatch(&mut self, conn: ConnId, call: Call) -> Outcome {
                match call {
                    $(Call::$method(p) => outcome(<Self as Handle<api::$method>>::handle(self, conn, p)),)+
                }
            }
        }
    };
}

synccenter_protocol::for_each_method!(dispatch);

impl Hub {
    /// Applies one call from `conn` and answers it (a request) or not (a notification).
    pub(crate) fn call(&mut self, conn: ConnId, id: Option<RequestId>, call: Call) {
        self.renew_lease(call.session());
        if let Some(host) = call.host()
            && host != self.setup.fleet.host
        {
            return self.forward(conn, id, &call);
        }
        // While the store cannot write, a request that would need a commit is refused before it changes
        // anything, rather than accepted into memory it cannot acknowledge. Notifications carry no reply to
        // refuse with: they are applied and stored with the rest once the store writes again.
        if id.is_some()
            && call.is_durable()
            && let Some(why) = self.setup.health.failure()
        {
            let error = synccenter_protocol::ErrorObject::new(
                synccenter_protocol::error_codes::INTERNAL_ERROR,
                synccenter_core::HResult::E_FAIL.code,
                synccenter_core::HResult::E_FAIL.name,
                format!(
                    "refused: the store cannot write ({why}); nothing was changed. Free space (or fix the store) \
                     and try again"
                ),
            );
            return self.respond(conn, id, Err(error), false);
        }
        match self.dispatch(conn, call) {
            Outcome::Reply(reply) => {
                let durable = self.take_effects();
                self.respond(conn, id, reply, durable);
            }
            Outcome::Query(query) => self.query(conn, id, query),
        }
    }

    /// One entry of `conn`'s queue.
    pub(crate) fn take_entry(&mut self, conn: ConnId, inbound: &Inbound, entry: Entry) {
        match entry {
            Entry::Call(id, call) => self.call(conn, id, *call),
            Entry::Progress(run) => {
                self.reports_taken += inbound.take_merged();
                for report in run {
                    // A queued report always has valid IDs; a refusal (an unknown session) has nobody to tell.
                    let _ = self.apply_progress(report);
                }
                self.take_effects();
            }
            Entry::Reply(line) => self.send_in_order(conn, line, None),
        }
    }

    /// Hands a store read to the run loop, after everything processed so far is written.
    fn query(&mut self, conn: ConnId, id: Option<RequestId>, query: Query) {
        let (Some(id), Some(out)) = (id, self.out(conn)) else { return };
        let (written_tx, written) = tokio::sync::oneshot::channel();
        self.flush_progress();
        self.batch.barriers.push(written_tx);
        self.deferred.push(Deferred::Query { out, id, query, written });
    }

    /// Sends a call naming another host to that host through the shared database, and its reply back.
    fn forward(&mut self, conn: ConnId, id: Option<RequestId>, call: &Call) {
        let Some(out) = self.out(conn) else { return };
        let host = call.host().unwrap_or_default().to_owned();
        if self.setup.fleet.shared.is_none() {
            let error = crate::convert::invalid(format!(
                "there is no host {host:?}: this daemon ({}) is not part of a fleet (its store is not shared)",
                self.setup.fleet.host
            ));
            return self.respond(conn, id, Err(error), false);
        }
        self.deferred.push(Deferred::Forward { out, id, host, method: call.name(), params: call.params_for_host() });
    }
}
