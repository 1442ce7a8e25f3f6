//! What the daemon says about itself and its fleet: `hello`, `status`, `subscribe` (the live feed's start) and
//! the `fleet.*` reads, whose other hosts' parts come from the shared database.

use synccenter_protocol::api;
use synccenter_protocol::fleet::{self as f, HostInfo};
use synccenter_protocol::methods as m;
use synccenter_protocol::{MIN_SUPPORTED_PROTOCOL, PROTOCOL_VERSION};

use super::Hub;
use super::dispatch::{Answer, Handle, Handled, done};
use crate::convert;
use crate::outbox::ConnId;
use crate::queries::Query;

fn server_name() -> String {
    format!("synccenter {}", env!("CARGO_PKG_VERSION"))
}

impl Hub {
    /// This host for `fleet.hosts`, from memory.
    fn host_info(&self) -> HostInfo {
        HostInfo {
            host: self.setup.fleet.host.clone(),
            this_host: true,
            up: true,
            started_at: self.setup.whereabouts.started_at.clone(),
            seen_at: convert::ts(self.center.now()),
            down_since: None,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            handlers: self.center.handlers().count(),
            live_sessions: self.center.live_session_count(),
        }
    }

    fn paused(&self) -> Vec<m::PausedInfo> {
        let paused = self.center.handlers().filter_map(|h| h.pause.map(|p| (h.id.to_string(), p.until)));
        paused.map(|(handler, until)| m::PausedInfo { handler, until: until.map(convert::ts) }).collect()
    }
}

impl Handle<api::Hello> for Hub {
    fn handle(&mut self, conn: ConnId, p: m::HelloParams) -> Handled<m::HelloResult> {
        let (min, max) = p.protocol.map(|r| (r.min, r.max)).unwrap_or((PROTOCOL_VERSION, PROTOCOL_VERSION));
        let version = max.min(PROTOCOL_VERSION);
        if version < min.max(MIN_SUPPORTED_PROTOCOL) {
            return Err(convert::invalid(format!(
                "no common protocol version: the client speaks {min}..={max}, this daemon \
                 {MIN_SUPPORTED_PROTOCOL}..={PROTOCOL_VERSION}"
            )));
        }
        if let Some(client) = p.client {
            tracing::debug!(conn, client = %client.chars().take(128).collect::<String>(), "hello");
        }
        done(m::HelloResult {
            protocol: version,
            server: server_name(),
            max_line_bytes: synccenter_protocol::MAX_LINE_BYTES,
        })
    }
}

impl Handle<api::Status> for Hub {
    fn handle(&mut self, _: ConnId, _: m::Empty) -> Handled<m::StatusResult> {
        let place = &self.setup.whereabouts;
        let scheduler = &self.setup.scheduler;
        done(m::StatusResult {
            server: server_name(),
            protocol: PROTOCOL_VERSION,
            pid: std::process::id(),
            socket: place.socket.clone(),
            data_dir: place.data_dir.clone(),
            store: place.store.clone(),
            started_at: place.started_at.clone(),
            handlers: self.center.handlers().count(),
            live_sessions: self.center.live_session_count(),
            connections: self.conns.len(),
            reports_applied: self.reports_taken,
            config: scheduler.path().map(|p| p.display().to_string()),
            config_error: scheduler.error().map(str::to_owned),
            overdue: self.overdue_items(),
            waiting: self.waiting_items(),
            next_run: self.next_run_any().map(convert::ts),
            http: place.http.clone(),
            host: self.setup.fleet.host.clone(),
            degraded: self.setup.fleet.shared.as_ref().and_then(|s| s.degraded()),
            paused: self.paused(),
            desktop: self.desktop.as_ref().filter(|(c, _)| self.conns.contains_key(c)).map(|(_, s)| s.clone()),
        })
    }
}

impl Handle<api::DesktopReport> for Hub {
    fn handle(&mut self, conn: ConnId, p: m::DesktopReportParams) -> Handled<m::Empty> {
        if p.state.chars().count() > 1000 || p.state.chars().any(char::is_control) {
            return Err(convert::invalid("state must be one line of at most 1000 characters"));
        }
        self.desktop = Some((conn, p.state));
        done(m::Empty {})
    }
}

impl Handle<api::Subscribe> for Hub {
    fn handle(&mut self, conn: ConnId, _: m::Empty) -> Handled<m::SubscribeResult> {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.watcher = true;
        }
        done(m::SubscribeResult {
            seq: self.seq,
            handlers: self.handler_infos(true),
            sessions: self.center.sessions().iter().map(convert::session_info).collect(),
        })
    }
}

impl Handle<api::FleetHosts> for Hub {
    fn handle(&mut self, _: ConnId, _: m::Empty) -> Handled<f::FleetHostsResult> {
        Ok(Answer::FromStore(Box::new(Query::FleetHosts(self.host_info()))))
    }
}

impl Handle<api::FleetHandlers> for Hub {
    fn handle(&mut self, _: ConnId, p: f::FleetHandlersParams) -> Handled<f::FleetHandlersResult> {
        Ok(Answer::FromStore(Box::new(Query::FleetHandlers(self.handler_infos(p.include_hidden), p))))
    }
}

impl Handle<api::FleetSessions> for Hub {
    fn handle(&mut self, _: ConnId, p: f::FleetSessionsParams) -> Handled<f::FleetSessionsResult> {
        Ok(Answer::FromStore(Box::new(Query::FleetSessions(p))))
    }
}

impl Handle<api::FleetEvents> for Hub {
    fn handle(&mut self, _: ConnId, p: f::FleetEventsParams) -> Handled<f::FleetEventsResult> {
        Ok(Answer::FromStore(Box::new(Query::FleetEvents(p))))
    }
}

impl Handle<api::FleetConflicts> for Hub {
    fn handle(&mut self, _: ConnId, p: f::FleetConflictsParams) -> Handled<f::FleetConflictsResult> {
        let local = self.center.conflicts(None, None).into_iter().map(convert::conflict_info).collect();
        Ok(Answer::FromStore(Box::new(Query::FleetConflicts(local, p))))
    }
}
