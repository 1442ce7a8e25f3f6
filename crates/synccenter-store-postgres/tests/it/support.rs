//! Where the PostgreSQL tests find a server, and throwaway databases on it.
//!
//! The suite's server is named by `SYNCCENTER_TEST_PG_URL` (`bash .ci/start-postgres` starts one and prints
//! it). Without it the tests cannot run: `synccenter_test_support::require` fails them under CI and reports
//! them `SKIPPED:` elsewhere.

use std::time::Duration;

use sqlx::Connection;
use synccenter_test_support::postgres::suite_url;
use synccenter_test_support::require;

/// How long any single wait may take before the test is declared hung.
pub(crate) const HANG_GUARD: Duration = Duration::from_secs(20);

/// The suite's server, or `None` (the test returns) when there is none outside CI.
pub(crate) fn server_url() -> Option<String> {
    require("the suite's PostgreSQL server", suite_url())
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
