//! The `[retention]` table: how much event and session history the daemon keeps (issue 20).
//!
//! Each of `info`, `warning`, `error` and `sessions` is an inline table `{ max_age = "30d", max_count = 10000 }`;
//! a key left out keeps its default (`synccenter_core::RetentionPolicy::default`, documented in
//! `docs/configuration.md`), and `max_age = "forever"` lifts the age bound. Counts are per handler, so the
//! history is bounded by the number of handlers whatever the report rate. Run logs keep their own `[logs]`
//! table (bytes rather than records).

use std::time::Duration;

use serde::Deserialize;
use synccenter_core::{Keep, RetentionPolicy};
use toml::Spanned;

use crate::duration::parse_duration;
use crate::error::{ConfigError, Locator};

/// The largest `max_count`: far beyond any useful history, small enough for every store's integers.
const MAX_COUNT: i64 = 1_000_000_000;

/// `[retention]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRetention {
    pub(crate) info: Option<RawKeep>,
    pub(crate) warning: Option<RawKeep>,
    pub(crate) error: Option<RawKeep>,
    pub(crate) sessions: Option<RawKeep>,
}

/// `{ max_age = "30d", max_count = 10000 }`; both optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKeep {
    pub(crate) max_age: Option<Spanned<String>>,
    pub(crate) max_count: Option<Spanned<i64>>,
}

/// Checks `raw` over the defaults; every problem goes to `errors`.
pub(crate) fn validate(raw: &RawRetention, loc: &Locator<'_>, errors: &mut Vec<ConfigError>) -> RetentionPolicy {
    let mut policy = RetentionPolicy::default();
    let parts = [
        ("info", &raw.info, &mut policy.info),
        ("warning", &raw.warning, &mut policy.warning),
        ("error", &raw.error, &mut policy.error),
        ("sessions", &raw.sessions, &mut policy.sessions),
    ];
    for (name, raw, keep) in parts {
        if let Some(raw) = raw {
            *keep = validate_keep(raw, *keep, &format!("retention.{name}"), loc, errors);
        }
    }
    policy
}

fn validate_keep(raw: &RawKeep, default: Keep, field: &str, loc: &Locator<'_>, errors: &mut Vec<ConfigError>) -> Keep {
    let mut keep = default;
    if let Some(age) = &raw.max_age {
        let field = format!("{field}.max_age");
        match age_of(age.get_ref()) {
            Ok(age) => keep.max_age = age,
            Err(reason) => errors.push(loc.error(Some(age.span()), field, reason)),
        }
    }
    if let Some(count) = &raw.max_count {
        match *count.get_ref() {
            n @ 1..=MAX_COUNT => keep.max_count = Some(n as u64),
            n => errors.push(loc.error(
                Some(count.span()),
                format!("{field}.max_count"),
                format!("{n} is not a count to keep; write 1 to {MAX_COUNT} (records per handler)"),
            )),
        }
    }
    keep
}

/// `"forever"` (no age bound) or a duration longer than zero.
fn age_of(text: &str) -> Result<Option<Duration>, String> {
    if text == "forever" {
        return Ok(None);
    }
    match parse_duration(text) {
        Ok(d) if d.is_zero() => Err("must be longer than zero (or \"forever\")".to_owned()),
        Ok(d) => Ok(Some(d)),
        Err(e) => Err(format!("{e}; or \"forever\" to keep regardless of age")),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use synccenter_core::{Keep, RetentionPolicy};

    const DAY: u64 = 86_400;

    fn parse(src: &str) -> Result<crate::Config, crate::ConfigErrors> {
        crate::parse(src, Path::new("/etc/synccenter/config.toml"))
    }

    #[test]
    fn defaults_bound_every_kind_and_keep_errors_longest() {
        let policy = parse("").expect("empty").retention;
        assert_eq!(policy, RetentionPolicy::default());
        for keep in [policy.info, policy.warning, policy.error, policy.sessions] {
            assert!(keep.max_age.is_some() && keep.max_count.is_some(), "{keep:?} bounds growth");
        }
        assert!(policy.error.max_age > policy.warning.max_age && policy.warning.max_age > policy.info.max_age);
    }

    #[test]
    fn keys_override_their_default_only() {
        let src = "[retention]\ninfo = { max_age = \"7d\" }\nerror = { max_age = \"forever\", max_count = 50 }\n\
                   sessions = { max_count = 3 }\n";
        let policy = parse(src).expect("valid").retention;
        let defaults = RetentionPolicy::default();
        assert_eq!(policy.info, Keep { max_age: Some(std::time::Duration::from_secs(7 * DAY)), ..defaults.info });
        assert_eq!(policy.warning, defaults.warning);
        assert_eq!(policy.error, Keep { max_age: None, max_count: Some(50) });
        assert_eq!(policy.sessions, Keep { max_count: Some(3), ..defaults.sessions });
    }

    #[test]
    fn bad_values_are_each_named_with_their_place() {
        let src = "[retention]\ninfo = { max_age = \"0s\", max_count = 0 }\nwarning = { max_age = \"soon\" }\n\
                   error = { max_count = -1 }\n";
        let errors = parse(src).expect_err("refused").0;
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "retention.info.max_age",
                "retention.info.max_count",
                "retention.warning.max_age",
                "retention.error.max_count",
            ]
        );
        assert!(errors.iter().all(|e| e.line.is_some()), "{errors:?}");
        assert!(errors[2].reason.contains("forever"), "{}", errors[2].reason);
        let unknown = parse("[retention]\nsessions = { keep = 1 }\n").expect_err("refused").0;
        assert_eq!(unknown[0].field, "retention.sessions.keep", "{unknown:?}");
        let not_a_table = parse("retention = \"30d\"\n").expect_err("refused").0;
        assert_eq!(not_a_table[0].field, "retention", "{not_a_table:?}");
    }

    #[test]
    fn the_example_and_the_documentation_show_every_key() {
        let example = crate::Config::example_toml();
        let doc = include_str!("../../../docs/configuration.md");
        let table = example.split_once("[retention]").expect("docs/config.example.toml shows [retention]").1;
        let table = table.split_once("\n[").map_or(table, |(t, _)| t);
        for key in ["info", "warning", "error", "sessions", "max_age", "max_count"] {
            assert!(table.contains(&format!("{key} =")), "docs/config.example.toml does not show `{key}`");
            assert!(doc.contains(&format!("`{key}`")), "docs/configuration.md does not document `{key}`");
        }
        let shown = parse(example).expect("the example is valid").retention;
        assert_ne!(shown, RetentionPolicy::FOREVER);
    }
}
