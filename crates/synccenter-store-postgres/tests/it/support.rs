//! Where the PostgreSQL tests find a server, and throwaway databases on it.
//!
//! The suite's server is named by `SYNCCENTER_TEST_PG_URL` (`bash .ci/start-postgres` starts one and prints
//! it). Without it the tests cannot run: under `CI=true` that is a failure, never a skip; on a developer's
//! machine they print a note and return early.

use std::time::Duration;

use sqlx::Connection;

/// The environment variable naming the suite's server (an admin URL, e.g. of the `postgres` database).
pub(crate) const URL_ENV: &str = "SYNCCENTER_TEST_PG_URL";

/// How long any single wait may take before the test is declared hung.
pub(crate) const HANG_GUARD: Duration = Duration::from_secs(20);

/// True under CI, where a missing server fails the tests.
pub(crate) fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The suite's server, or `None` (after a note on stderr) when none is configured outside CI. Panics under
/// CI when none is configured.
pub(crate) fn server_url() -> Option<String> {
    match std::env::var(URL_ENV) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if under_ci() => panic!(
            "{URL_ENV} is not set. Under CI=true the PostgreSQL tests never skip: start a server with \
             `bash .ci/start-postgres` and export the {URL_ENV}=... line it prints"
        ),
        _ => {
            note(&format!(
                "{URL_ENV} is not set, so the PostgreSQL tests do nothing; run `bash .ci/start-postgres` and export \
                 the URL it prints to run them"
            ));
            None
        }
    }
}

/// Writes a note straight to the process's stderr, past the test harness's capture, so that it is seen even
/// when the test passes (or the binary ends early).
pub(crate) fn note(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "note: {text}");
}

/// `url` with its database (the path) replaced by `database`.
pub(crate) fn with_database(url: &str, database: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[start..];
    let authority_end = start + rest.find(['/', '?']).unwrap_or(rest.len());
    let after = &url[authority_end..];
    let query = after.find('?').map_or("", |q| &after[q..]);
    format!("{}/{database}{query}", &url[..authority_end])
}

/// A new, empty database on the server at `admin_url`, with a unique name; returns its URL.
///
/// Databases are left behind (dropping one forces a checkpoint, which costs more than the test);
/// `.ci/start-postgres` starts its cluster afresh, which clears them.
pub(crate) async fn create_database(admin_url: &str) -> String {
    let name = format!("sc_t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(admin_url).await.expect("connect to the test server");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create a test database");
    let _ = admin.close().await;
    with_database(admin_url, &name)
}

/// A plain connection to `url`, for the test's own inspection and tampering.
pub(crate) async fn raw(url: &str) -> sqlx::PgConnection {
    sqlx::PgConnection::connect(url).await.expect("raw connection")
}

/// A fresh database on the suite's server, or `None` when the test should return early.
pub(crate) async fn fresh_database() -> Option<String> {
    let admin = server_url()?;
    Some(create_database(&admin).await)
}

#[test]
fn database_is_replaced_in_urls() {
    assert_eq!(with_database("postgres://u@h:5/postgres", "x"), "postgres://u@h:5/x");
    assert_eq!(with_database("postgres://u@h:5", "x"), "postgres://u@h:5/x");
    assert_eq!(with_database("postgres://u:p@h/db?sslmode=disable", "x"), "postgres://u:p@h/x?sslmode=disable");
    assert_eq!(with_database("postgres://h?sslmode=disable", "x"), "postgres://h/x?sslmode=disable");
}
