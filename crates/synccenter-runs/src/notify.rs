//! The `sd_notify` protocol as synccenter reads it: datagrams of newline-separated `KEY=VALUE` assignments,
//! sent by a command to `$NOTIFY_SOCKET` (`systemd-notify`, `sd_notify(3)`, Python's `sdnotify`).
//!
//! [`parse`] turns one datagram into typed [`NotifyMessage`]s, following systemd's own reading: a datagram
//! longer than [`MAX_DATAGRAM`] or with an embedded NUL is refused whole; within it, a line that is not
//! `KEY=VALUE` (an upper-case key of letters, digits and `_`), is not UTF-8, or has a value the key does not
//! accept (`READY=2`, `ERRNO=x`) is ignored and counted, and the rest still applies. [`Intake`] puts the
//! datagrams a run receives through the bounds around that: who sent it (the runner checks the sender's
//! credentials and says whether it belongs to the run), how many per second ([`MAX_PER_SECOND`]), and keeps
//! the counts for one summary warning at the end of the run.
//!
//! What the messages *do* (a status becomes the item's progress text, a watchdog keeps the run alive, …) is
//! the runner's business; this module has no I/O, no clock (the time since the run started is an argument)
//! and never panics on any input.

use std::time::Duration;

use synccenter_core::{MAX_PROGRESS_TEXT_UNITS, truncate_marked};

use crate::units;

/// The longest datagram accepted, in bytes: systemd's own bound (`PIPE_BUF`), so whatever systemd accepts is
/// accepted here.
pub const MAX_DATAGRAM: usize = 4096;
/// Datagrams accepted per second of a run; the rest of that second's datagrams are dropped (and counted).
pub const MAX_PER_SECOND: u32 = 200;
/// The longest key kept in [`NotifyMessage::Unsupported`], in bytes.
const MAX_KEY_BYTES: usize = 64;

/// One assignment of a notification, as synccenter understands it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyMessage {
    /// `READY=1`: start-up finished.
    Ready,
    /// `RELOADING=1`: the program is reloading its configuration.
    Reloading,
    /// `STOPPING=1`: the program is shutting down.
    Stopping,
    /// `STATUS=…`: a human status line (cut to a progress text's length, marked with `…`).
    Status(String),
    /// `ERRNO=n`: the program failed with this `errno`.
    Errno(u32),
    /// `WATCHDOG=1`: the keep-alive ping.
    Watchdog,
    /// `WATCHDOG=trigger`: the program asks to be treated as hung.
    WatchdogTrigger,
    /// `WATCHDOG_USEC=n`: the program sets its own watchdog period.
    WatchdogUsec(Duration),
    /// `EXTEND_TIMEOUT_USEC=n`: the program needs this much more time from now.
    ExtendTimeout(Duration),
    /// `BARRIER=1`: the sender waits for the descriptor it passed to be closed.
    Barrier,
    /// A well-formed assignment synccenter does not act on (`MAINPID`, `FDSTORE`, …); the key, clipped.
    Unsupported(String),
}

/// One datagram's assignments.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parsed {
    /// What was understood, in the datagram's order (a later `STATUS=` replaces an earlier one).
    pub messages: Vec<NotifyMessage>,
    /// Lines that were malformed, not UTF-8, or had a value their key does not take.
    pub ignored: usize,
}

/// Why a whole datagram was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Longer than [`MAX_DATAGRAM`] (the length as received, which may be a lower bound).
    #[error("a notification of {0} bytes is longer than {MAX_DATAGRAM}")]
    TooLong(usize),
    /// A NUL byte inside (systemd refuses those too).
    #[error("a notification contains a NUL byte")]
    Nul,
}

/// Reads one datagram. See the module docs for what is refused and what is ignored.
pub fn parse(datagram: &[u8]) -> Result<Parsed, Refused> {
    if datagram.len() > MAX_DATAGRAM {
        return Err(Refused::TooLong(datagram.len()));
    }
    if datagram.contains(&0) {
        return Err(Refused::Nul);
    }
    let mut parsed = Parsed::default();
    for line in datagram.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        match std::str::from_utf8(line).ok().and_then(assignment) {
            Some(message) => parsed.messages.push(message),
            None => parsed.ignored += 1,
        }
    }
    Ok(parsed)
}

/// One `KEY=VALUE` line, or `None` when it is malformed or its value is not one its key takes.
fn assignment(line: &str) -> Option<NotifyMessage> {
    let (key, value) = line.split_once('=')?;
    let key_ok = !key.is_empty() && key.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if !key_ok {
        return None;
    }
    let one = |m: NotifyMessage| (value == "1").then_some(m);
    match key {
        "READY" => one(NotifyMessage::Ready),
        "RELOADING" => one(NotifyMessage::Reloading),
        "STOPPING" => one(NotifyMessage::Stopping),
        "BARRIER" => one(NotifyMessage::Barrier),
        "WATCHDOG" if value == "trigger" => Some(NotifyMessage::WatchdogTrigger),
        "WATCHDOG" => one(NotifyMessage::Watchdog),
        "STATUS" => Some(NotifyMessage::Status(truncate_marked(value, MAX_PROGRESS_TEXT_UNITS))),
        "ERRNO" => value.parse::<u32>().ok().map(NotifyMessage::Errno),
        "WATCHDOG_USEC" => micros(value).filter(|d| !d.is_zero()).map(NotifyMessage::WatchdogUsec),
        "EXTEND_TIMEOUT_USEC" => micros(value).map(NotifyMessage::ExtendTimeout),
        other => Some(NotifyMessage::Unsupported(units::clip_to(other, MAX_KEY_BYTES).to_owned())),
    }
}

/// A count of microseconds in decimal digits only (no sign, no spaces).
fn micros(value: &str) -> Option<Duration> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse::<u64>().ok().map(Duration::from_micros)
}

/// What became of the datagrams of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Datagrams applied (possibly with some of their lines ignored).
    pub accepted: u64,
    /// Datagrams from a sender outside the run's process tree (or without credentials).
    pub outsiders: u64,
    /// Datagrams dropped because the run sent more than [`MAX_PER_SECOND`].
    pub over_rate: u64,
    /// Datagrams refused whole ([`Refused`]).
    pub refused: u64,
    /// Lines ignored inside accepted datagrams.
    pub ignored_lines: u64,
}

/// The bounds every datagram of a run goes through, and their counts.
#[derive(Debug, Clone, Default)]
pub struct Intake {
    window: Option<u64>,
    in_window: u32,
    counts: Counts,
}

/// Who sent a datagram, as the runner established from its credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// A process of the run's own tree, of the runner's own user.
    Run,
    /// Anyone else, or a datagram without credentials.
    Outsider,
}

impl Intake {
    /// A fresh intake for a run.
    pub fn new() -> Intake {
        Intake::default()
    }

    /// One datagram received `since_start` into the run; `len` is its length as received (it may exceed
    /// `data.len()` when the receiver's buffer cut it). Returns what to apply: nothing when it is refused.
    pub fn datagram(&mut self, since_start: Duration, sender: Sender, data: &[u8], len: usize) -> Vec<NotifyMessage> {
        if sender == Sender::Outsider {
            self.counts.outsiders += 1;
            return Vec::new();
        }
        let second = since_start.as_secs();
        if self.window != Some(second) {
            self.window = Some(second);
            self.in_window = 0;
        }
        if self.in_window >= MAX_PER_SECOND {
            self.counts.over_rate += 1;
            return Vec::new();
        }
        self.in_window += 1;
        let parsed = if len > data.len() { Err(Refused::TooLong(len)) } else { parse(data) };
        match parsed {
            Ok(parsed) => {
                self.counts.accepted += 1;
                self.counts.ignored_lines += parsed.ignored as u64;
                parsed.messages
            }
            Err(_) => {
                self.counts.refused += 1;
                Vec::new()
            }
        }
    }

    /// The counts so far.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// A warning for the end of the run when anything was refused, dropped or ignored, e.g. `sd_notify: 1
    /// message from outside the run's process tree refused`.
    pub fn summary(&self) -> Option<String> {
        let c = self.counts;
        let parts: Vec<String> = [
            (c.outsiders, "from outside the run's process tree refused"),
            (c.over_rate, "dropped over the rate limit"),
            (c.refused, "refused as too long or containing NUL"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {} {what}", if n == 1 { "message" } else { "messages" }))
        .chain((c.ignored_lines > 0).then(|| {
            let n = c.ignored_lines;
            format!("{n} malformed {} ignored", if n == 1 { "line" } else { "lines" })
        }))
        .collect();
        (!parts.is_empty()).then(|| format!("sd_notify: {}", parts.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use NotifyMessage as M;

    fn ok(data: &[u8]) -> Parsed {
        parse(data).expect("accepted")
    }

    #[test]
    fn the_keys_synccenter_acts_on() {
        let p = ok(b"READY=1\nSTATUS=Copying photos\nWATCHDOG=1\nERRNO=5\nEXTEND_TIMEOUT_USEC=2500000\nSTOPPING=1\n");
        assert_eq!(
            p.messages,
            [
                M::Ready,
                M::Status("Copying photos".into()),
                M::Watchdog,
                M::Errno(5),
                M::ExtendTimeout(Duration::from_micros(2_500_000)),
                M::Stopping
            ]
        );
        assert_eq!(p.ignored, 0);
        assert_eq!(ok(b"BARRIER=1").messages, [M::Barrier]);
        assert_eq!(ok(b"WATCHDOG=trigger\nRELOADING=1").messages, [M::WatchdogTrigger, M::Reloading]);
        assert_eq!(ok(b"WATCHDOG_USEC=3000000").messages, [M::WatchdogUsec(Duration::from_secs(3))]);
        assert_eq!(
            ok(b"MAINPID=42\nFDSTORE=1").messages,
            [M::Unsupported("MAINPID".into()), M::Unsupported("FDSTORE".into())]
        );
        assert_eq!(ok(b"STATUS=").messages, [M::Status(String::new())], "an empty status clears the text");
        assert_eq!(ok(b"STATUS=a=b").messages, [M::Status("a=b".into())], "the value keeps its own '='");
    }

    #[test]
    fn malformed_lines_are_ignored_and_the_rest_applies() {
        let p = ok(b"READY=2\nno equals\n=1\nlower=1\nERRNO=-1\nERRNO=x\nEXTEND_TIMEOUT_USEC=+5\nWATCHDOG_USEC=0\nSTATUS=ok\n\xff\xfe=1\nSTATUS=\xc3\x28");
        assert_eq!(p.messages, [M::Status("ok".into())]);
        assert_eq!(p.ignored, 10);
        assert_eq!(ok(b"").messages, []);
        assert_eq!(ok(b"\n\n").ignored, 0, "empty lines are not errors");
    }

    #[test]
    fn a_long_or_nul_datagram_is_refused_whole() {
        let long = vec![b'A'; MAX_DATAGRAM + 1];
        assert_eq!(parse(&long), Err(Refused::TooLong(MAX_DATAGRAM + 1)));
        assert_eq!(parse(b"READY=1\nSTATUS=a\0b"), Err(Refused::Nul));
        let mut exact = b"STATUS=".to_vec();
        exact.resize(MAX_DATAGRAM, b'x');
        assert!(parse(&exact).is_ok(), "exactly the limit is accepted");
    }

    #[test]
    fn a_status_is_cut_to_a_progress_text() {
        let long = format!("STATUS={}", "é".repeat(400));
        let [M::Status(text)] = &ok(long.as_bytes()).messages[..] else { panic!("one status") };
        assert_eq!(synccenter_core::utf16_len(text), MAX_PROGRESS_TEXT_UNITS);
        assert!(text.ends_with('…'));
    }

    #[test]
    fn the_intake_refuses_outsiders_and_bounds_the_rate() {
        let mut intake = Intake::new();
        let second = Duration::from_secs(1);
        assert_eq!(intake.datagram(second, Sender::Outsider, b"STATUS=forged", 13), []);
        for _ in 0..MAX_PER_SECOND {
            assert_eq!(intake.datagram(second, Sender::Run, b"WATCHDOG=1", 10), [M::Watchdog]);
        }
        assert_eq!(intake.datagram(second, Sender::Run, b"WATCHDOG=1", 10), [], "over the rate");
        assert_eq!(intake.datagram(second * 2, Sender::Run, b"READY=1", 7), [M::Ready], "a new second");
        assert_eq!(intake.datagram(second * 2, Sender::Run, b"READY=1", 9000), [], "cut by the receiver");
        assert_eq!(intake.datagram(second * 2, Sender::Run, b"x\nREADY=1", 9), [M::Ready]);
        let c = intake.counts();
        assert_eq!(
            c,
            Counts { accepted: MAX_PER_SECOND as u64 + 2, outsiders: 1, over_rate: 1, refused: 1, ignored_lines: 1 }
        );
        assert_eq!(
            intake.summary().as_deref(),
            Some(
                "sd_notify: 1 message from outside the run's process tree refused; 1 message dropped over the rate \
                 limit; 1 message refused as too long or containing NUL; 1 malformed line ignored"
            )
        );
        assert_eq!(Intake::new().summary(), None);
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_without_panic_and_within_bounds(data in proptest::collection::vec(proptest::num::u8::ANY, 0..5000)) {
            match parse(&data) {
                Ok(p) => {
                    proptest::prop_assert!(data.len() <= MAX_DATAGRAM && !data.contains(&0));
                    proptest::prop_assert!(p.messages.len() + p.ignored <= data.len());
                    for m in &p.messages {
                        if let M::Status(s) = m {
                            proptest::prop_assert!(synccenter_core::utf16_len(s) <= MAX_PROGRESS_TEXT_UNITS);
                        }
                    }
                }
                Err(Refused::TooLong(n)) => proptest::prop_assert!(n > MAX_DATAGRAM),
                Err(Refused::Nul) => proptest::prop_assert!(data.contains(&0)),
            }
        }

        #[test]
        fn assignment_lines_round_trip(status in "[^\n\0]{0,200}", errno: u32, usec: u64) {
            let text = format!("STATUS={status}\nERRNO={errno}\nEXTEND_TIMEOUT_USEC={usec}");
            let p = parse(text.as_bytes()).expect("accepted");
            proptest::prop_assert_eq!(p.ignored, 0);
            proptest::prop_assert_eq!(&p.messages[1], &M::Errno(errno));
            proptest::prop_assert_eq!(&p.messages[2], &M::ExtendTimeout(Duration::from_micros(usec)));
        }
    }
}
