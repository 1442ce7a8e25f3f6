//! # synccenter-store-rows
//!
//! The row codec of the SQL stores (SQLite and PostgreSQL), written once so that the two cannot drift apart
//! on what a stored value means. It is pure: no I/O, no driver. A store reads its driver's rows through
//! [`Columns`] and binds the [`Param`]s of [`write`](mod@write) in its own types; what stays in each store is what its
//! dialect differs in: the SQL text, binding, and for PostgreSQL the host column and the U+0000 cleaning.
//!
//! Reads trust nothing: a number outside an enum, a mask that does not fit, an ID the core would refuse, a
//! pause end without a start or a JSON document of the wrong shape becomes a [`Bad`], which the store reports
//! as `StoreError::Corrupt`. What is written stays byte for byte what earlier builds wrote (the conflict
//! documents' JSON text is pinned by a test), so existing SQLite files and PostgreSQL databases read as before.

#![warn(missing_docs)]

mod conflict_docs;
pub mod filter;
pub mod prune;
pub mod read;
pub mod write;

pub use crate::read::{Cell, Columns, Kind};
pub use crate::write::{Param, Table};

/// A stored value this build cannot interpret: what it was and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} ({detail})")]
pub struct Bad {
    /// The kind of value, e.g. "handler pause" or "event ID".
    pub what: &'static str,
    /// Why it was refused, with the value where it helps.
    pub detail: String,
}

impl Bad {
    /// A value of kind `what` that could not be read, and why.
    pub fn new(what: &'static str, detail: impl std::fmt::Display) -> Bad {
        Bad { what, detail: detail.to_string() }
    }
}

/// The result of reading a stored value.
pub type Read<T> = Result<T, Bad>;
