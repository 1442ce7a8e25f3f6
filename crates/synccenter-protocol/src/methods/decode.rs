//! Reading a method's parameters into their type, with the spec's answer for each way they can be wrong.
//!
//! A required string that is absent, or `null`, is the spec's null pointer (`E_POINTER`, §0.1, §5.8); every
//! other misfit is `E_INVALIDARG`. serde says only "missing field `x`", not what type `x` has, so the field is
//! classified by asking the parameters' own type: the parameters (`null` members dropped) are decoded again with
//! the field set to `""` in an object that lacks it, and if that no longer misses it, it takes a string. The
//! types are thus the only list of required strings, and a new one is covered without anyone listing it.

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::envelope::{ErrorObject, error_codes, starts_object};

/// Most objects of one parameter set tried as the home of a missing field (each try decodes them again).
const MAX_PROBES: usize = 16;

/// Decodes the parameters of `method` (absent: `{}`) into `T`. A required string left out or given as
/// `null` is `E_POINTER`, anything else that does not fit `E_INVALIDARG`; both with code -32602 (the
/// parameters never reached Sync Center's rules). Parameters that are not an object are refused.
pub fn decode_params<T: DeserializeOwned>(method: &str, raw: Option<&RawValue>) -> Result<T, ErrorObject> {
    let text = raw.map_or("{}", RawValue::get);
    let invalid = |why: &dyn std::fmt::Display| {
        ErrorObject::invalid(error_codes::INVALID_PARAMS, format!("invalid params for {method}: {why}"))
    };
    if !starts_object(text.as_bytes()) {
        return Err(invalid(&"they must be an object"));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let decoded = T::deserialize(ObjectOnly(&mut de)).and_then(|v| de.end().map(|()| v));
    decoded.map_err(|e| match missing_string::<T>(text) {
        Some(Missing { field, null: false }) => ErrorObject::null_pointer(
            error_codes::INVALID_PARAMS,
            format!("invalid params for {method}: missing field `{field}`"),
        ),
        Some(Missing { field, null: true }) => ErrorObject::null_pointer(
            error_codes::INVALID_PARAMS,
            format!("invalid params for {method}: `{field}` is required, not null"),
        ),
        None => invalid(&e),
    })
}

/// For `#[serde(deserialize_with = "object_only")]` on a struct-typed field: the struct is read only from a
/// JSON object, never from an array of its fields in order (which serde's derive accepts as well).
pub fn object_only<'de, D: Deserializer<'de>, T: de::Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    T::deserialize(ObjectOnly(d))
}

/// A deserializer that asks for a map where a struct is asked for; meant for a struct at the top. Structs
/// nested in it are read by serde's derive as usual, which still takes an array of their fields there.
struct ObjectOnly<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

/// A required string the parameters lack.
struct Missing {
    field: String,
    /// It was given as `null` rather than left out.
    null: bool,
}

/// The required string that `text` lacks (or gives as `null`), if that is why `T` refuses it. Runs only on
/// refused parameters, at most [`MAX_PROBES`] + 1 decodes of them.
fn missing_string<T: DeserializeOwned>(text: &str) -> Option<Missing> {
    let given: Value = serde_json::from_str(text).ok()?;
    let mut params = given.clone();
    strip_nulls(&mut params);
    let field = missing_field(&refusal::<T>(&params)?)?;
    let mut homes = Vec::new();
    objects_lacking(&params, &field, &mut String::new(), &mut homes);
    let home = homes.into_iter().find(|home| {
        let mut probe = params.clone();
        if let Some(Value::Object(members)) = probe.pointer_mut(home) {
            members.insert(field.clone(), Value::String(String::new()));
        }
        match refusal::<T>(&probe) {
            None => true,
            Some(e) => missing_field(&e).is_some_and(|other| other != field),
        }
    })?;
    let null = given.pointer(&home).and_then(|members| members.get(&field)).is_some_and(Value::is_null);
    Some(Missing { field, null })
}

/// Why `T` refuses `params`, or `None` when it takes them.
fn refusal<T: DeserializeOwned>(params: &Value) -> Option<serde_json::Error> {
    T::deserialize(params).err()
}

/// The field serde reports missing (its words: "missing field `x`").
fn missing_field(e: &serde_json::Error) -> Option<String> {
    let text = e.to_string();
    let rest = text.strip_prefix("missing field `")?;
    Some(rest[..rest.find('`')?].to_owned())
}

/// Removes every member whose value is `null`, at any depth: `null` for a required field then reads as the
/// field left out.
fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(members) => {
            members.retain(|_, value| !value.is_null());
            members.values_mut().for_each(strip_nulls);
        }
        Value::Array(values) => values.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// The JSON pointers of the objects without a member `field`, in document order, at most [`MAX_PROBES`].
fn objects_lacking(v: &Value, field: &str, pointer: &mut String, found: &mut Vec<String>) {
    let inner: Vec<(String, &Value)> = match v {
        _ if found.len() >= MAX_PROBES => return,
        Value::Object(members) => {
            if !members.contains_key(field) {
                found.push(pointer.clone());
            }
            members.iter().map(|(name, inner)| (name.replace('~', "~0").replace('/', "~1"), inner)).collect()
        }
        Value::Array(values) => values.iter().enumerate().map(|(i, inner)| (i.to_string(), inner)).collect(),
        _ => return,
    };
    for (step, inner) in inner {
        let len = pointer.len();
        pointer.push('/');
        pointer.push_str(&step);
        objects_lacking(inner, field, pointer, found);
        pointer.truncate(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methods::{CreateSessionParams, Empty, ProposeItemParams, ReportConflictParams, SessionItemParams};

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).expect("valid JSON")
    }

    fn error<T: DeserializeOwned + std::fmt::Debug>(text: &str) -> ErrorObject {
        decode_params::<T>("m", Some(&raw(text))).expect_err(text)
    }

    #[test]
    fn a_missing_or_null_required_string_is_a_null_pointer() {
        let e = error::<CreateSessionParams>(r#"{"items":["a"]}"#);
        assert_eq!((e.code, e.data.name.as_str()), (error_codes::INVALID_PARAMS, "E_POINTER"));
        assert_eq!(e.message, "invalid params for m: missing field `handler`");
        let e = error::<CreateSessionParams>(r#"{"handler":null,"items":["a"]}"#);
        assert_eq!(
            (e.data.name.as_str(), e.message.as_str()),
            ("E_POINTER", "invalid params for m: `handler` is required, not null")
        );
        let absent = decode_params::<CreateSessionParams>("m", None).expect_err("no params");
        assert_eq!(absent.data.name, "E_POINTER");
        // Inside an object of the parameters; a `null` elsewhere is not the missing field.
        let e = error::<ProposeItemParams>(r#"{"session":"s","item":{"name":null}}"#);
        assert_eq!(
            (e.data.name.as_str(), e.message.as_str()),
            ("E_POINTER", "invalid params for m: missing field `id`")
        );
        let e = error::<ProposeItemParams>(r#"{"item":{"id":"a"},"session":null}"#);
        assert_eq!(e.message, "invalid params for m: `session` is required, not null");
    }

    #[test]
    fn anything_else_stays_invalid() {
        // A required list, a string of the wrong type, an unknown field, a defaulted string given as null.
        for text in [
            r#"{"handler":"h"}"#,
            r#"{"handler":7,"items":["a"]}"#,
            r#"{"handler":"h","items":["a"],"x":1}"#,
            r#"{"items":["a"],"x":1}"#,
        ] {
            assert_eq!(error::<CreateSessionParams>(text).data.name, "E_INVALIDARG", "{text}");
        }
        let conflict = r#"{"session":"s","name":"n","description":null,"versions":[{},{}]}"#;
        assert_eq!(error::<ReportConflictParams>(conflict).data.name, "E_INVALIDARG");
        let e = error::<CreateSessionParams>(r#"{"handler":"h","items":"a"}"#);
        assert_eq!(e.code, error_codes::INVALID_PARAMS);
        assert!(e.message.starts_with("invalid params for m: invalid type"), "{}", e.message);
    }

    #[test]
    fn parameters_are_an_object_not_an_array_of_fields() {
        assert_eq!(error::<CreateSessionParams>(r#"["h",["a"]]"#).data.name, "E_INVALIDARG");
        assert_eq!(error::<Empty>("[]").data.name, "E_INVALIDARG");
        assert!(decode_params::<CreateSessionParams>("m", Some(&raw(r#" {"handler":"h","items":["a"]}"#))).is_ok());
        let positional = serde_json::from_str::<SessionItemParams>(r#"["s","i"]"#);
        assert!(positional.is_ok(), "serde's derive reads arrays; this is what object_only is for");
        #[derive(serde::Deserialize)]
        struct Outer {
            #[serde(deserialize_with = "object_only")]
            #[allow(dead_code)]
            inner: CreateSessionParams,
        }
        assert!(serde_json::from_str::<Outer>(r#"{"inner":["h",["a"]]}"#).is_err());
        assert!(serde_json::from_str::<Outer>(r#"{"inner":{"handler":"h","items":["a"]}}"#).is_ok());
    }

    /// Parameters with a list of objects that each need a string `id`; anything else is ignored.
    #[derive(Debug, serde::Deserialize)]
    struct Listed {
        #[allow(dead_code)]
        list: Vec<Named>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Named {
        #[allow(dead_code)]
        id: String,
    }

    #[test]
    fn a_required_string_is_found_inside_a_list() {
        let e = error::<Listed>(r#"{"list":[{"id":"a"},{}]}"#);
        assert_eq!(
            (e.data.name.as_str(), e.message.as_str()),
            ("E_POINTER", "invalid params for m: missing field `id`")
        );
        let e = error::<Listed>(r#"{"list":[{"id":"a"},{"id":null}]}"#);
        assert_eq!(
            (e.data.name.as_str(), e.message.as_str()),
            ("E_POINTER", "invalid params for m: `id` is required, not null")
        );
        assert_eq!(error::<Listed>(r#"{"list":[{"id":7}]}"#).data.name, "E_INVALIDARG");
    }

    #[test]
    fn at_most_max_probes_objects_are_tried() {
        // The top object lacks `id` too, then `fillers` empty objects, then the list's object that needs it.
        let text = |fillers: usize| format!(r#"{{"filler":[{}],"list":[{{}}]}}"#, vec!["{}"; fillers].join(","));
        let within = error::<Listed>(&text(MAX_PROBES - 2));
        assert_eq!(within.data.name, "E_POINTER", "the {MAX_PROBES}th object is tried");
        let beyond = error::<Listed>(&text(MAX_PROBES - 1));
        assert_eq!(beyond.data.name, "E_INVALIDARG", "the {}th object is not", MAX_PROBES + 1);
        assert!(beyond.message.contains("missing field `id`"), "{}", beyond.message);
    }
}
