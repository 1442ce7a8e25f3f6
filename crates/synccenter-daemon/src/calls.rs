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

/// A progress report with its session and item IDs already read, on the connection's task (in parallel with
/// other connections) rather than on the hub. A bad ID is kept as the error to answer.
#[derive(Debug)]
pub(crate) struct Progress {
    pub(crate) target: Result<(SessionId, ItemId), ErrorObject>,
    pub(crate) status: StatusWire,
    pub(crate) text: Option<String>,
    pub(crate) step: Option<u32>,
    pub(crate) max_step: Option<u32>,
    /// The amount in its unit, when the report gave one (`ReportProgressParams::amount`).
    pub(crate) amount: Option<m::AmountInfo>,
}

impl Progress {
    pub(crate) fn new(
        session: &str,
        item: &str,
        status: StatusWire,
        text: Option<String>,
        step: Option<u32>,
        max_step: Option<u32>,
    ) -> Progress {
        let target = convert::session_id(session).and_then(|s| convert::item_id(item).map(|i| (s, i)));
        Progress { target, status, text, step, max_step, amount: None }
    }

    pub(crate) fn from_params(p: m::ReportProgressParams) -> Progress {
        let amount = p.amount();
        Progress { amount, ..Progress::new(&p.session, &p.item, p.status, p.text, p.step, p.max_step) }
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
}
