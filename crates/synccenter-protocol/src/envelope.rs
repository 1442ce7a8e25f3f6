//! The JSON-RPC 2.0 envelope: parsing one incoming line into a request or a notification, and the shapes of
//! responses, errors and pushes. Every error carries the spec's HRESULT in `data` (`shared/INTERFACE.md`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// A request ID: a number or a string, echoed back unchanged.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequestId {
    /// A numeric ID.
    Number(i64),
    /// A string ID.
    String(String),
}

/// JSON-RPC error codes used by the daemon.
pub mod error_codes {
    /// The line is not JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// The JSON is not a valid request object.
    pub const INVALID_REQUEST: i64 = -32600;
    /// No such method.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// The parameters do not fit the method.
    pub const INVALID_PARAMS: i64 = -32602;
    /// The daemon failed (storage).
    pub const INTERNAL_ERROR: i64 = -32603;
    /// Sync Center refused the call; `data` says which rule (HRESULT).
    pub const SYNC_CENTER_ERROR: i64 = -32000;
}

/// `error.data`: the spec's HRESULT as a number and its symbolic name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorData {
    /// E.g. `2147942487` (`0x80070057`).
    pub hresult: u32,
    /// E.g. `"E_INVALIDARG"`.
    pub name: String,
}

/// A JSON-RPC error object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// JSON-RPC code (see [`error_codes`]).
    pub code: i64,
    /// What was wrong, in words.
    pub message: String,
    /// The HRESULT.
    pub data: ErrorData,
}

impl ErrorObject {
    /// An error with the given code, HRESULT and message.
    pub fn new(code: i64, hresult: u32, name: &str, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), data: ErrorData { hresult, name: name.to_owned() } }
    }

    /// `E_INVALIDARG` with a JSON-RPC code.
    pub fn invalid(code: i64, message: impl Into<String>) -> Self {
        Self::new(code, 0x8007_0057, "E_INVALIDARG", message)
    }

    /// `E_POINTER` (a required argument is missing) with a JSON-RPC code.
    pub fn null_pointer(code: i64, message: impl Into<String>) -> Self {
        Self::new(code, 0x8000_4003, "E_POINTER", message)
    }
}

/// One parsed incoming message, borrowing from the line it came from.
#[derive(Clone, Debug)]
pub struct Incoming<'a> {
    /// `None` for a notification (no reply is sent).
    pub id: Option<RequestId>,
    /// The method name.
    pub method: String,
    /// The parameters as raw JSON text (an object), or `None` when absent or null.
    pub params: Option<&'a RawValue>,
}

/// Why a line is not a valid message; `id` is set when the line carried a usable one.
#[derive(Clone, Debug, PartialEq)]
pub struct IncomingError {
    /// The request ID, if it could be read.
    pub id: Option<RequestId>,
    /// The error to send back.
    pub error: ErrorObject,
}

#[derive(Deserialize)]
struct RawMessage<'a> {
    #[serde(default, borrow)]
    jsonrpc: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    method: Option<&'a RawValue>,
    #[serde(default, borrow)]
    params: Option<&'a RawValue>,
}

/// The answer to a line that is JSON but not an object.
const NOT_AN_OBJECT: &str = "a message must be a JSON object (batches are not supported)";

/// Distinguishes `"id": null` (present, and refused) from a missing `id`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// Whether the text's first non-whitespace byte opens a JSON object. serde reads a JSON array into a struct
/// field by field, so `["2.0", 7, "status"]` would pass for a request if this were not checked first.
pub(crate) fn starts_object(text: &[u8]) -> bool {
    text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// Parses one line (without its `\n`) in a single pass: the envelope is read and the parameters are kept as
/// raw text for the method's own typed parser. Only an object is a message: any other JSON value, an array
/// (a JSON-RPC batch, which the daemon does not take) included, is an invalid request with no `id`.
pub fn parse_incoming(line: &[u8]) -> Result<Incoming<'_>, IncomingError> {
    let fail = |id, code, msg: String| Err(IncomingError { id, error: ErrorObject::invalid(code, msg) });
    if !starts_object(line) {
        return match serde_json::from_slice::<serde::de::IgnoredAny>(line) {
            Err(e) => fail(None, error_codes::PARSE_ERROR, format!("not JSON: {e}")),
            Ok(_) => fail(None, error_codes::INVALID_REQUEST, NOT_AN_OBJECT.into()),
        };
    }
    let raw: RawMessage<'_> = match serde_json::from_slice(line) {
        Ok(r) => r,
        Err(e) => {
            return match serde_json::from_slice::<serde::de::IgnoredAny>(line) {
                Err(_) => fail(None, error_codes::PARSE_ERROR, format!("not JSON: {e}")),
                Ok(_) => fail(None, error_codes::INVALID_REQUEST, format!("not a JSON-RPC message: {e}")),
            };
        }
    };
    let id = match raw.id.map(|r| serde_json::from_str::<Value>(r.get())) {
        None => None,
        Some(Ok(Value::Number(n))) if n.is_i64() => Some(RequestId::Number(n.as_i64().unwrap_or_default())),
        Some(Ok(Value::String(s))) if s.len() <= 256 => Some(RequestId::String(s)),
        Some(_) => {
            let shown: String = raw.id.map(|r| r.get().chars().take(64).collect()).unwrap_or_default();
            return fail(
                None,
                error_codes::INVALID_REQUEST,
                format!("\"id\" must be an integer or a string of at most 256 bytes, not {shown}"),
            );
        }
    };
    if raw.jsonrpc.map(|r| serde_json::from_str::<&str>(r.get())).and_then(Result::ok) != Some("2.0") {
        return fail(id, error_codes::INVALID_REQUEST, "\"jsonrpc\" must be \"2.0\"".into());
    }
    let method = match raw.method.map(|r| serde_json::from_str::<String>(r.get())) {
        Some(Ok(m)) => m,
        _ => return fail(id, error_codes::INVALID_REQUEST, "\"method\" must be a string".into()),
    };
    let params = match raw.params {
        None => None,
        Some(p) if p.get().starts_with('{') => Some(p),
        Some(_) => return fail(id, error_codes::INVALID_PARAMS, "\"params\" must be an object".into()),
    };
    Ok(Incoming { id, method, params })
}

/// A message the server (or client) writes.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Outgoing<R: Serialize, P: Serialize> {
    /// A successful reply.
    Result {
        /// Always "2.0".
        jsonrpc: &'static str,
        /// The request's ID.
        id: RequestId,
        /// The result.
        result: R,
    },
    /// A failed reply; `id` is null when the request's ID could not be read.
    Error {
        /// Always "2.0".
        jsonrpc: &'static str,
        /// The request's ID.
        id: Option<RequestId>,
        /// The error.
        error: ErrorObject,
    },
    /// A request or notification.
    Call {
        /// Always "2.0".
        jsonrpc: &'static str,
        /// Present for a request.
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<RequestId>,
        /// The method.
        method: &'static str,
        /// The parameters.
        params: P,
    },
}

impl<R: Serialize, P: Serialize> Outgoing<R, P> {
    /// One line of JSON, without the `\n`.
    pub fn to_line(&self) -> String {
        // Serializing these plain structures cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_bad_lines() {
        let code = |l: &str| parse_incoming(l.as_bytes()).expect_err(l).error.code;
        assert_eq!(code("{"), error_codes::PARSE_ERROR);
        assert_eq!(code("[1]"), error_codes::INVALID_REQUEST);
        assert_eq!(code(r#"{"jsonrpc":"1.0","id":1,"method":"x"}"#), error_codes::INVALID_REQUEST);
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":1,"method":5}"#), error_codes::INVALID_REQUEST);
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#), error_codes::INVALID_REQUEST);
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}"#), error_codes::INVALID_PARAMS);
        let e = parse_incoming(br#"{"jsonrpc":"1.0","id":7,"method":"x"}"#).expect_err("bad version");
        assert_eq!(e.id, Some(RequestId::Number(7)));
        let ok = parse_incoming(br#"{"jsonrpc":"2.0","method":"m","params":{"a":1}}"#).expect("notification");
        assert_eq!(ok.id, None);
        assert_eq!(ok.method, "m");
    }

    #[test]
    fn an_array_is_never_a_message_and_carries_no_id() {
        // serde's derive would read these as a request and a notification, field by field.
        for line in [
            r#"["2.0", 97, "handler.register", {"handler": "arr", "name": "x"}]"#,
            r#" ["2.0", null, "session.report_progress", {"session": "s", "item": "i", "status": 1}]"#,
            "[1, 2, 3]",
            "[]",
            "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"status\"}]",
        ] {
            let e = parse_incoming(line.as_bytes()).expect_err(line);
            assert_eq!((e.id, e.error.code), (None, error_codes::INVALID_REQUEST), "{line}");
            assert_eq!(e.error.message, NOT_AN_OBJECT);
        }
        assert_eq!(parse_incoming(b"[1, 2").expect_err("cut").error.code, error_codes::PARSE_ERROR);
        assert_eq!(
            parse_incoming(b"\t{\"jsonrpc\":\"2.0\",\"method\":\"m\"}").map(|m| m.method).ok(),
            Some("m".into())
        );
    }

    #[test]
    fn error_codes_are_the_json_rpc_2_0_numbers() {
        // JSON-RPC 2.0, section 5.1; -32000 is the first of the range left to the server.
        assert_eq!(error_codes::PARSE_ERROR, -32700);
        assert_eq!(error_codes::INVALID_REQUEST, -32600);
        assert_eq!(error_codes::METHOD_NOT_FOUND, -32601);
        assert_eq!(error_codes::INVALID_PARAMS, -32602);
        assert_eq!(error_codes::INTERNAL_ERROR, -32603);
        assert_eq!(error_codes::SYNC_CENTER_ERROR, -32000);
    }

    #[test]
    fn a_string_id_is_at_most_256_bytes() {
        let line = |id: &str| format!(r#"{{"jsonrpc":"2.0","id":"{id}","method":"m"}}"#);
        for id in ["", "a", &"x".repeat(256), &"é".repeat(128)] {
            let line = line(id);
            let ok = parse_incoming(line.as_bytes()).expect(id);
            assert_eq!(ok.id, Some(RequestId::String(id.to_owned())));
        }
        // Bytes, not characters: 129 two-byte characters are 258 bytes.
        for id in [&"x".repeat(257), &"é".repeat(129)] {
            let line = line(id);
            let e = parse_incoming(line.as_bytes()).expect_err(id);
            assert_eq!((e.id, e.error.code), (None, error_codes::INVALID_REQUEST));
            assert!(e.error.message.starts_with("\"id\" must be an integer or a string of at most 256 bytes"));
        }
    }

    #[test]
    fn null_params_are_no_params() {
        let ok = parse_incoming(br#"{"jsonrpc":"2.0","id":3,"method":"status","params":null}"#).expect("null params");
        assert_eq!((ok.id, ok.method.as_str(), ok.params.is_none()), (Some(RequestId::Number(3)), "status", true));
        let ok = parse_incoming(br#"{"jsonrpc":"2.0","id":3,"method":"status","params":{}}"#).expect("{} params");
        assert_eq!(ok.params.map(RawValue::get), Some("{}"));
        for params in ["\"null\"", "0", "true"] {
            let line = format!(r#"{{"jsonrpc":"2.0","id":3,"method":"status","params":{params}}}"#);
            let e = parse_incoming(line.as_bytes()).expect_err(&line);
            assert_eq!((e.id, e.error.code), (Some(RequestId::Number(3)), error_codes::INVALID_PARAMS), "{line}");
        }
    }

    #[test]
    fn outgoing_lines_are_exact() {
        type Out = Outgoing<Value, Value>;
        let reply =
            Out::Result { jsonrpc: "2.0", id: RequestId::String("a".into()), result: serde_json::json!({"ok": true}) };
        assert_eq!(reply.to_line(), r#"{"jsonrpc":"2.0","id":"a","result":{"ok":true}}"#);
        let error = ErrorObject::invalid(error_codes::PARSE_ERROR, "not JSON");
        let refused = Out::Error { jsonrpc: "2.0", id: None, error };
        assert_eq!(
            refused.to_line(),
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"not JSON","data":{"hresult":2147942487,"name":"E_INVALIDARG"}}}"#
        );
        let push =
            Out::Call { jsonrpc: "2.0", id: None, method: "session.cancel", params: serde_json::json!({"s": 1}) };
        assert_eq!(push.to_line(), r#"{"jsonrpc":"2.0","method":"session.cancel","params":{"s":1}}"#);
        let request =
            Out::Call { jsonrpc: "2.0", id: Some(RequestId::Number(-4)), method: "ping", params: Value::Null };
        assert_eq!(request.to_line(), r#"{"jsonrpc":"2.0","id":-4,"method":"ping","params":null}"#);
    }
}
