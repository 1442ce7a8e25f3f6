//! The file's shape: serde structs mirroring `config.toml` one to one, with spans kept for messages.
//!
//! Every table is `deny_unknown_fields`, so a misspelt key is an error, never silently ignored. These types only
//! describe syntax: all checks (IDs, names, durations, cron, flags) happen in `validate.rs`, which turns them into
//! the public types of `model.rs`. `[[handler.item]]` arrays are deserialized one element at a time by
//! `validate.rs`, so one broken item does not hide the errors of the others.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use toml::Spanned;

/// `[daemon]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDaemon {
    pub(crate) http: Option<Spanned<String>>,
    pub(crate) grace_period: Option<Spanned<String>>,
    pub(crate) host: Option<Spanned<String>>,
}

/// `[desktop]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDesktop {
    pub(crate) enable: Option<bool>,
}

/// `[logs]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLogs {
    pub(crate) max_per_run: Option<Spanned<String>>,
    pub(crate) max_total: Option<Spanned<String>>,
    pub(crate) max_age: Option<Spanned<String>>,
    pub(crate) max_runs: Option<Spanned<i64>>,
}

/// Declares a table with the run condition keys after its own (the same keys in `[[handler]]` and
/// `[[handler.item]]`), and its `conditions()` view of them.
macro_rules! with_conditions {
    ($(#[$meta:meta])* pub(crate) struct $name:ident { $($body:tt)* }) => {
        $(#[$meta])*
        pub(crate) struct $name {
            $($body)*
            pub(crate) on_ac_power: Option<bool>,
            pub(crate) unmetered_network: Option<bool>,
            pub(crate) requires: Option<Vec<Spanned<String>>>,
            pub(crate) requires_mount: Option<Vec<Spanned<String>>>,
            pub(crate) requires_uuid: Option<Vec<Spanned<String>>>,
            pub(crate) quiet_hours: Option<Spanned<String>>,
            pub(crate) max_age: Option<Spanned<String>>,
            pub(crate) stop_when_unmet: Option<bool>,
        }

        impl $name {
            pub(crate) fn conditions(&self) -> RawConditions<'_> {
                RawConditions {
                    on_ac_power: self.on_ac_power,
                    unmetered_network: self.unmetered_network,
                    requires: self.requires.as_deref(),
                    requires_mount: self.requires_mount.as_deref(),
                    requires_uuid: self.requires_uuid.as_deref(),
                    quiet_hours: self.quiet_hours.as_ref(),
                    max_age: self.max_age.as_ref(),
                    stop_when_unmet: self.stop_when_unmet,
                }
            }
        }
    };
}

with_conditions! {
/// One `[[handler]]`, without its `item` array (removed before deserializing).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHandler {
    pub(crate) id: Spanned<String>,
    pub(crate) name: Spanned<String>,
    #[serde(rename = "type")]
    pub(crate) handler_type: Option<Spanned<String>>,
    pub(crate) comment: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) capabilities: Vec<Spanned<String>>,
    #[serde(default)]
    pub(crate) policies: Vec<Spanned<String>>,
    pub(crate) retention: Option<Spanned<String>>,
    pub(crate) schedule: Option<Spanned<RawSchedule>>,
    pub(crate) retry: Option<Spanned<RawRetry>>,
    pub(crate) freshness: Option<Spanned<String>>,
    pub(crate) notify: Option<Spanned<String>>,
    pub(crate) inhibit_sleep: Option<bool>,
    /// The exclusive group of the handler's items (`order.rs`).
    pub(crate) exclusive: Option<Spanned<String>>,
}
}

with_conditions! {
/// One `[[handler.item]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawItem {
    pub(crate) id: Spanned<String>,
    pub(crate) name: Spanned<String>,
    pub(crate) comment: Option<Spanned<String>>,
    pub(crate) kind: Spanned<String>,
    pub(crate) command: Spanned<RawCommand>,
    pub(crate) workdir: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) env: BTreeMap<String, Spanned<String>>,
    pub(crate) timeout: Option<Spanned<String>>,
    pub(crate) watchdog: Option<Spanned<String>>,
    pub(crate) schedule: Option<Spanned<RawSchedule>>,
    pub(crate) retry: Option<Spanned<RawRetry>>,
    pub(crate) freshness: Option<Spanned<String>>,
    /// Items this one runs after (`order.rs`).
    pub(crate) after: Option<Spanned<Vec<Spanned<String>>>>,
    /// The item's exclusive group, over the handler's (`order.rs`).
    pub(crate) exclusive: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) capabilities: Vec<Spanned<String>>,
    #[serde(default)]
    pub(crate) policies: Vec<Spanned<String>>,
}
}

/// The run condition keys of a `[[handler]]` or a `[[handler.item]]` (the same keys in both).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawConditions<'a> {
    pub(crate) on_ac_power: Option<bool>,
    pub(crate) unmetered_network: Option<bool>,
    pub(crate) requires: Option<&'a [Spanned<String>]>,
    pub(crate) requires_mount: Option<&'a [Spanned<String>]>,
    pub(crate) requires_uuid: Option<&'a [Spanned<String>]>,
    pub(crate) quiet_hours: Option<&'a Spanned<String>>,
    pub(crate) max_age: Option<&'a Spanned<String>>,
    pub(crate) stop_when_unmet: Option<bool>,
}

/// `schedule = { every = "6h", jitter = "5m" }` or `schedule = { cron = "0 3 * * *" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSchedule {
    pub(crate) every: Option<Spanned<String>>,
    pub(crate) cron: Option<Spanned<String>>,
    pub(crate) jitter: Option<Spanned<String>>,
}

/// `retry = { attempts = 3, initial = "30s", multiplier = 2.0, max = "10m", jitter = 0.2 }`; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRetry {
    pub(crate) attempts: Option<Spanned<i64>>,
    pub(crate) initial: Option<Spanned<String>>,
    pub(crate) multiplier: Option<Spanned<f64>>,
    pub(crate) max: Option<Spanned<String>>,
    pub(crate) jitter: Option<Spanned<f64>>,
}

/// `command = ["rsync", "-a", "src/", "dst/"]`: an array of strings. A single string is refused with a hint,
/// because nothing here splits words or runs a shell.
#[derive(Debug)]
pub(crate) struct RawCommand(pub(crate) Vec<String>);

impl<'de> Deserialize<'de> for RawCommand {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawCommand;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of strings: the program, then its arguments")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<RawCommand, E> {
                let words: Vec<String> = s.split_whitespace().map(|w| format!("{w:?}")).collect();
                Err(E::custom(format!(
                    "must be an array of strings (program, then arguments), not one string; no shell splits it. Write command = [{}]",
                    words.join(", ")
                )))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawCommand, A::Error> {
                let mut out = Vec::new();
                while let Some(word) = seq.next_element::<String>()? {
                    out.push(word);
                }
                Ok(RawCommand(out))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    //! The drift test: `docs/config.example.toml` must use every key of every table, so a field added here fails
    //! until it is shown (and documented) in the example. The schema's key lists come from serde itself (the
    //! "expected one of" list of `deny_unknown_fields`), not from a hand-kept copy.

    use std::collections::BTreeSet;

    use toml::de::{DeTable, DeValue};

    use super::*;

    /// The field names serde knows for `T`, read from its unknown-field error.
    fn schema_keys<T: for<'de> Deserialize<'de> + std::fmt::Debug>() -> BTreeSet<String> {
        let err = toml::from_str::<T>("zz_probe = 1").expect_err("probe key accepted");
        let msg = err.message().to_owned();
        let list = msg.split_once("expected").map(|(_, l)| l).unwrap_or_else(|| panic!("{msg}"));
        list.split('`').skip(1).step_by(2).map(str::to_owned).collect()
    }

    fn keys_of(table: &DeTable<'_>, into: &mut BTreeSet<String>) {
        into.extend(table.iter().map(|(k, _)| k.get_ref().to_string()));
    }

    fn sub<'a, 'i>(table: &'a DeTable<'i>, key: &str) -> Option<&'a DeValue<'i>> {
        table.iter().find(|(k, _)| k.get_ref().as_ref() == key).map(|(_, v)| v.get_ref())
    }

    #[test]
    fn example_uses_every_key_of_every_table() {
        let example = crate::Config::example_toml();
        let root = DeTable::parse(example).unwrap().into_inner();
        let (mut daemon, mut handler, mut item, mut schedule, mut retry) = Default::default();
        keys_of(sub(&root, "daemon").and_then(DeValue::as_table).unwrap(), &mut daemon);
        let (mut desktop, mut logs) = (BTreeSet::new(), BTreeSet::new());
        keys_of(sub(&root, "desktop").and_then(DeValue::as_table).unwrap(), &mut desktop);
        keys_of(sub(&root, "logs").and_then(DeValue::as_table).unwrap(), &mut logs);
        for h in sub(&root, "handler").and_then(DeValue::as_array).unwrap() {
            let h = h.get_ref().as_table().unwrap();
            keys_of(h, &mut handler);
            for nested in [h].into_iter().chain(
                sub(h, "item").and_then(DeValue::as_array).into_iter().flatten().filter_map(|i| i.get_ref().as_table()),
            ) {
                if !std::ptr::eq(nested, h) {
                    keys_of(nested, &mut item);
                }
                if let Some(s) = sub(nested, "schedule").and_then(DeValue::as_table) {
                    keys_of(s, &mut schedule);
                }
                if let Some(r) = sub(nested, "retry").and_then(DeValue::as_table) {
                    keys_of(r, &mut retry);
                }
            }
        }
        handler.remove("item");
        let checks: [(&str, BTreeSet<String>, BTreeSet<String>); 7] = [
            ("[daemon]", schema_keys::<RawDaemon>(), daemon),
            ("[desktop]", schema_keys::<RawDesktop>(), desktop),
            ("[logs]", schema_keys::<RawLogs>(), logs),
            ("[[handler]]", schema_keys::<RawHandler>(), handler),
            ("[[handler.item]]", schema_keys::<RawItem>(), item),
            ("schedule", schema_keys::<RawSchedule>(), schedule),
            ("retry", schema_keys::<RawRetry>(), retry),
        ];
        for (table, schema, used) in checks {
            let missing: Vec<_> = schema.difference(&used).collect();
            assert!(missing.is_empty(), "docs/config.example.toml does not show {table} keys {missing:?}");
            let extra: Vec<_> = used.difference(&schema).collect();
            assert!(extra.is_empty(), "docs/config.example.toml uses unknown {table} keys {extra:?}");
        }
    }

    #[test]
    fn configuration_doc_mentions_every_key() {
        let doc = include_str!("../../../docs/configuration.md");
        let all = [
            schema_keys::<RawDaemon>(),
            schema_keys::<RawDesktop>(),
            schema_keys::<RawLogs>(),
            schema_keys::<RawHandler>(),
            schema_keys::<RawItem>(),
            schema_keys::<RawSchedule>(),
            schema_keys::<RawRetry>(),
        ];
        for key in all.iter().flatten() {
            assert!(doc.contains(&format!("`{key}`")), "docs/configuration.md does not document `{key}`");
        }
    }
}
