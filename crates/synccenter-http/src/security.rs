//! The security layers every request passes (outermost first):
//!
//! 1. [`headers`]: on every response `X-Frame-Options: DENY`, a `Content-Security-Policy` with
//!    `frame-ancestors 'none'`, `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, and
//!    `Cache-Control: no-store` on the API, the stream, `/metrics` and `/login`; never an
//!    `Access-Control-Allow-*` header (they are stripped should anything add one). It also logs the internal
//!    [`ErrorDetail`] of failed requests.
//! 2. [`guard`]: the `Host` header must be one of the configured loopback names (defeats DNS rebinding), then
//!    a request that carries an `Origin` must carry `http://<Host>` (whatever its method: this is what stops a
//!    page of another origin, another loopback port included, from opening the live stream or reading the
//!    API with the cookie, which `SameSite` does not withhold between ports of one host), and `/api/…` and
//!    `/metrics` refuse what the browser marks `Sec-Fetch-Site: same-site` or `cross-site`; then a global
//!    token bucket bounds the request rate, then `/api/…` and `/metrics` need the token (cookie or bearer),
//!    and every request other than GET/HEAD needs the token *and* an `Origin` equal to `http://<Host>`. The
//!    ping routes (`/ping/…`, `/api/push/…`) are the exception: after the Host and Origin checks they have a
//!    token bucket of their own (a ping flood cannot lock the page out, nor the reverse) and need no token,
//!    their secret path being the credential; they can only report for their own item.
//! 3. `tower_http::limit::RequestBodyLimitLayer` bounds request bodies, per route (in `routes`).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::COOKIE_NAME;
use crate::error::{ApiError, ErrorDetail};
use crate::state::AppState;
use crate::token::constant_time_eq;

/// The content security policy of every response.
pub(crate) const CSP: &str = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The token a request carries: `Authorization: Bearer T`, else the `synccenter_token` cookie.
pub(crate) fn request_token(headers: &HeaderMap) -> Option<&str> {
    if let Some(bearer) =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(bearer.trim());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim())
}

/// Whether `candidate` is the configured token.
pub(crate) fn token_matches(expected: &str, candidate: Option<&str>) -> bool {
    candidate.is_some_and(|c| constant_time_eq(expected.as_bytes(), c.as_bytes()))
}

fn host_of(req: &Request) -> Option<String> {
    req.headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()))
}

/// The ping routes (`/ping/…`, Uptime Kuma's `/api/push/…`): their secret path is their credential.
pub(crate) fn is_ping(path: &str) -> bool {
    path.starts_with("/ping/") || path.starts_with("/api/push/")
}

fn needs_token(path: &str) -> bool {
    ((path == "/api" || path.starts_with("/api/")) && !is_ping(path)) || path == "/metrics"
}

/// Host check, rate limit, token and Origin (see the module docs).
pub(crate) async fn guard(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let config = &state.config;
    let Some(host) = host_of(&req) else {
        return ApiError::BadHost.into_response();
    };
    if !config.allowed_hosts.iter().any(|h| h.eq_ignore_ascii_case(&host)) {
        return ApiError::BadHost.into_response();
    }
    let expected_origin = format!("http://{host}");
    let origin = req.headers().get(header::ORIGIN);
    let origin_matches = origin.and_then(|v| v.to_str().ok()).is_some_and(|o| o.eq_ignore_ascii_case(&expected_origin));
    if origin.is_some() && !origin_matches {
        return ApiError::BadOrigin.into_response();
    }
    let fetch_site = req.headers().get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if needs_token(req.uri().path()) && fetch_site.is_some_and(|s| s != "same-origin" && s != "none") {
        return ApiError::CrossSite.into_response();
    }
    let ping = is_ping(req.uri().path());
    let admitted = if ping { state.admit_ping(Instant::now()) } else { state.admit(Instant::now()) };
    if !admitted {
        return ApiError::RateLimited.into_response();
    }
    if ping {
        return next.run(req).await;
    }
    let authed = token_matches(&config.token, request_token(req.headers()));
    let safe = req.method() == Method::GET || req.method() == Method::HEAD;
    if (needs_token(req.uri().path()) || !safe) && !authed {
        return ApiError::Unauthenticated.into_response();
    }
    if !safe && !origin_matches {
        return ApiError::BadOrigin.into_response();
    }
    next.run(req).await
}

/// Security headers on every response, no CORS, and logging of internal error details.
pub(crate) async fn headers(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let mut response = next.run(req).await;
    if let Some(ErrorDetail(detail)) = response.extensions_mut().remove::<ErrorDetail>() {
        tracing::warn!(%method, %path, status = %response.status(), "dashboard request failed: {detail}");
    }
    let h = response.headers_mut();
    let cors: Vec<HeaderName> = h.keys().filter(|k| k.as_str().starts_with("access-control-")).cloned().collect();
    for k in cors {
        h.remove(k);
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(HeaderName::from_static("cross-origin-resource-policy"), HeaderValue::from_static("same-origin"));
    if needs_token(&path) || is_ping(&path) || path == "/login" {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_from_bearer_or_cookie() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=b; synccenter_token=xyz; c=d"));
        assert_eq!(request_token(&h), Some("xyz"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(request_token(&h), Some("abc"));
        assert!(token_matches("abc", request_token(&h)));
        assert!(!token_matches("abc", None));
    }
}
