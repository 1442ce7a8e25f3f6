//! The dashboard's page, script and style sheet, compiled into the binary from `assets/`.

use axum::http::header;
use axum::response::IntoResponse;

pub(crate) const INDEX_HTML: &str = include_str!("../assets/index.html");
pub(crate) const APP_JS: &str = include_str!("../assets/app.js");
pub(crate) const STYLE_CSS: &str = include_str!("../assets/style.css");

pub(crate) async fn index() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX_HTML)
}

pub(crate) async fn app_js() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], APP_JS)
}

pub(crate) async fn style_css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE_CSS)
}
