//! SQLite's side of the shared row codec (`synccenter-store-rows`): how its driver decodes a column and binds
//! a value. What a value means is decided there; here is only how SQLite holds it: UUIDs as their hyphenated
//! text (SQLite has no UUID type) and booleans as integers.

use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Arguments, Row as _};
use synccenter_store_rows::{Bad, Cell, Columns, Kind, Param, Read};

/// A fetched row, read through the shared codec.
pub(crate) struct Row<'a>(pub(crate) &'a SqliteRow);

impl Columns for Row<'_> {
    fn cell(&self, column: &'static str, kind: Kind) -> Read<Cell> {
        let row = self.0;
        let cell = match kind {
            Kind::Int => row.try_get::<Option<i64>, _>(column).map(|v| v.map_or(Cell::Null, Cell::Int)),
            Kind::Flag => row.try_get::<Option<bool>, _>(column).map(|v| v.map_or(Cell::Null, Cell::Flag)),
            // UUIDs are text here; the codec parses them.
            Kind::Text | Kind::Uuid => {
                row.try_get::<Option<String>, _>(column).map(|v| v.map_or(Cell::Null, Cell::Text))
            }
        };
        cell.map_err(|e| Bad::new(column, e))
    }
}

/// Decodes every row with `decode` (one of `synccenter_store_rows::read`'s); the first bad value fails all.
pub(crate) fn decode<T>(rows: &[SqliteRow], decode: fn(&dyn Columns) -> Read<T>) -> Read<Vec<T>> {
    rows.iter().map(|r| decode(&Row(r))).collect()
}

/// How a UUID is stored.
pub(crate) fn uuid_text(u: uuid::Uuid) -> String {
    u.hyphenated().to_string()
}

/// The arguments of a statement, in SQLite's types.
pub(crate) fn args<'q>(params: impl IntoIterator<Item = Param<'q>>) -> Result<SqliteArguments<'q>, sqlx::Error> {
    let mut args = SqliteArguments::default();
    for p in params {
        let added = match p {
            Param::Flag(v) => args.add(v),
            Param::Int(v) => args.add(v),
            Param::Uuid(v) => args.add(v.map(uuid_text)),
            Param::Text(v) => args.add(v),
            Param::Json(v) => args.add(v.map(|doc| doc.to_string())),
        };
        added.map_err(sqlx::Error::Encode)?;
    }
    Ok(args)
}
