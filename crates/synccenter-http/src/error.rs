//! The crate's two error types: [`HttpError`] for setting the dashboard up (token file, first connection to the
//! daemon), and [`ApiError`] for one HTTP request. An `ApiError` becomes a JSON body
//! `{"error": {"message", "hresult", "name"}}` with a fitting status; internals (socket paths, I/O errors,
//! decoding failures) never reach the body: they travel in an [`ErrorDetail`] response extension that the
//! outermost middleware logs.

use std::path::PathBuf;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use synccenter_client::ClientError;

/// Why the dashboard could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The first connection to the daemon failed.
    #[error("cannot reach the synccenter daemon at {}: {source}", socket.display())]
    Daemon {
        socket: PathBuf,
        /// What the client said.
        #[source]
        source: ClientError,
    },
    /// Reading or writing the token file failed.
    #[error("token file {}: {source}", path.display())]
    TokenIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The token path is not a regular file (a link, a directory).
    #[error("token file {} is not a regular file; remove it and a new token is made", path.display())]
    TokenNotAFile { path: PathBuf },
    /// The token file may be read by others.
    #[error("token file {} has mode {mode:#o}; it must not be readable by group or others (chmod 600)", path.display())]
    TokenPermissions {
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The token file belongs to another user.
    #[error("token file {} belongs to uid {owner}, not to uid {me}", path.display())]
    TokenOwner {
        path: PathBuf,
        owner: u32,
        /// This process's user.
        me: u32,
    },
    /// The token file does not hold a token.
    #[error("token file {} does not hold a {expected}-character hex token", path.display())]
    TokenMalformed { path: PathBuf, expected: usize },
    /// The operating system's random source failed.
    #[error("no randomness for the dashboard token: {0}")]
    Random(String),
}

/// Internal facts of a failed request, attached to the response for logging and never sent to the client.
#[derive(Clone, Debug)]
pub struct ErrorDetail(pub String);

/// Why one HTTP request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The Host header is not one of the loopback names.
    #[error("the Host header is not a loopback address of this dashboard")]
    BadHost,
    /// No valid token (cookie or bearer).
    #[error("a valid dashboard token is required (open the URL that `synccenter dashboard` prints)")]
    Unauthenticated,
    /// A state-changing request without a matching Origin, or any request with a foreign one.
    #[error("the Origin header is missing or does not match the dashboard's own")]
    BadOrigin,
    /// The browser says the request comes from another site or origin (`Sec-Fetch-Site`).
    #[error("requests from other pages are refused (Sec-Fetch-Site)")]
    CrossSite,
    /// The global request rate is exceeded.
    #[error("too many requests; try again in a second")]
    RateLimited,
    /// The request body is over the limit.
    #[error("the request body is over the limit")]
    TooLarge,
    /// The request could not be understood.
    #[error("{0}")]
    BadRequest(String),
    #[error("no such route: {method} {path}")]
    NoRoute { method: String, path: String },
    /// The daemon connection is down (being re-established).
    #[error("the synccenter daemon is not reachable")]
    Unavailable,
    /// The daemon answered with an error or could not be reached.
    #[error(transparent)]
    Daemon(#[from] ClientError),
}

const E_INVALIDARG: (u32, &str) = (0x8007_0057, "E_INVALIDARG");
const E_ACCESSDENIED: (u32, &str) = (0x8007_0005, "E_ACCESSDENIED");
const ERROR_BUSY: (u32, &str) = (0x8007_00AA, "ERROR_BUSY");
const ERROR_NOT_READY: (u32, &str) = (0x8007_0015, "ERROR_NOT_READY");
const ERROR_NOT_FOUND: (u32, &str) = (0x8007_0490, "ERROR_NOT_FOUND");
const E_FAIL: (u32, &str) = (0x8000_4005, "E_FAIL");

/// The HTTP status for a daemon error's HRESULT name.
pub(crate) fn status_for_hresult_name(name: &str) -> StatusCode {
    match name {
        "E_INVALIDARG" | "E_POINTER" => StatusCode::BAD_REQUEST,
        "E_ACCESSDENIED" => StatusCode::FORBIDDEN,
        "ERROR_BUSY" | "ERROR_NOT_READY" | "E_UNEXPECTED" => StatusCode::CONFLICT,
        "ERROR_NOT_FOUND" => StatusCode::NOT_FOUND,
        "E_NOTIMPL" => StatusCode::NOT_IMPLEMENTED,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ApiError {
    /// Status, public message, HRESULT and its name, and the internal detail to log.
    fn parts(&self) -> (StatusCode, String, u32, String, Option<String>) {
        let plain = |status: StatusCode, (hr, name): (u32, &str)| (status, self.to_string(), hr, name.to_owned(), None);
        match self {
            ApiError::BadHost => plain(StatusCode::MISDIRECTED_REQUEST, E_ACCESSDENIED),
            ApiError::Unauthenticated | ApiError::BadOrigin | ApiError::CrossSite => {
                plain(StatusCode::FORBIDDEN, E_ACCESSDENIED)
            }
            ApiError::RateLimited => plain(StatusCode::TOO_MANY_REQUESTS, ERROR_BUSY),
            ApiError::TooLarge => plain(StatusCode::PAYLOAD_TOO_LARGE, E_INVALIDARG),
            ApiError::BadRequest(_) => plain(StatusCode::BAD_REQUEST, E_INVALIDARG),
            ApiError::NoRoute { .. } => plain(StatusCode::NOT_FOUND, ERROR_NOT_FOUND),
            ApiError::Unavailable => plain(StatusCode::BAD_GATEWAY, ERROR_NOT_READY),
            ApiError::Daemon(e) => match e {
                ClientError::Rpc { message, hresult, name, .. } => {
                    (status_for_hresult_name(name), message.clone(), *hresult, name.clone(), None)
                }
                ClientError::Connect { .. } | ClientError::Io(_) | ClientError::Disconnected => (
                    StatusCode::BAD_GATEWAY,
                    "the synccenter daemon is not reachable".to_owned(),
                    ERROR_NOT_READY.0,
                    ERROR_NOT_READY.1.to_owned(),
                    Some(e.to_string()),
                ),
                ClientError::LineTooLong { .. } => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "the request is too large for the daemon's protocol".to_owned(),
                    E_INVALIDARG.0,
                    E_INVALIDARG.1.to_owned(),
                    Some(e.to_string()),
                ),
                _ => (
                    StatusCode::BAD_GATEWAY,
                    "the synccenter daemon gave an unexpected answer".to_owned(),
                    E_FAIL.0,
                    E_FAIL.1.to_owned(),
                    Some(e.to_string()),
                ),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message, hresult, name, detail) = self.parts();
        let body = json!({"error": {"message": message, "hresult": hresult, "name": name}});
        let mut response = (status, Json(body)).into_response();
        if let Some(detail) = detail {
            response.extensions_mut().insert(ErrorDetail(detail));
        }
        if matches!(self, ApiError::RateLimited) {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("1"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hresult_names_map_to_statuses() {
        assert_eq!(status_for_hresult_name("E_INVALIDARG"), StatusCode::BAD_REQUEST);
        assert_eq!(status_for_hresult_name("E_POINTER"), StatusCode::BAD_REQUEST);
        assert_eq!(status_for_hresult_name("E_ACCESSDENIED"), StatusCode::FORBIDDEN);
        assert_eq!(status_for_hresult_name("ERROR_BUSY"), StatusCode::CONFLICT);
        assert_eq!(status_for_hresult_name("ERROR_NOT_READY"), StatusCode::CONFLICT);
        assert_eq!(status_for_hresult_name("E_UNEXPECTED"), StatusCode::CONFLICT);
    }

    #[test]
    fn internals_stay_out_of_the_body() {
        let e = ApiError::Daemon(ClientError::Connect {
            path: "/secret/path.sock".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
        let (status, message, _, _, detail) = e.parts();
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        assert!(!message.contains("/secret"));
        assert!(detail.is_some_and(|d| d.contains("/secret")));
    }
}
