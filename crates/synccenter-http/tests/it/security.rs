//! Login, the Host check, token, Origin, CORS, framing headers, body and rate limits.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;
use synccenter_http::Dashboard;
use synccenter_test_support::TestDaemon;

use crate::{HOST, MAX_BODY, TOKEN, call, config, get, json_body, send_json, setup};

#[tokio::test]
async fn login_sets_a_strict_http_only_cookie_and_redirects() {
    let (_d, _dash, app) = setup().await;
    let req = Request::get(format!("/login?token={TOKEN}")).header(header::HOST, HOST).body(Body::empty()).unwrap();
    let resp = call(&app, req).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[header::LOCATION], "/");
    let cookie = resp.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with(&format!("synccenter_token={TOKEN}")), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"), "{cookie}");
    assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-store");

    let bad = Request::get("/login?token=nope").header(header::HOST, HOST).body(Body::empty()).unwrap();
    let resp = call(&app, bad).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.headers().get(header::SET_COOKIE).is_none());
}

#[tokio::test]
async fn the_api_needs_the_token() {
    let (_d, _dash, app) = setup().await;
    for path in ["/api/v1/status", "/api/v1/handlers", "/api/v1/stream", "/metrics", "/api/v1/openapi.json"] {
        let req = Request::get(path).header(header::HOST, HOST).body(Body::empty()).unwrap();
        let resp = call(&app, req).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
        let body = json_body(resp).await;
        assert_eq!(body["error"]["name"], "E_ACCESSDENIED");
    }
    let wrong = Request::get("/api/v1/status")
        .header(header::HOST, HOST)
        .header(header::COOKIE, "synccenter_token=0000")
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(&app, wrong).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(call(&app, get("/api/v1/status")).await.status(), StatusCode::OK);
    let bearer = Request::get("/api/v1/status")
        .header(header::HOST, HOST)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(&app, bearer).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_foreign_host_is_rejected() {
    let (_d, _dash, app) = setup().await;
    for host in ["evil.example:7420", "127.0.0.1:7421", "attacker.localhost:7420"] {
        let mut req = get("/api/v1/status");
        req.headers_mut().insert(header::HOST, host.parse().unwrap());
        let resp = call(&app, req).await;
        assert_eq!(resp.status(), StatusCode::MISDIRECTED_REQUEST, "{host}");
        let mut req = get("/");
        req.headers_mut().insert(header::HOST, host.parse().unwrap());
        assert_eq!(call(&app, req).await.status(), StatusCode::MISDIRECTED_REQUEST, "{host}");
    }
    for host in ["localhost:7420", "[::1]:7420", "LOCALHOST:7420"] {
        let mut req = get("/api/v1/status");
        req.headers_mut().insert(header::HOST, host.parse().unwrap());
        assert_eq!(call(&app, req).await.status(), StatusCode::OK, "{host}");
    }
}

#[tokio::test]
async fn state_changes_need_the_token_and_a_matching_origin() {
    let (_d, _dash, app) = setup().await;
    let body = json!({"handler": "nobody"});
    let mut foreign = send_json("POST", "/api/v1/control/stop", &body);
    foreign.headers_mut().insert(header::ORIGIN, "http://evil.example".parse().unwrap());
    assert_eq!(call(&app, foreign).await.status(), StatusCode::FORBIDDEN);

    let mut other_port = send_json("POST", "/api/v1/control/resume", &json!({}));
    other_port.headers_mut().insert(header::ORIGIN, "http://127.0.0.1:9999".parse().unwrap());
    assert_eq!(call(&app, other_port).await.status(), StatusCode::FORBIDDEN);

    let mut missing = send_json("POST", "/api/v1/control/resume", &json!({}));
    missing.headers_mut().remove(header::ORIGIN);
    assert_eq!(call(&app, missing).await.status(), StatusCode::FORBIDDEN);

    let mut no_token = send_json("POST", "/api/v1/control/resume", &json!({}));
    no_token.headers_mut().remove(header::AUTHORIZATION);
    assert_eq!(call(&app, no_token).await.status(), StatusCode::FORBIDDEN);

    // A POST outside the API is not a way around it either.
    let mut login_post = send_json("POST", "/login", &json!({}));
    login_post.headers_mut().remove(header::AUTHORIZATION);
    assert_eq!(call(&app, login_post).await.status(), StatusCode::FORBIDDEN);

    let ok = call(&app, send_json("POST", "/api/v1/control/resume", &json!({}))).await;
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn reads_and_the_live_stream_refuse_other_origins_and_sites() {
    let (_d, _dash, app) = setup().await;
    for path in ["/api/v1/stream", "/api/v1/handlers", "/metrics"] {
        for origin in ["http://127.0.0.1:9999", "http://evil.example", "null"] {
            let mut req = get(path);
            req.headers_mut().insert(header::ORIGIN, origin.parse().unwrap());
            assert_eq!(call(&app, req).await.status(), StatusCode::FORBIDDEN, "{path} from {origin}");
        }
        for site in ["same-site", "cross-site"] {
            let mut req = get(path);
            req.headers_mut().insert("sec-fetch-site", site.parse().unwrap());
            assert_eq!(call(&app, req).await.status(), StatusCode::FORBIDDEN, "{path} from a {site} page");
        }
    }
    // The dashboard's own page: its Origin, or none (same-origin GET), and Sec-Fetch-Site same-origin.
    let mut own = get("/api/v1/handlers");
    own.headers_mut().insert(header::ORIGIN, format!("http://{HOST}").parse().unwrap());
    own.headers_mut().insert("sec-fetch-site", "same-origin".parse().unwrap());
    assert_eq!(call(&app, own).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn no_cors_headers_ever() {
    let (_d, _dash, app) = setup().await;
    let resp = call(&app, get("/api/v1/status")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().keys().all(|k| !k.as_str().starts_with("access-control-")), "{:?}", resp.headers());
    let mut req = get("/api/v1/status");
    req.headers_mut().insert(header::ORIGIN, "http://evil.example".parse().unwrap());
    let resp = call(&app, req).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN, "a foreign Origin is refused on reads too");
    assert!(resp.headers().keys().all(|k| !k.as_str().starts_with("access-control-")), "{:?}", resp.headers());

    let preflight = Request::builder()
        .method("OPTIONS")
        .uri("/api/v1/control/start")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, "http://evil.example")
        .header("access-control-request-method", "POST")
        .body(Body::empty())
        .unwrap();
    let resp = call(&app, preflight).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.headers().keys().all(|k| !k.as_str().starts_with("access-control-")));
}

#[tokio::test]
async fn framing_and_sniffing_are_forbidden_everywhere() {
    let (_d, _dash, app) = setup().await;
    let bad_host = Request::get("/").header(header::HOST, "evil.example").body(Body::empty()).unwrap();
    for req in [get("/"), get("/app.js"), get("/api/v1/status"), get("/no/such/route"), bad_host] {
        let path = req.uri().path().to_owned();
        let resp = call(&app, req).await;
        let h = resp.headers();
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY", "{path}");
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"), "{path}: {csp}");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        assert_eq!(h[header::REFERRER_POLICY], "no-referrer", "{path}");
        assert_eq!(h["cross-origin-resource-policy"], "same-origin", "{path}");
    }
    let api = call(&app, get("/api/v1/status")).await;
    assert_eq!(api.headers()[header::CACHE_CONTROL], "no-store");
    let page = call(&app, get("/")).await;
    assert!(page.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    let css = call(&app, get("/style.css")).await;
    assert!(css.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/css"));
    let js = call(&app, get("/app.js")).await;
    assert!(js.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/javascript"));
}

#[tokio::test]
async fn unknown_routes_are_json_404() {
    let (_d, _dash, app) = setup().await;
    let resp = call(&app, get("/api/v1/nothing")).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let body = json_body(resp).await;
    assert_eq!(body["error"]["name"], "ERROR_NOT_FOUND");
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    let (_d, _dash, app) = setup().await;
    let big = json!({"handler": "x".repeat(MAX_BODY * 2)});
    let resp = call(&app, send_json("POST", "/api/v1/control/start", &big)).await;
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // Without a Content-Length (a streamed body) the limit holds too.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![Ok(vec![b' '; MAX_BODY]), Ok(vec![b' '; MAX_BODY])];
    let mut req = send_json("POST", "/api/v1/control/start", &json!({}));
    *req.body_mut() = Body::from_stream(futures_util::stream::iter(chunks));
    let resp = call(&app, req).await;
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn the_rate_is_bounded() {
    let d = TestDaemon::start().await;
    let mut c = config(&d);
    c.rate_per_second = 3;
    let app = Dashboard::connect(c).await.unwrap().app();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(call(&app, get("/style.css")).await.status());
    }
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    assert_eq!(statuses[0], StatusCode::OK);
}
