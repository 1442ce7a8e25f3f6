//! Healthchecks-style pings (`ping.*`): a job outside Sync Center reports "started", "succeeded", "failed" or
//! "here is a log" for one item, named by a secret the daemon derives (the item's ping UUID, or its handler's
//! ping key with the item as slug). The dashboard's `/ping/` routes turn HTTP pings into `ping.report`; the
//! CLI's `ping-url` and the page ask `ping.url` for an item's URL. See `docs/integrations.md`.

use super::*;

/// Bytes of a ping's body that are stored (with the event it becomes); the dashboard announces it in
/// `Ping-Body-Limit` and truncates longer bodies to it, as Healthchecks does. It fits an event's description
/// (8192 UTF-16 units) whole.
pub const PING_BODY_LIMIT: usize = 8192;

/// Seconds a session opened by a start ping waits for its end before it is failed (Healthchecks' default grace
/// time, one hour).
pub const PING_GRACE_SECONDS: u64 = 3600;

/// What a ping says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PingSignal {
    /// The job succeeded (`/ping/<uuid>`).
    #[default]
    Success,
    /// The job started (`/start`).
    Start,
    /// The job failed (`/fail`).
    Fail,
    /// Information only (`/log`).
    Log,
    /// The job exited with `exit_status` (`/<0-255>`): 0 succeeded, anything else failed.
    Exit,
}

/// `ping.report`: one ping, naming its item by `uuid`, or by `key` and `slug`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PingReportParams {
    /// The item's ping UUID (canonical form, as `ping.url` gives it).
    pub uuid: Option<String>,
    /// The handler's ping key (with `slug`).
    pub key: Option<String>,
    /// The item's ID, in lower case (with `key`).
    pub slug: Option<String>,
    #[serde(default)]
    pub signal: PingSignal,
    /// With `signal` `exit`.
    pub exit_status: Option<u8>,
    /// A run ID (a UUID) pairing a start with its end.
    pub rid: Option<String>,
    /// The ping's body, at most [`PING_BODY_LIMIT`] bytes.
    pub body: Option<String>,
    /// With `key` and `slug`: register the item when the handler has no such item.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub create: bool,
}

/// `ping.report` result.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PingReportResult {
    /// False when no item has this UUID, no handler this key, or the handler no such slug (without `create`):
    /// nothing was changed. The dashboard answers `404 not found`.
    pub found: bool,
    pub handler: Option<String>,
    pub item: Option<String>,
    /// The item was registered by this ping (`create`).
    pub created: bool,
    /// The session the ping opened, ended or reported into, if any.
    pub session: Option<String>,
    /// The event the ping recorded, if any.
    pub event: Option<String>,
}

/// `ping.url`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PingUrlParams {
    pub handler: String,
    pub item: String,
}

/// `ping.url` result: where the item's pings go.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PingUrlResult {
    pub handler: String,
    pub item: String,
    /// The item's ping UUID.
    pub uuid: String,
    /// The handler's ping key.
    pub key: String,
    /// `/ping/<uuid>`.
    pub path: String,
    /// `/ping/<key>/<slug>`.
    pub slug_path: String,
    /// `http://<dashboard>/ping/<uuid>`, when the dashboard runs.
    pub url: Option<String>,
    /// `http://<dashboard>/ping/<key>/<slug>`, when the dashboard runs.
    pub slug_url: Option<String>,
    /// `http://<dashboard>/api/push/<uuid>` (Uptime Kuma's push form), when the dashboard runs.
    pub push_url: Option<String>,
    /// See [`PING_BODY_LIMIT`].
    pub body_limit: usize,
    /// See [`PING_GRACE_SECONDS`].
    pub grace_seconds: u64,
}

/// Whether `s` is a UUID in canonical textual form (`8-4-4-4-12` hex digits), the only form pings accept.
pub fn is_canonical_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes()
            .enumerate()
            .all(|(i, b)| if matches!(i, 8 | 13 | 18 | 23) { b == b'-' } else { b.is_ascii_hexdigit() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_uuids_only() {
        assert!(is_canonical_uuid("123e4567-e89b-12d3-a456-426614174000"));
        assert!(is_canonical_uuid("123E4567-E89B-12D3-A456-426614174000"));
        assert!(!is_canonical_uuid("123e4567e89b12d3a456426614174000"));
        assert!(!is_canonical_uuid("123e4567-e89b-12d3-a456-42661417400g"));
        assert!(!is_canonical_uuid("123e4567-e89b-12d3-a456-4266141740000"));
        assert!(!is_canonical_uuid(""));
    }

    #[test]
    fn params_refuse_unknown_fields_and_default_to_success() {
        let p: PingReportParams = serde_json::from_str(r#"{"uuid":"x"}"#).expect("decodes");
        assert_eq!(p.signal, PingSignal::Success);
        assert!(serde_json::from_str::<PingReportParams>(r#"{"uuid":"x","bogus":1}"#).is_err());
        assert!(serde_json::from_str::<PingReportParams>(r#"{"signal":"exit","exit_status":256}"#).is_err());
    }
}
