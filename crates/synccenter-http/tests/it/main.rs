//! Integration tests of the dashboard against the real daemon (`TestDaemon`), driven with `oneshot`, plus one
//! test through a real TCP listener for the header-read timeout.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

mod api;
mod fleet;
mod ping_url;
// A command handler's run of `sh`: Unix only.
#[cfg(unix)]
mod run_log;
mod security;
mod serve;
mod stream;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, header};
use http_body_util::BodyExt;
use serde_json::Value;
use synccenter_http::{Dashboard, HttpConfig, loopback_hosts};
use synccenter_test_support::{HANG_GUARD, TestDaemon};
use tower::ServiceExt;

pub(crate) const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
pub(crate) const HOST: &str = "127.0.0.1:7420";
pub(crate) const ORIGIN: &str = "http://127.0.0.1:7420";
pub(crate) const MAX_BODY: usize = 1024;

pub(crate) fn config(d: &TestDaemon) -> HttpConfig {
    HttpConfig {
        socket: d.socket.clone(),
        token: TOKEN.to_owned(),
        allowed_hosts: loopback_hosts(7420),
        max_body: MAX_BODY,
        rate_per_second: 100_000,
    }
}

pub(crate) async fn setup() -> (TestDaemon, Dashboard, Router) {
    let d = TestDaemon::start().await;
    let dash = Dashboard::connect(config(&d)).await.expect("dashboard connects");
    let app = dash.app();
    (d, dash, app)
}

/// A GET with the loopback Host and the cookie.
pub(crate) fn get(path: &str) -> Request<Body> {
    Request::get(path)
        .header(header::HOST, HOST)
        .header(header::COOKIE, format!("synccenter_token={TOKEN}"))
        .body(Body::empty())
        .expect("request")
}

/// A state-changing request with the bearer token and a matching Origin.
pub(crate) fn send_json(method: &str, path: &str, body: &Value) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, HOST)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(header::ORIGIN, ORIGIN)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request")
}

pub(crate) async fn call(app: &Router, req: Request<Body>) -> Response<Body> {
    tokio::time::timeout(HANG_GUARD, app.clone().oneshot(req)).await.expect("hang guard").expect("infallible")
}

pub(crate) async fn text(resp: Response<Body>) -> String {
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

pub(crate) async fn json_body(resp: Response<Body>) -> Value {
    let t = text(resp).await;
    serde_json::from_str(&t).unwrap_or_else(|e| panic!("not JSON ({e}): {t}"))
}
