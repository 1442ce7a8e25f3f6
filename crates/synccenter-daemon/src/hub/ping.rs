//! Healthchecks-style pings (`ping.report`, `ping.url`): a job that speaks only HTTP (cron, borgmatic, a shell
//! script with curl) reports into an item through the dashboard's `/ping/` routes.
//!
//! Names are secrets derived from one per-daemon secret (`ping.secret` in the data directory, created `0600` on
//! first use), so nothing new is stored per item: an item's ping UUID is HMAC-SHA256(secret, handler, item) cut
//! to 128 bits and written as a version-8 UUID, a handler's ping key is HMAC-SHA256(secret, handler) as 32 hex
//! digits. A ping is resolved by recomputing them for the registered items (in memory, bounded by the registry);
//! replacing the secret file revokes every URL at once.
//!
//! A start opens a session of the item that the daemon owns (like a command run); the matching success, failure
//! or exit status ends it, and if none comes within [`m::PING_GRACE_SECONDS`] it is failed. Matching follows
//! Healthchecks: an end with the start's `rid`, a failure whatever its `rid`, and an end without `rid` end the
//! open session; any other end is a session that starts and ends at once. A log is an info event.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use synccenter_core::{
    CoreError, EventId, EventLevel, HandlerId, ItemId, ItemSpec, NewEvent, ProgressStatus, SessionId,
};
use synccenter_protocol::api;
use synccenter_protocol::methods::{self as m, PingSignal, UpdateKind, is_canonical_uuid};

use super::Hub;
use super::dispatch::{Handle, Handled, done};
use crate::convert::{self, RpcResult, invalid, refused};
use crate::outbox::ConnId;

/// The secret's file name in the data directory.
pub(crate) const PING_SECRET_FILE: &str = "ping.secret";

/// The secret every ping name is derived from.
#[derive(Clone)]
pub(crate) struct PingKeys {
    secret: Vec<u8>,
}

impl std::fmt::Debug for PingKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PingKeys(..)")
    }
}

impl PingKeys {
    pub(crate) fn new(secret: &[u8]) -> PingKeys {
        PingKeys { secret: secret.to_vec() }
    }

    /// Reads `ping.secret` from `data_dir`, creating it (random, private) when absent.
    pub(crate) fn load(data_dir: &Path) -> Result<PingKeys, String> {
        synccenter_http::load_or_create_secret(data_dir, PING_SECRET_FILE)
            .map(|s| PingKeys::new(s.as_bytes()))
            .map_err(|e| e.to_string())
    }

    fn mac(&self, parts: &[&str]) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
        for part in parts {
            // Length-prefixed, so that no two (handler, item) pairs feed the same bytes.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac.finalize().into_bytes().into()
    }

    /// The item's ping UUID (lower case, canonical form).
    pub(crate) fn uuid(&self, handler: &HandlerId, item: &ItemId) -> String {
        let mac = self.mac(&["item", &handler.folded(), &item.folded()]);
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&mac[..16]);
        uuid_v4::Builder::from_custom_bytes(bytes).into_uuid().hyphenated().to_string()
    }

    /// The handler's ping key (32 lower-case hex digits).
    pub(crate) fn key(&self, handler: &HandlerId) -> String {
        let mac = self.mac(&["key", &handler.folded()]);
        mac[..16].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A session a start ping opened, waiting for its end.
#[derive(Debug)]
struct Open {
    session: SessionId,
    rid: Option<String>,
    deadline: Instant,
}

/// The pings' part of the hub: the secret, and the open session of each pinged item.
#[derive(Debug, Default)]
pub(crate) struct Pings {
    keys: Option<Result<PingKeys, String>>,
    open: HashMap<(HandlerId, ItemId), Open>,
}

impl Pings {
    pub(crate) fn set_keys(&mut self, keys: Result<PingKeys, String>) {
        self.keys = Some(keys);
    }
}

/// What a ping resolved to.
struct Target {
    handler: HandlerId,
    item: ItemId,
    created: bool,
}

/// How a run ended.
enum End {
    Succeeded,
    Failed { why: String },
}

impl Hub {
    fn ping_keys(&self) -> RpcResult<PingKeys> {
        match &self.pings.keys {
            Some(Ok(keys)) => Ok(keys.clone()),
            Some(Err(why)) => Err(invalid(format!("ping URLs are unavailable: {why}"))),
            None => Err(invalid("ping URLs are unavailable: this daemon has no ping secret")),
        }
    }

    /// The registered item whose ping UUID is `uuid`.
    fn item_by_uuid(&self, keys: &PingKeys, uuid: &str) -> Option<Target> {
        let uuid = uuid.to_ascii_lowercase();
        self.center.handlers().find_map(|h| {
            let items = self.center.items(&h.id).unwrap_or_default();
            items.into_iter().find(|i| same(&keys.uuid(&h.id, &i.id), &uuid)).map(|i| Target {
                handler: h.id.clone(),
                item: i.id.clone(),
                created: false,
            })
        })
    }

    /// The item `slug` of the handler whose ping key is `key`, registered first when `create` asks for it.
    fn item_by_slug(&mut self, keys: &PingKeys, key: &str, slug: &str, create: bool) -> RpcResult<Option<Target>> {
        let Some(handler) = self.center.handlers().find(|h| same(&keys.key(&h.id), key)).map(|h| h.id.clone()) else {
            return Ok(None);
        };
        let item = convert::item_id(slug)?;
        if let Ok(found) = self.center.item(&handler, &item) {
            return Ok(Some(Target { handler, item: found.id.clone(), created: false }));
        }
        if !create {
            return Ok(None);
        }
        let spec = ItemSpec { name: Some(slug.to_owned()), ..ItemSpec::default() };
        self.center.register_item(&handler, item.clone(), spec).map_err(refused)?;
        self.update(UpdateKind::RegistryChanged { handler: handler.to_string() });
        Ok(Some(Target { handler, item, created: true }))
    }

    /// The open session of a pinged item, if it is still live.
    fn open_session(&mut self, handler: &HandlerId, item: &ItemId) -> Option<&Open> {
        let key = (handler.clone(), item.clone());
        let live = self.pings.open.get(&key).is_some_and(|o| self.center.session(o.session).is_ok());
        if !live {
            self.pings.open.remove(&key);
        }
        self.pings.open.get(&key)
    }

    /// A new session of the daemon over one item, announced on the feed.
    fn open_ping_session(&mut self, handler: &HandlerId, item: &ItemId) -> Result<SessionId, CoreError> {
        let owner = self.setup.scheduler.new_owner();
        let session = self.center.create_session(owner, handler, std::slice::from_ref(item))?;
        if let Ok(view) = self.center.session(session) {
            self.update(UpdateKind::SessionStarted { session: convert::session_info(&view) });
        }
        Ok(session)
    }

    fn ping_event(
        &mut self,
        session: SessionId,
        item: &ItemId,
        level: EventLevel,
        name: &str,
        body: &str,
    ) -> Option<EventId> {
        let event = NewEvent {
            item: Some(item.clone()),
            level: Some(level),
            name: Some(name.to_owned()),
            description: Some(body.to_owned()),
            ..NewEvent::default()
        };
        self.center.report_event(session, event).ok()
    }

    /// A start: the item's open session (if any) fails, superseded, and a new one opens.
    fn ping_start(&mut self, t: &Target, rid: Option<String>, body: &str) -> (Option<SessionId>, Option<EventId>) {
        if let Some(open) = self.open_session(&t.handler, &t.item).map(|o| o.session) {
            let why = "A new start ping arrived before this run reported its end".to_owned();
            self.finish_ping(open, &t.item, End::Failed { why }, "");
        }
        match self.open_ping_session(&t.handler, &t.item) {
            Ok(session) => {
                let _ = self.center.report_progress(
                    session,
                    &t.item,
                    ProgressStatus::UpdatingIndeterminate,
                    Some("Started (ping)"),
                    0,
                    0,
                );
                let event = (!body.is_empty())
                    .then(|| self.ping_event(session, &t.item, EventLevel::Info, "Start (ping)", body));
                let deadline = Instant::now() + self.ping_grace(&t.handler, &t.item);
                self.pings.open.insert((t.handler.clone(), t.item.clone()), Open { session, rid, deadline });
                (Some(session), event.flatten())
            }
            Err(e) => (None, self.unsessioned(t, EventLevel::Warning, "Start (ping)", body, &e)),
        }
    }

    /// A success, failure or exit status: ends the matching open session, or is a session of its own.
    fn ping_end(
        &mut self,
        t: &Target,
        rid: Option<String>,
        end: End,
        body: &str,
    ) -> (Option<SessionId>, Option<EventId>) {
        let failed = matches!(end, End::Failed { .. });
        let matching = self
            .open_session(&t.handler, &t.item)
            .filter(|o| failed || rid.is_none() || o.rid == rid)
            .map(|o| o.session);
        let session = match matching {
            Some(s) => s,
            None => match self.open_ping_session(&t.handler, &t.item) {
                Ok(s) => s,
                Err(e) => {
                    let (level, name) = match &end {
                        End::Succeeded => (EventLevel::Info, "Succeeded (ping)".to_owned()),
                        End::Failed { why } => (EventLevel::Error, why.clone()),
                    };
                    return (None, self.unsessioned(t, level, &name, body, &e));
                }
            },
        };
        let event = self.finish_ping(session, &t.item, end, body);
        (Some(session), event)
    }

    /// Ends a ping session with the run's outcome; a failure's event carries the body (the job's log).
    fn finish_ping(&mut self, session: SessionId, item: &ItemId, end: End, body: &str) -> Option<EventId> {
        self.pings.open.retain(|_, o| o.session != session);
        let (status, text, event) = match end {
            End::Succeeded => {
                let event =
                    (!body.is_empty()).then(|| self.ping_event(session, item, EventLevel::Info, "Log (ping)", body));
                (ProgressStatus::Succeeded, "Succeeded (ping)".to_owned(), event.flatten())
            }
            End::Failed { why } => {
                let description = if body.is_empty() { "The job sent no log." } else { body };
                let event = self.ping_event(session, item, EventLevel::Error, &why, description);
                (ProgressStatus::Failed, why, event)
            }
        };
        let _ = self.center.report_progress(session, item, status, Some(&text), 0, 0);
        if let Err(e) = self.center.end_session(session) {
            tracing::warn!(%session, error = %e, "a ping session could not end");
        }
        event
    }

    /// A ping kept as an event of the item when no session can open (the handler is paused, disabled, or busy
    /// with another session and does not declare `supports_concurrent_sessions`).
    fn unsessioned(
        &mut self,
        t: &Target,
        level: EventLevel,
        name: &str,
        body: &str,
        why: &CoreError,
    ) -> Option<EventId> {
        let description = format!("{body}\n\n(Kept as an event: no session could open: {why})");
        self.center.add_event(&t.handler, Some(&t.item), level, name, description.trim_start()).ok()
    }

    /// A log: an info event, in the item's open session when there is one.
    fn ping_log(&mut self, t: &Target, body: &str) -> (Option<SessionId>, Option<EventId>) {
        match self.open_session(&t.handler, &t.item).map(|o| o.session) {
            Some(s) => (Some(s), self.ping_event(s, &t.item, EventLevel::Info, "Log (ping)", body)),
            None => (None, self.center.add_event(&t.handler, Some(&t.item), EventLevel::Info, "Log (ping)", body).ok()),
        }
    }

    /// How long a started ping session waits for its end: the item's `timeout` where `config.toml` declares
    /// one, else Healthchecks' default grace time.
    fn ping_grace(&self, handler: &HandlerId, item: &ItemId) -> Duration {
        let config = self.setup.scheduler.config();
        let declared =
            config.handlers.iter().filter(|h| h.id == *handler).flat_map(|h| &h.items).find(|i| i.id == *item);
        declared.and_then(|i| i.timeout).unwrap_or(Duration::from_secs(m::PING_GRACE_SECONDS))
    }

    /// Fails the sessions whose start got no end within the grace time.
    pub(super) fn expire_pings(&mut self, now: Instant) {
        let late: Vec<((HandlerId, ItemId), SessionId)> =
            self.pings.open.iter().filter(|(_, o)| o.deadline <= now).map(|(k, o)| (k.clone(), o.session)).collect();
        for ((handler, item), session) in late {
            let grace = self.ping_grace(&handler, &item).as_secs();
            let why = format!("No end ping within {grace} s of the start (its grace time)");
            if self.center.session(session).is_ok() {
                self.finish_ping(session, &item, End::Failed { why }, "");
            }
            self.pings.open.retain(|_, o| o.session != session);
        }
    }
}

/// Compares secrets in time that depends only on their lengths.
fn same(expected: &str, given: &str) -> bool {
    synccenter_http::constant_time_eq(expected.as_bytes(), given.as_bytes())
}

/// Checks the forms of a report's parameters before anything is looked up.
fn check(p: &m::PingReportParams) -> RpcResult<()> {
    if let Some(rid) = &p.rid
        && !is_canonical_uuid(rid)
    {
        return Err(invalid(format!("rid {rid:?} is not a UUID in canonical form")));
    }
    if let Some(uuid) = &p.uuid
        && !is_canonical_uuid(uuid)
    {
        return Err(invalid(format!("{uuid:?} is not a UUID in canonical form")));
    }
    if let Some(slug) = &p.slug
        && *slug != slug.to_lowercase()
    {
        return Err(invalid(format!("the slug {slug:?} is not in lower case")));
    }
    if p.body.as_ref().is_some_and(|b| b.len() > m::PING_BODY_LIMIT) {
        return Err(invalid(format!("the body is over {} bytes", m::PING_BODY_LIMIT)));
    }
    match (p.signal, p.exit_status) {
        (PingSignal::Exit, None) => Err(invalid("signal `exit` needs `exit_status`")),
        (PingSignal::Exit, Some(_)) | (_, None) => Ok(()),
        (_, Some(_)) => Err(invalid("`exit_status` goes with signal `exit`")),
    }
}

impl Handle<api::PingReport> for Hub {
    fn handle(&mut self, _: ConnId, p: m::PingReportParams) -> Handled<m::PingReportResult> {
        check(&p)?;
        let keys = self.ping_keys()?;
        let target = match (&p.uuid, &p.key, &p.slug) {
            (Some(uuid), None, None) if !p.create => self.item_by_uuid(&keys, uuid),
            (None, Some(key), Some(slug)) => self.item_by_slug(&keys, key, slug, p.create)?,
            _ => return Err(invalid("name the item by `uuid`, or by `key` and `slug` (`create` goes with a slug)")),
        };
        let Some(t) = target else {
            return done(m::PingReportResult {
                found: false,
                handler: None,
                item: None,
                created: false,
                session: None,
                event: None,
            });
        };
        let body = p.body.as_deref().unwrap_or("");
        let fail = |why: &str| End::Failed { why: why.to_owned() };
        let (session, event) = match (p.signal, p.exit_status) {
            (PingSignal::Start, _) => self.ping_start(&t, p.rid, body),
            (PingSignal::Log, _) => self.ping_log(&t, body),
            (PingSignal::Success, _) | (PingSignal::Exit, Some(0)) => self.ping_end(&t, p.rid, End::Succeeded, body),
            (PingSignal::Fail, _) => self.ping_end(&t, p.rid, fail("Failed (ping)"), body),
            (PingSignal::Exit, status) => {
                let why = format!("Exited with status {} (ping)", status.unwrap_or_default());
                self.ping_end(&t, p.rid, End::Failed { why }, body)
            }
        };
        done(m::PingReportResult {
            found: true,
            handler: Some(t.handler.to_string()),
            item: Some(t.item.to_string()),
            created: t.created,
            session: session.map(|s| s.to_string()),
            event: event.map(|e| e.to_string()),
        })
    }
}

impl Handle<api::PingUrl> for Hub {
    fn handle(&mut self, _: ConnId, p: m::PingUrlParams) -> Handled<m::PingUrlResult> {
        let keys = self.ping_keys()?;
        let item = self.center.item(&convert::handler_id(&p.handler)?, &convert::item_id(&p.item)?).map_err(refused)?;
        let item = item.id.clone();
        let handler = self.center.handler(&convert::handler_id(&p.handler)?).map_err(refused)?.id.clone();
        let (uuid, key) = (keys.uuid(&handler, &item), keys.key(&handler));
        let path = format!("/ping/{uuid}");
        let slug_path = format!("/ping/{key}/{}", slug_segment(&item));
        let base = self.setup.whereabouts.http.as_ref().map(|addr| format!("http://{addr}"));
        done(m::PingUrlResult {
            handler: handler.to_string(),
            item: item.to_string(),
            url: base.as_ref().map(|b| format!("{b}{path}")),
            slug_url: base.as_ref().map(|b| format!("{b}{slug_path}")),
            push_url: base.as_ref().map(|b| format!("{b}/api/push/{uuid}")),
            uuid,
            key,
            path,
            slug_path,
            body_limit: m::PING_BODY_LIMIT,
            grace_seconds: m::PING_GRACE_SECONDS,
        })
    }
}

/// An item ID as a slug path segment: lower case, percent-encoded outside `A-Za-z0-9-_.~`.
fn slug_segment(item: &ItemId) -> String {
    let mut out = String::new();
    for b in item.as_str().to_lowercase().bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_canonical_and_keyed() {
        let (h, i) = (HandlerId::new("Backups").expect("id"), ItemId::new("home").expect("id"));
        let a = PingKeys::new(b"secret one");
        let uuid = a.uuid(&h, &i);
        assert!(is_canonical_uuid(&uuid), "{uuid}");
        assert_eq!(uuid, a.uuid(&HandlerId::new("backups").expect("id"), &ItemId::new("HOME").expect("id")));
        assert_ne!(uuid, a.uuid(&h, &ItemId::new("homf").expect("id")));
        assert_ne!(uuid, PingKeys::new(b"secret two").uuid(&h, &i), "another secret revokes every URL");
        assert_eq!(a.key(&h).len(), 32);
        assert_ne!(a.key(&h), a.key(&HandlerId::new("other").expect("id")));
    }

    #[test]
    fn slugs_are_lower_case_and_encoded() {
        assert_eq!(slug_segment(&ItemId::new("Home dir/x").expect("id")), "home%20dir%2Fx");
    }
}
