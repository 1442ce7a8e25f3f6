//! One client connection: reads lines in place and parses messages into typed calls ([`read`], driven from bytes
//! in its tests), queues them for the hub (running progress coalesced per item, see `inbox`), and writes
//! replies and pushes. Bad input is answered here and never reaches the hub; the connection survives it. A line
//! must be finished within the line timeout once it has begun (a stalled or trickling client is cut off); an
//! idle connection between lines may wait as long as it likes. When its queue is full the connection stops
//! reading: the client is slowed by its own socket.

use std::sync::Arc;
use std::time::Duration;

use futures_util::SinkExt;
use synccenter_core::HResult;
use synccenter_platform::transport::{ReadHalf, Stream, WriteHalf};
use synccenter_protocol::{ErrorObject, LineCodec, MAX_LINE_BYTES, RequestId, error_codes, parse_incoming};
use tokio::runtime::Handle;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio_util::codec::FramedWrite;

use crate::calls::{Call, LastTarget, Progress};
use crate::inbox::{Entry, HubMsg, Inbound, Pushed, Tell};
use crate::lanes::Lane;
use crate::outbox::{ConnId, Outbox, error_line};
use crate::ready::{HubGone, ReadyList};

mod read;

use read::{Input, Lines, Read};

/// Lines waiting to be written to one connection.
const OUTBOX_CAPACITY: usize = 8192;

/// Calls and distinct items' reports one connection may have waiting for the hub before it stops reading.
const INBOUND_CAPACITY: usize = 1024;

/// Reads in a row of running progress only (a chatty reporter whose reads never fill) before a connection moves
/// to the bulk lane, so that the control lane's thread is left to control.
const PROGRESS_READS_TO_MOVE: u32 = 8;

/// How long a closing connection's last lines may take to leave before the writer is dropped.
const FINAL_FLUSH: Duration = Duration::from_secs(5);

fn too_long_line() -> String {
    error_line(
        None,
        ErrorObject::invalid(
            error_codes::INVALID_REQUEST,
            format!("line longer than {MAX_LINE_BYTES} bytes; it was discarded"),
        ),
    )
}

/// What one line amounts to. Nearly every line of a busy connection is running progress, moved a few times
/// on its way to the queue; a call is boxed here (its queue entry holds it boxed anyway), which keeps this
/// enum the size of a report, not of the largest call.
#[derive(Debug)]
enum Parsed {
    /// A running progress notification with valid IDs: coalesced with the item's earlier ones.
    Progress(Progress),
    /// A call for the hub, with the request's ID (none for a notification).
    Call(Option<RequestId>, Box<Call>),
    /// An error answered here.
    Reply(String),
    /// Nothing to do (a blank line, or a refused notification).
    Nothing,
}

/// A `session.report_progress` notification, read in one pass. Anything else (an `id`, another method, an
/// extra or repeated field, an escaped `jsonrpc` or `method`, bad parameters) does not fit and takes the
/// general path, which reaches the same call or the right error.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ProgressNotification<'a> {
    jsonrpc: &'a str,
    method: &'a str,
    #[serde(borrow, deserialize_with = "synccenter_protocol::methods::object_only")]
    params: ProgressParams<'a>,
}

/// `ReportProgressParams`, borrowing its strings from the line (so no copy is made of the session ID, which
/// becomes a UUID). The same fields with the same rules; a field it does not know sends the line to the
/// general path.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ProgressParams<'a> {
    #[serde(borrow)]
    session: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    item: std::borrow::Cow<'a, str>,
    status: synccenter_protocol::StatusWire,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    step: Option<u32>,
    #[serde(default)]
    max_step: Option<u32>,
    #[serde(default)]
    unit: Option<synccenter_protocol::UnitWire>,
    #[serde(default)]
    done: Option<u64>,
    #[serde(default)]
    total: Option<u64>,
}

fn parse_line(line: &[u8], conn: ConnId, last: &mut LastTarget) -> Parsed {
    let Some(first) = line.iter().find(|b| !b.is_ascii_whitespace()) else {
        return Parsed::Nothing;
    };
    // The hot path: most lines are progress notifications, and the general path reads the parameters twice
    // (once to find the envelope's end of them, once into their type). Only an object is a message: serde
    // would read an array as the fields in order.
    // A line is checked as UTF-8 once, as a whole: reading it as bytes would check every string on its own.
    if *first == b'{'
        && let Ok(text) = std::str::from_utf8(line)
        && let Ok(n) = serde_json::from_str::<ProgressNotification<'_>>(text)
        && n.jsonrpc == "2.0"
        && n.method == synccenter_protocol::methods::names::SESSION_REPORT_PROGRESS
    {
        let p = n.params;
        let target = match last.read(&p.session, &p.item) {
            Ok(target) => target,
            Err(error) => {
                tracing::debug!(conn, %error.message, "refused a progress notification");
                return Parsed::Nothing;
            }
        };
        if p.status.is_final() {
            return Parsed::Call(
                None,
                Box::new(Call::SessionReportProgress(synccenter_protocol::methods::ReportProgressParams {
                    session: p.session.into_owned(),
                    item: p.item.into_owned(),
                    status: p.status,
                    text: p.text,
                    step: p.step,
                    max_step: p.max_step,
                    unit: p.unit,
                    done: p.done,
                    total: p.total,
                })),
            );
        }
        let amount = synccenter_protocol::methods::report_amount(p.unit, (p.step, p.max_step), (p.done, p.total));
        return Parsed::Progress(Progress {
            target,
            status: p.status,
            text: p.text,
            step: p.step,
            max_step: p.max_step,
            amount,
        });
    }
    let incoming = match parse_incoming(line) {
        Ok(i) => i,
        Err(e) => return Parsed::Reply(error_line(e.id, e.error)),
    };
    match Call::parse(&incoming.method, incoming.params) {
        Ok(call) => Parsed::Call(incoming.id, Box::new(call)),
        Err(error) if incoming.id.is_some() => Parsed::Reply(error_line(incoming.id, error)),
        Err(error) => {
            tracing::debug!(conn, %error.message, "refused a notification");
            Parsed::Nothing
        }
    }
}

/// The connection's side of its queue: pushes, and tells the hub (the ready list) when the queue turns busy.
struct Queue {
    conn: ConnId,
    ready: Arc<ReadyList>,
    inbound: Arc<Inbound>,
}

impl Queue {
    /// Queues what a line amounted to and tells the hub what it must know; whether the queue is full.
    fn put(&self, parsed: Parsed) -> Result<bool, HubGone> {
        let pushed = match parsed {
            Parsed::Progress(report) => self.inbound.push_progress(report),
            Parsed::Call(id, call) => self.inbound.push(Entry::Call(id, call)),
            // Replies keep the order of the requests: a refusal waits behind the calls before it.
            Parsed::Reply(line) => self.inbound.push(Entry::Reply(line)),
            Parsed::Nothing => return Ok(false),
        };
        let Pushed { tell, full } = pushed;
        match tell {
            Tell::Nothing => {}
            Tell::Add(urgency) => self.ready.add(self.conn, urgency)?,
            Tell::Ring => self.ready.ring()?,
        }
        Ok(full)
    }
}

/// Refusals being written at once; past this, a connection over the limit is closed without a word.
const REFUSALS_IN_FLIGHT: usize = 32;

/// How long a refusal waits for the connection to take its line (a pipe is writable only once polled).
const REFUSAL_WAIT: Duration = Duration::from_millis(500);

/// Explanations for clients over the connection limit, written off the accept loop and bounded in number.
#[derive(Clone)]
pub(crate) struct Refusals {
    max: usize,
    in_flight: Arc<Semaphore>,
}

impl Refusals {
    pub(crate) fn new(max: usize) -> Refusals {
        Refusals { max, in_flight: Arc::new(Semaphore::new(REFUSALS_IN_FLIGHT)) }
    }

    /// Tells a client over the connection limit why it is closed (one line, never blocking the caller), then
    /// drops it.
    pub(crate) fn refuse(&self, stream: Stream) {
        let max = self.max;
        tracing::warn!(max, "connection limit reached; refused a connection");
        let Ok(permit) = self.in_flight.clone().try_acquire_owned() else { return };
        let error = ErrorObject::new(
            error_codes::SYNC_CENTER_ERROR,
            HResult::E_OUTOFMEMORY.code,
            HResult::E_OUTOFMEMORY.name,
            format!("too many connections: this daemon serves at most {max} at once; try again when one closes"),
        );
        let line = format!("{}\n", error_line(None, error));
        tokio::spawn(async move {
            let _permit = permit;
            if let Ok(Ok(())) = tokio::time::timeout(REFUSAL_WAIT, stream.writable()).await {
                let _ = stream.try_write(line.as_bytes());
            }
        });
    }
}

/// Writes the outbox's lines to the socket, a burst at a time.
fn spawn_writer(write: WriteHalf, mut rx: mpsc::Receiver<String>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut sink = FramedWrite::new(write, LineCodec::default());
        while let Some(line) = rx.recv().await {
            if sink.feed(line).await.is_err() {
                return;
            }
            while let Ok(line) = rx.try_recv() {
                if sink.feed(line).await.is_err() {
                    return;
                }
            }
            if SinkExt::<String>::flush(&mut sink).await.is_err() {
                return;
            }
        }
    })
}

/// What every connection's task shares.
#[derive(Clone, Debug)]
pub(crate) struct ConnShared {
    pub(crate) hub: mpsc::Sender<HubMsg>,
    /// Where a connection whose queue turns busy tells the hub.
    pub(crate) ready: Arc<ReadyList>,
    pub(crate) line_timeout: Duration,
    /// Turns true once the daemon has flushed its store and is about to return.
    pub(crate) stopping: watch::Receiver<bool>,
    /// The bulk lane, where a flooding connection parses (see `lanes`).
    pub(crate) bulk: Handle,
}

impl ConnShared {
    pub(crate) fn new(
        (hub, ready): (mpsc::Sender<HubMsg>, Arc<ReadyList>),
        line_timeout: Duration,
        stopping: watch::Receiver<bool>,
        bulk: Handle,
    ) -> Self {
        Self { hub, ready, line_timeout, stopping, bulk }
    }
}

/// Serves one connection until it closes, the hub goes away or the daemon is stopping; `slot` is its place
/// under the connection limit, given back as soon as the client is gone.
pub(crate) async fn serve(stream: Stream, conn: ConnId, shared: ConnShared, slot: OwnedSemaphorePermit) {
    let ConnShared { hub, ready, line_timeout, stopping, bulk } = shared;
    let (read, write) = stream.into_split();
    let (tx, rx) = mpsc::channel::<String>(OUTBOX_CAPACITY);
    let out = Outbox::new(tx);
    let inbound = Arc::new(Inbound::new(INBOUND_CAPACITY));
    if hub.send(HubMsg::Open { conn, out: out.clone(), inbound: Some(inbound.clone()) }).await.is_err() {
        return;
    }
    let mut writer = spawn_writer(write, rx);
    let queue = Queue { conn, ready, inbound };
    let reader = Reader { read, input: Input::new(), line_timeout, out: out.clone(), stopping, queue };
    read_in_lanes(reader, &bulk).await;
    drop(slot);
    let _ = hub.send(HubMsg::Closed { conn }).await;
    let overflowed = out.has_overflowed();
    drop(out);
    // The last lines (an error that explains the close) get a bounded time to leave; a client that does not
    // read them does not keep the writer, and its socket, alive.
    if overflowed || tokio::time::timeout(FINAL_FLUSH, &mut writer).await.is_err() {
        writer.abort();
    }
}

/// Reads a connection until it closes: on the control lane (this task) while it is quiet, on the bulk lane
/// while its reads come back full.
async fn read_in_lanes(mut reader: Reader, bulk: &Handle) {
    loop {
        if reader.run(Lane::Control).await.is_none() {
            return;
        }
        let moved = bulk.spawn(async move {
            let next = reader.run(Lane::Bulk).await;
            next.map(|()| reader)
        });
        match moved.await {
            Ok(Some(back)) => reader = back,
            Ok(None) | Err(_) => return,
        }
    }
}

/// The reading side of a connection.
struct Reader {
    read: ReadHalf,
    input: Input,
    line_timeout: Duration,
    out: Outbox,
    stopping: watch::Receiver<bool>,
    queue: Queue,
}

impl Reader {
    /// Reads on `lane` until the connection must close (`None`) or belongs on the other lane (`Some`): on the
    /// control lane a full read, or [`PROGRESS_READS_TO_MOVE`] reads of running progress only; on the bulk lane
    /// a read that drained the socket and brought a call. A flood's sender pausing between its writes does not
    /// move to and fro: its reads are progress.
    async fn run(&mut self, lane: Lane) -> Option<()> {
        let mut progress_reads = 0;
        loop {
            if self.out.has_overflowed() {
                return None;
            }
            // A silent client that stopped reading is closed as soon as its queue overflows, not at its next
            // line.
            let eof = match tokio::select! {
                r = self.input.read(&mut self.read, self.line_timeout) => r,
                () = self.out.overflowed() => return None,
                _ = self.stopping.wait_for(|s| *s) => return None,
            } {
                Read::Bytes => false,
                Read::End => true,
                Read::Failed => return None,
                Read::TimedOut => {
                    self.timed_out();
                    return None;
                }
            };
            let backlog = self.input.has_backlog();
            let lines = self.input.lines(self.queue.conn, eof);
            let took = take_lines(&self.queue, &self.out, &self.stopping, lines).await.filter(|_| !eof)?;
            match took {
                Took::Calls => progress_reads = 0,
                Took::Progress => progress_reads += 1,
                Took::Nothing => {}
            }
            let moves = match lane {
                Lane::Control => backlog || progress_reads >= PROGRESS_READS_TO_MOVE,
                Lane::Bulk => !backlog && took == Took::Calls,
            };
            if moves {
                return Some(());
            }
            // On the control lane a connection whose socket always has more would keep the thread for a whole
            // cooperative budget (about a megabyte of reports): every other task there, the hub first among
            // them, gets its turn after each read. On the bulk lane the budget is what shares the threads.
            if lane == Lane::Control {
                tokio::task::yield_now().await;
            }
        }
    }

    fn timed_out(&self) {
        tracing::warn!(
            conn = self.queue.conn,
            "a client left a line unfinished past the line timeout; disconnecting it"
        );
        let message = format!(
            "a line was begun and not finished within {} s; closing the connection",
            self.line_timeout.as_secs_f64()
        );
        self.out.send(error_line(None, ErrorObject::invalid(error_codes::INVALID_REQUEST, message)));
    }
}

/// What a read brought.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Took {
    /// No whole line that needs the hub.
    Nothing,
    /// Running progress only.
    Progress,
    /// A call, or a line answered in order with the calls.
    Calls,
}

/// Queues what every whole line buffered amounts to (parsed in place). `None` when the connection must close.
async fn take_lines(
    queue: &Queue,
    out: &Outbox,
    stopping: &watch::Receiver<bool>,
    mut lines: Lines<'_>,
) -> Option<Took> {
    let mut took = Took::Nothing;
    while let Some(parsed) = lines.next_parsed() {
        took = took.max_with(&parsed);
        if queue.put(parsed).ok()? {
            wait_for_room(queue, out, stopping.clone()).await?;
        }
    }
    Some(took)
}

impl Took {
    fn max_with(self, parsed: &Parsed) -> Took {
        match parsed {
            Parsed::Nothing => self,
            Parsed::Progress(_) if self == Took::Nothing => Took::Progress,
            Parsed::Progress(_) => self,
            Parsed::Call(..) | Parsed::Reply(_) => Took::Calls,
        }
    }
}

/// Holds the reading while the queue is full; `None` when the connection must close meanwhile.
async fn wait_for_room(queue: &Queue, out: &Outbox, mut stopping: watch::Receiver<bool>) -> Option<()> {
    tokio::select! {
        () = queue.inbound.wait_for_room() => Some(()),
        () = out.overflowed() => None,
        _ = stopping.wait_for(|s| *s) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_of(lines: &[&str]) -> Took {
        let mut last = LastTarget::default();
        lines.iter().fold(Took::Nothing, |took, line| took.max_with(&parse_line(line.as_bytes(), 1, &mut last)))
    }

    #[test]
    fn a_read_is_progress_only_when_nothing_in_it_needs_an_answer() {
        const SESSION: &str = "6f1c1a34-1d6b-4c59-9d0c-8d8a2c1e5b01";
        let progress = format!(
            r#"{{"jsonrpc":"2.0","method":"session.report_progress","params":{{"session":"{SESSION}","item":"a","status":"updating"}}}}"#
        );
        let status = r#"{"jsonrpc":"2.0","id":1,"method":"status"}"#;
        assert_eq!(read_of(&[]), Took::Nothing);
        assert_eq!(read_of(&["", "   "]), Took::Nothing, "blank lines");
        assert_eq!(read_of(&[&progress, &progress]), Took::Progress);
        assert_eq!(read_of(&[&progress, status, &progress]), Took::Calls, "a call anywhere in the read");
        assert_eq!(read_of(&[&progress, "not json"]), Took::Calls, "a refusal is answered in order with calls");
    }
}
