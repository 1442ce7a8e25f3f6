//! PostgreSQL's side of the shared row codec (`synccenter-store-rows`): how its driver decodes a column and
//! binds a value, the `host` column every table adds, and the text cleaning below. What a value means is
//! decided in the shared codec; reads trust nothing there.
//!
//! PostgreSQL text cannot hold U+0000 (neither can `jsonb` strings), which the core's free text may contain;
//! [`clean`] replaces it with U+FFFD on the way in. That is the one place where a value does not round-trip
//! exactly; IDs are never affected, since the core refuses control characters in them.

use std::borrow::Cow;

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{Arguments, Postgres, Row as _};
use synccenter_core::Timestamp;
use synccenter_store_rows::{Bad, Cell, Columns, Kind, Param, Read};

/// Text as PostgreSQL can store it: NUL characters become U+FFFD.
pub(crate) fn clean(s: &str) -> Cow<'_, str> {
    if s.contains('\0') { Cow::Owned(s.replace('\0', "\u{FFFD}")) } else { Cow::Borrowed(s) }
}

/// Cleans every string (and object key) of a JSON value, for `jsonb` columns.
pub(crate) fn clean_json(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => Value::String(clean(s).into_owned()),
        Value::Array(a) => Value::Array(a.iter().map(clean_json).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (clean(k).into_owned(), clean_json(v))).collect()),
        other => other.clone(),
    }
}

/// A model time as stored.
pub(crate) fn ts(t: Timestamp) -> i64 {
    t.as_micros()
}

/// A number for a BIGINT column (every enum number and mask of the core fits in a u32).
pub(crate) fn num(n: u32) -> i64 {
    i64::from(n)
}

/// A fetched row, read through the shared codec.
pub(crate) struct Row<'a>(pub(crate) &'a PgRow);

impl Columns for Row<'_> {
    fn cell(&self, column: &'static str, kind: Kind) -> Read<Cell> {
        match kind {
            Kind::Int => get(self.0, column, Cell::Int),
            Kind::Text => get(self.0, column, Cell::Text),
            Kind::Flag => get(self.0, column, Cell::Flag),
            Kind::Uuid => get(self.0, column, Cell::Uuid),
        }
    }
}

/// `column` of `row` decoded as `T`, wrapped by `cell`.
fn get<'r, T>(row: &'r PgRow, column: &'static str, cell: fn(T) -> Cell) -> Read<Cell>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    let value: Option<T> = row.try_get(column).map_err(|e| Bad::new(column, e))?;
    Ok(value.map_or(Cell::Null, cell))
}

/// Decodes every row with `decode` (one of `synccenter_store_rows::read`'s), each with its host; the first bad
/// value fails all.
pub(crate) fn hosted<T>(rows: &[PgRow], decode: fn(&dyn Columns) -> Read<T>) -> Read<Vec<(String, T)>> {
    rows.iter()
        .map(|r| {
            let host = r.try_get("host").map_err(|e| Bad::new("host", e))?;
            Ok((host, decode(&Row(r))?))
        })
        .collect()
}

/// The arguments of a statement about `host`: the host is `$1`, then come `params`, text cleaned.
pub(crate) fn host_args<'q>(
    host: &str,
    params: impl IntoIterator<Item = Param<'q>>,
) -> Result<PgArguments, sqlx::Error> {
    let mut args = PgArguments::default();
    args.add(host).map_err(sqlx::Error::Encode)?;
    for p in params {
        let added = match p {
            Param::Text(v) => args.add(v.map(clean)),
            Param::Json(v) => args.add(v.map(|doc| clean_json(&doc).to_string())),
            Param::Uuid(v) => args.add(v),
            Param::Int(v) => args.add(v),
            Param::Flag(v) => args.add(v),
        };
        added.map_err(sqlx::Error::Encode)?;
    }
    Ok(args)
}

/// Whether `column` is a `jsonb` column (read as text, written from text).
fn is_json(column: &str) -> bool {
    matches!(column, "versions" | "resolution")
}

/// `host` and `columns`, for a `SELECT`; the JSON ones as text.
pub(crate) fn select_list(columns: &[&str]) -> String {
    let mut list = vec!["host".to_owned()];
    list.extend(columns.iter().map(|c| if is_json(c) { format!("{c}::text AS {c}") } else { (*c).to_owned() }));
    list.join(", ")
}

/// `$2, $3, ...`: the values of `columns` after the host's `$1`, the JSON ones cast to `jsonb`.
pub(crate) fn values_list(columns: &[&str]) -> String {
    let list: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| if is_json(c) { format!("${}::jsonb", i + 2) } else { format!("${}", i + 2) })
        .collect();
    list.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_replaces_only_nul() {
        assert!(matches!(clean("plain ✓"), Cow::Borrowed("plain ✓")));
        assert_eq!(clean("a\0b\0"), "a\u{FFFD}b\u{FFFD}");
    }

    #[test]
    fn json_columns_are_read_as_text_and_written_as_jsonb() {
        assert_eq!(select_list(&["id", "versions"]), "host, id, versions::text AS versions");
        assert_eq!(values_list(&["id", "versions", "resolution"]), "$2, $3::jsonb, $4::jsonb");
    }

    #[test]
    fn clean_json_reaches_nested_strings_and_keys() {
        let v = serde_json::json!({"k\u{0}": ["a\u{0}", 1, null, {"n": "b\u{0}"}], "ok": true});
        let cleaned = clean_json(&v);
        assert_eq!(cleaned, serde_json::json!({"k\u{FFFD}": ["a\u{FFFD}", 1, null, {"n": "b\u{FFFD}"}], "ok": true}));
        assert!(!serde_json::to_string(&cleaned).unwrap().contains("\\u0000"));
    }
}
