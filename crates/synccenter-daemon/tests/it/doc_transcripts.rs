//! Keeps `docs/protocol.md` true: every ```` ```json ```` block with `-> ` lines is a transcript, and all of them
//! are replayed in document order against one real daemon. This module does not judge the prose; it only
//! checks that what the document shows a client sending gets exactly the answers the document shows.
//!
//! The scheme (also described in the document's "Reading the transcripts"):
//! - `-> LINE` sends `LINE`; `<- JSON` expects the next message received; both may start with `[name] ` to use
//!   another connection than `client`. Connections open on first use and stay open to the end.
//! - A `-> ` line that is not JSON is sent unchanged.
//! - In expected lines, `"<time>"` matches any RFC 3339 time, `"<any>"` any value, and any other `"<name>"`
//!   binds the value received the first time and must equal it afterwards; a bound `<name>` inside a longer
//!   string, or in a sent line, is replaced by its value. A string ending in `<...>` matches any string that
//!   starts with what precedes it (for messages that quote a parser's words).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde_json::Value;
use synccenter_test_support::{RawConn, TestDaemon};

/// One transcript line.
#[derive(Debug)]
struct Step {
    /// Line number in the document (1-based), for messages.
    line: usize,
    conn: String,
    send: bool,
    text: String,
}

fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/protocol.md")
}

/// Splits an optional `[name] ` prefix from a line.
fn connection(raw: &str) -> (String, &str) {
    match raw.strip_prefix('[').and_then(|r| r.split_once("] ")) {
        Some((name, rest)) => (name.to_owned(), rest),
        None => ("client".to_owned(), raw),
    }
}

/// The transcript blocks of a Markdown document, in order; other ```` ```json ```` blocks are skipped.
fn transcripts(doc: &str) -> Vec<Vec<Step>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<(usize, &str)>> = None;
    for (n, raw) in doc.lines().enumerate() {
        match current.as_mut() {
            None if raw.trim_start().starts_with("```json") => current = Some(Vec::new()),
            None => {}
            Some(_) if raw.trim_start().starts_with("```") => {
                let lines = current.take().unwrap_or_default();
                if lines.iter().any(|(_, l)| connection(l).1.starts_with("-> ")) {
                    blocks.push(lines.into_iter().filter_map(|(line, raw)| step(line, raw)).collect());
                }
            }
            Some(lines) => lines.push((n + 1, raw)),
        }
    }
    assert!(current.is_none(), "docs/protocol.md: a ```json block is not closed");
    blocks
}

/// One line of a transcript; blank lines are skipped and anything else is an error.
fn step(line: usize, raw: &str) -> Option<Step> {
    let (conn, rest) = connection(raw);
    if let Some(text) = rest.strip_prefix("-> ") {
        Some(Step { line, conn, send: true, text: text.to_owned() })
    } else if let Some(text) = rest.strip_prefix("<- ") {
        Some(Step { line, conn, send: false, text: text.to_owned() })
    } else {
        assert!(raw.trim().is_empty(), "docs/protocol.md:{line}: not a transcript line: {raw}");
        None
    }
}

/// Placeholder bindings.
#[derive(Default)]
struct Bindings(BTreeMap<String, Value>);

fn placeholder(s: &str) -> Option<&str> {
    let name = s.strip_prefix('<')?.strip_suffix('>')?;
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then_some(name)
}

impl Bindings {
    /// Replaces bound placeholders inside a string.
    fn expand(&self, s: &str) -> String {
        let mut out = s.to_owned();
        for (name, value) in &self.0 {
            let text = match value {
                Value::String(v) => v.clone(),
                other => other.to_string(),
            };
            out = out.replace(&format!("<{name}>"), &text);
        }
        out
    }

    /// A value to send, with bound placeholders replaced.
    fn substitute(&self, v: &Value, line: usize) -> Value {
        match v {
            Value::String(s) => match placeholder(s) {
                Some(name) => {
                    self.0.get(name).cloned().unwrap_or_else(|| panic!("docs/protocol.md:{line}: <{name}> is unbound"))
                }
                None => Value::String(self.expand(s)),
            },
            Value::Array(a) => Value::Array(a.iter().map(|x| self.substitute(x, line)).collect()),
            Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), self.substitute(x, line))).collect()),
            other => other.clone(),
        }
    }

    /// Whether `actual` matches `expected`, binding placeholders on the way; `Err` says where it differs.
    fn matches(&mut self, expected: &Value, actual: &Value, at: &str) -> Result<(), String> {
        let differ = || Err(format!("at {at}: expected {expected}, got {actual}"));
        match (expected, actual) {
            (Value::String(e), _) if placeholder(e).is_some() => {
                let name = placeholder(e).unwrap_or_default();
                match name {
                    "any" => Ok(()),
                    "time" => match actual.as_str().and_then(synccenter_protocol::parse_time) {
                        Some(_) => Ok(()),
                        None => Err(format!("at {at}: expected an RFC 3339 time, got {actual}")),
                    },
                    _ => match self.0.get(name) {
                        Some(bound) if bound == actual => Ok(()),
                        Some(bound) => Err(format!("at {at}: <{name}> is {bound}, got {actual}")),
                        None => {
                            self.0.insert(name.to_owned(), actual.clone());
                            Ok(())
                        }
                    },
                }
            }
            (Value::String(e), Value::String(a)) => {
                let e = self.expand(e);
                let same = match e.strip_suffix("<...>") {
                    Some(prefix) => a.starts_with(prefix),
                    None => e == *a,
                };
                if same { Ok(()) } else { differ() }
            }
            (Value::Array(e), Value::Array(a)) => {
                if e.len() != a.len() {
                    return differ();
                }
                for (i, (e, a)) in e.iter().zip(a).enumerate() {
                    self.matches(e, a, &format!("{at}[{i}]"))?;
                }
                Ok(())
            }
            (Value::Object(e), Value::Object(a)) => {
                let mut ek: Vec<_> = e.keys().collect();
                let mut ak: Vec<_> = a.keys().collect();
                ek.sort();
                ak.sort();
                if ek != ak {
                    return Err(format!("at {at}: expected keys {ek:?}, got {ak:?} in {actual}"));
                }
                for (k, e) in e {
                    self.matches(e, &a[k], &format!("{at}.{k}"))?;
                }
                Ok(())
            }
            _ if expected == actual => Ok(()),
            _ => differ(),
        }
    }
}

#[tokio::test]
async fn the_protocol_document_matches_the_daemon() {
    let doc = std::fs::read_to_string(doc_path()).expect("read docs/protocol.md");
    let blocks = transcripts(&doc);
    assert!(blocks.len() >= 20, "only {} transcripts found in docs/protocol.md", blocks.len());
    let d = TestDaemon::start().await;
    let mut conns: HashMap<String, RawConn> = HashMap::new();
    let mut bindings = Bindings::default();
    for step in blocks.iter().flatten() {
        let line = step.line;
        if !conns.contains_key(&step.conn) {
            conns.insert(step.conn.clone(), RawConn::connect(&d.socket).await);
        }
        let c = conns.get_mut(&step.conn).expect("opened above");
        if step.send {
            let text = match serde_json::from_str::<Value>(&step.text) {
                Ok(v) => bindings.substitute(&v, line).to_string(),
                Err(_) => step.text.clone(),
            };
            c.send_line(&text).await;
        } else {
            let expected: Value = serde_json::from_str(&step.text)
                .unwrap_or_else(|e| panic!("docs/protocol.md:{line}: expected line is not JSON: {e}"));
            let actual = c.read_message().await;
            if let Err(why) = bindings.matches(&expected, &actual, "$") {
                panic!(
                    "docs/protocol.md:{line} [{}]: {why}\n  expected: {}\n  received: {actual}",
                    step.conn, step.text
                );
            }
        }
    }
}

#[test]
fn placeholders_bind_match_and_substitute() {
    let mut b = Bindings::default();
    let e: Value =
        serde_json::from_str(r#"{"s":"<session>","t":"<time>","x":"<any>","m":"no session <session>"}"#).expect("json");
    let a = serde_json::json!({"s": "abc", "t": "2026-11-25T07:56:24.815386Z", "x": [1], "m": "no session abc"});
    assert_eq!(b.matches(&e, &a, "$"), Ok(()));
    let wrong = serde_json::json!({"s": "abd", "t": "2026-11-25T07:56:24.815386Z", "x": 1, "m": "no session abc"});
    assert!(b.matches(&e, &wrong, "$").is_err(), "a bound placeholder must keep its value");
    let bad_time = serde_json::json!({"s": "abc", "t": "soon", "x": 1, "m": "no session abc"});
    assert!(b.matches(&e, &bad_time, "$").is_err());
    let extra = serde_json::json!({"s": "abc", "t": "2026-11-25T07:56:24Z", "x": 1, "m": "no session abc", "y": 2});
    assert!(b.matches(&e, &extra, "$").is_err(), "unexpected keys must fail");
    let prefix = serde_json::json!("not JSON: <...>");
    assert_eq!(b.matches(&prefix, &serde_json::json!("not JSON: expected value"), "$"), Ok(()));
    assert!(b.matches(&prefix, &serde_json::json!("JSON"), "$").is_err());
    let sent = b.substitute(&serde_json::json!({"session": "<session>", "text": "in <session>"}), 1);
    assert_eq!(sent, serde_json::json!({"session": "abc", "text": "in abc"}));
    let steps = transcripts("text\n```json\n-> {}\n[user] <- {}\n\n```\n```json\n{\"not\":\"a transcript\"}\n```\n");
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0][1].conn, "user");
    assert!(!steps[0][1].send);
}
