//! Every failure leaves this crate as the core's `StoreError`, worded for a person and naming the server
//! (password hidden), so that no sqlx type escapes.
//!
//! Data this build cannot read, or a schema newer than it, is `Corrupt`, with a message that says nothing was
//! changed and what to do; everything else (the server is down, the network, a timeout, a refused statement)
//! is `Unavailable`, which the daemon treats as "try again later".

use std::time::Duration;

use synccenter_core::StoreError;

/// The message of every `Corrupt` refusal: the problem, the database, and the way out.
pub(crate) fn corrupt(server: &str, problem: &str) -> StoreError {
    StoreError::Corrupt(format!(
        "{problem} (PostgreSQL database {server}). Nothing was changed in the database; run the fleet's newest \
         synccenter build on this host, or point it at another database"
    ))
}

/// How long to wait for a connection, from the pool or a fresh one, before giving up as unavailable.
pub(crate) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Maps a driver error met while talking to `server`.
pub(crate) fn from_sqlx(server: &str, e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::PoolTimedOut => StoreError::Unavailable(format!(
            "no connection to PostgreSQL at {server} within {} s: the server is down, unreachable, or has no \
             connection to spare",
            ACQUIRE_TIMEOUT.as_secs()
        )),
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) | sqlx::Error::ColumnNotFound(_) => {
            corrupt(server, &format!("the database holds data this build cannot read: {e}"))
        }
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| format!(" [SQLSTATE {c}]")).unwrap_or_default();
            StoreError::Unavailable(format!("PostgreSQL at {server} refused a statement: {}{code}", db.message()))
        }
        other => StoreError::Unavailable(format!("PostgreSQL at {server}: {other}")),
    }
}

/// Maps a failure of the schema migration.
pub(crate) fn from_migrate(server: &str, e: sqlx::migrate::MigrateError) -> StoreError {
    use sqlx::migrate::MigrateError;
    match e {
        MigrateError::Execute(inner) | MigrateError::ExecuteMigration(inner, _) => from_sqlx(server, inner),
        MigrateError::VersionMissing(v) => {
            corrupt(server, &format!("the database's schema version {v} is newer than this build"))
        }
        MigrateError::VersionMismatch(v) => {
            corrupt(server, &format!("the database's schema migration {v} differs from this build's"))
        }
        MigrateError::Dirty(v) => corrupt(server, &format!("the database's schema migration {v} is partially applied")),
        other => StoreError::Unavailable(format!("PostgreSQL at {server}: migrating the schema failed: {other}")),
    }
}

/// A value in the database that this build cannot interpret.
pub(crate) fn bad_value(server: &str, what: &str, detail: &str) -> StoreError {
    corrupt(server, &format!("the database holds an invalid {what} ({detail})"))
}

/// `url` with its password replaced by `***`, fit for logs and error messages. Handles a password in the
/// authority (`postgres://user:secret@host/db`) and in the query (`?password=secret`); anything it does not
/// recognise as a URL is shown as `<unparsable URL>` rather than risk showing a secret.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else { return "<unparsable URL>".to_owned() };
    let rest_start = scheme_end + 3;
    let rest = &url[rest_start..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_len);
    let mut out = String::with_capacity(url.len());
    out.push_str(&url[..rest_start]);
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.find(':') {
                Some(colon) => {
                    out.push_str(&userinfo[..colon]);
                    out.push_str(":***");
                }
                None => out.push_str(userinfo),
            }
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    match tail.find('?') {
        Some(q) => {
            out.push_str(&tail[..q + 1]);
            let query = &tail[q + 1..];
            let (query, fragment) = match query.find('#') {
                Some(h) => query.split_at(h),
                None => (query, ""),
            };
            let pairs: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            out.push_str(&pairs.join("&"));
            out.push_str(fragment);
        }
        None => out.push_str(tail),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("postgres://u:secret@db.example:5432/sc"), "postgres://u:***@db.example:5432/sc");
        assert_eq!(redact_url("postgres://u:p%40ss@db/sc?sslmode=require"), "postgres://u:***@db/sc?sslmode=require");
        assert_eq!(redact_url("postgresql://u:a:b@h"), "postgresql://u:***@h");
        assert_eq!(
            redact_url("postgres://h/db?user=u&password=secret&sslmode=disable"),
            "postgres://h/db?user=u&password=***&sslmode=disable"
        );
        assert_eq!(redact_url("postgres://h/db?PASSWORD=x#frag"), "postgres://h/db?PASSWORD=***#frag");
    }

    #[test]
    fn urls_without_secrets_are_kept() {
        for url in ["postgres://postgres@127.0.0.1:55432/postgres", "postgres://h", "postgres:///db?host=/run/pg"] {
            assert_eq!(redact_url(url), url);
        }
    }

    #[test]
    fn non_urls_are_not_echoed() {
        assert_eq!(redact_url("host=db password=secret"), "<unparsable URL>");
    }

    #[test]
    fn pool_timeouts_name_the_server() {
        let StoreError::Unavailable(msg) = from_sqlx("postgres://u:***@h/db", sqlx::Error::PoolTimedOut) else {
            panic!("unavailable expected")
        };
        assert!(msg.contains("postgres://u:***@h/db"), "{msg}");
    }

    #[test]
    fn decode_failures_are_corrupt() {
        let e = from_sqlx("s", sqlx::Error::ColumnNotFound("x".into()));
        assert!(matches!(e, StoreError::Corrupt(_)), "{e:?}");
    }
}
