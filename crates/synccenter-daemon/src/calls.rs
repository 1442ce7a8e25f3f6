//! Turns a method name and its JSON parameters into a typed call, on the connection's task so that the hub
//! only ever sees well-formed input. The `Call` enum and everything the daemon asks of a call (its name,
//! whether it must be stored before the reply, the host it names, the session it reports into) are generated
//! from the protocol's declarations (`synccenter_protocol::api`), so they cannot disagree with them.

use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;
use synccenter_core::{HResult, ItemId, SessionId};
use synccenter_protocol::api::{self, Method};
use synccenter_protocol::methods as m;
use synccenter_protocol::{ErrorObject, StatusWire, error_codes};

use crate::convert;

/// A required string left out is `E_POINTER`, other ill-typed parameters `E_INVALIDARG`.
fn params<T: DeserializeOwned>(method: &str, p: Option<&RawValue>) -> Result<T, ErrorObject> {
    m::decode_params(method, p)
}

fn unknown_method(method: &str) -> ErrorObject {
    let shown = match method.char_indices().nth(64) {
        Some((i, _)) => &method[..i],
        None => method,
    };
    ErrorObject::new(
        error_codes::METHOD_NOT_FOUND,
        HResult::E_NOTIMPL.code,
        HResult::E_NOTIMPL.name,
        format!("unknown method {shown:?}"),
    )
}

macro_rules! calls {
    ($($method:ident),+) => {
        /// Every method the daemon serves, with its parameters.
        #[derive(Debug)]
        pub(crate) enum Call {
            $($method(<api::$method as Method>::Params),)+
        }

        impl Call {
            /// Parses a call; unknown methods get `E_NOTIMPL`, ill-typed parameters `E_INVALIDARG`.
            pub(crate) fn parse(method: &str, p: Option<&RawValue>) -> Result<Call, ErrorObject> {
                $(if method == <api::$method as Method>::NAME {
                    return params(method, p).map(Call::$method);
                })+
                Err(unknown_method(method))
            }

            pub(crate) fn name(&self) -> &'static str {
                match self {
                    $(Call::$method(_) => <api::$method as Method>::NAME,)+
                }
            }

            /// Whether a successful call changes stored records (its reply waits for the commit).
            pub(crate) fn is_durable(&self) -> bool {
                match self {
                    $(Call::$method(p) => <api::$method as Method>::durable(p),)+
                }
            }

            /// The session the call reports into.
            pub(crate) fn session(&self) -> Option<&str> {
                match self {
                    $(Call::$method(p) => <api::$method as Method>::session(p),)+
                }
            }

            /// The host a forwardable call names.
            pub(crate) fn host(&self) -> Option<&str> {
                match self {
                    $(Call::$method(p) => <api::$method as Method>::host(p),)+
                }
            }

            /// The parameters as JSON without `host`, for the host that runs a forwarded call.
            pub(crate) fn params_for_host(&self) -> Value {
                let mut v = match self {
                    $(Call::$method(p) => serde_json::to_value(p).unwrap_or(Value::Null),)+
                };
                if let Some(fields) = v.as_object_mut() {
                    fields.remove("host");
                }
                v
            }
        }
    };
}

synccenter_protocol::for_each_method!(calls);

/// A progress report whose session and item IDs are read and valid, on the connection's task (in parallel with
/// other connections) rather than on the hub.
#[derive(Debug)]
pub(crate) struct Progress {
    pub(crate) target: (SessionId, ItemId),
    pub(crate) status: StatusWire,
    pub(crate) text: Option<String>,
    pub(crate) step: Option<u32>,
    pub(crate) max_step: Option<u32>,
    /// The amount in its unit, when the report gave one (`ReportProgressParams::amount`).
    pub(crate) amount: Option<m::AmountInfo>,
}

impl Progress {
    /// The report, or the error a bad ID gets.
    pub(crate) fn new(
        session: &str,
        item: &str,
        status: StatusWire,
        text: Option<String>,
        step: Option<u32>,
        max_step: Option<u32>,
    ) -> Result<Progress, ErrorObject> {
        Ok(Progress { target: read_target(session, item)?, status, text, step, max_step, amount: None })
    }

    pub(crate) fn from_params(p: m::ReportProgressParams) -> Result<Progress, ErrorObject> {
        let amount = p.amount();
        Ok(Progress { amount, ..Progress::new(&p.session, &p.item, p.status, p.text, p.step, p.max_step)? })
    }
}

/// The session and item IDs a report names, or the error a bad one gets.
fn read_target(session: &str, item: &str) -> Result<(SessionId, ItemId), ErrorObject> {
    Ok((convert::session_id(session)?, convert::item_id(item)?))
}

/// The IDs of the last valid progress report a connection sent, beside the text they were read from. A tool
/// reports one item many times over: its IDs are then checked and parsed once, and each later report of the
/// same item copies them.
#[derive(Debug, Default)]
pub(crate) struct LastTarget {
    session: String,
    item: String,
    target: Option<(SessionId, ItemId)>,
}

impl LastTarget {
    /// [`read_target`], copied from the last read when the text is the same.
    pub(crate) fn read(&mut self, session: &str, item: &str) -> Result<(SessionId, ItemId), ErrorObject> {
        if let Some(target) = &self.target
            && self.session == session
            && self.item == item
        {
            return Ok(target.clone());
        }
        let target = read_target(session, item)?;
        self.session.clear();
        self.session.push_str(session);
        self.item.clear();
        self.item.push_str(item);
        self.target = Some(target.clone());
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declared_method_parses_and_names_itself() {
        for info in api::ALL {
            match Call::parse(info.name, None) {
                Ok(call) => assert_eq!(call.name(), info.name),
                // Methods with required parameters refuse `{}`, but as bad parameters, never as unknown.
                Err(e) => assert_eq!(e.code, error_codes::INVALID_PARAMS, "{}: {}", info.name, e.message),
            }
        }
        assert_eq!(Call::parse("no.such", None).expect_err("unknown").code, error_codes::METHOD_NOT_FOUND);
    }

    #[test]
    fn durability_and_hosts_come_from_the_declarations() {
        let raw = RawValue::from_string(r#"{"session":"s","item":"i","status":"succeeded"}"#.into()).expect("raw");
        assert!(Call::parse("session.report_progress", Some(&raw)).expect("final").is_durable());
        let raw = RawValue::from_string(r#"{"session":"s","item":"i","status":"updating"}"#.into()).expect("raw");
        let running = Call::parse("session.report_progress", Some(&raw)).expect("running");
        assert!(!running.is_durable());
        assert_eq!(running.session(), Some("s"));
        let raw = RawValue::from_string(r#"{"handler":"h","host":"b"}"#.into()).expect("raw");
        let stop = Call::parse("control.stop", Some(&raw)).expect("stop");
        assert_eq!(stop.host(), Some("b"));
        assert_eq!(stop.params_for_host(), serde_json::json!({"handler": "h"}));
    }

    #[test]
    fn the_last_target_reads_what_its_text_names_and_never_keeps_an_error() {
        const A: &str = "6f1c1a34-1d6b-4c59-9d0c-8d8a2c1e5b01";
        const B: &str = "0d0bd3b4-43a5-4d3b-8a55-6a2f50e4f1c2";
        let fresh = read_target;
        let mut last = LastTarget::default();
        let reads = [(A, "x"), (A, "x"), (A, "y"), (B, "y"), (A, "X"), (A, "y"), ("not-a-uuid", "y"), (A, "y")];
        for (session, item) in reads {
            assert_eq!(last.read(session, item).ok(), fresh(session, item).ok(), "{session} {item}");
        }
        for (session, item) in [(A, ""), (A, "a\tb"), ("", "x")] {
            let want = fresh(session, item).expect_err("a bad ID");
            let got = last.read(session, item).expect_err("a bad ID");
            assert_eq!((got.code, got.message), (want.code, want.message), "{session:?} {item:?}");
        }
        assert_eq!(last.read(A, "y").ok(), fresh(A, "y").ok(), "the last valid target after refusals");
    }
}
