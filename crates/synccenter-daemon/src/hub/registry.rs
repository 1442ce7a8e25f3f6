//! Handlers and items (`handler.*`, `item.*`): registration, listing (with the error counts from the store),
//! removal, and which connection serves a handler's sync requests.

use synccenter_core::{Center, CoreError, HandlerId};
use synccenter_protocol::api;
use synccenter_protocol::methods::{self as m, UpdateKind};

use super::Hub;
use super::dispatch::{Answer, Handle, Handled, done};
use crate::convert::{self, RpcResult, refused};
use crate::outbox::ConnId;
use crate::queries::Query;

impl Hub {
    pub(super) fn handler_info(&self, id: &HandlerId) -> Result<m::HandlerInfo, CoreError> {
        let h = self.center.handler(id)?;
        let items = self.center.items(id)?;
        let scheduler = &self.setup.scheduler;
        let config = scheduler.config().handlers.iter().find(|c| &c.id == id);
        let syncing = self.center.sessions().iter().any(|s| &s.handler == id);
        let now = self.center.now();
        // While it does not sync, a handler whose due run waits says why where its text is shown.
        let waiting = items.iter().find_map(|i| scheduler.waiting(id, &i.id, now));
        Ok(m::HandlerInfo {
            display_text: match waiting.as_ref().filter(|_| !syncing) {
                Some(why) => format!("waiting: {why}"),
                None => self.center.handler_display_text(id)?,
            },
            waiting,
            syncing,
            command: scheduler.manages(id),
            next_run: items.iter().filter_map(|i| scheduler.next_run(id, &i.id)).min().map(convert::ts),
            overdue: items.iter().any(|i| scheduler.is_overdue(id, &i.id)),
            conflict_count: self.center.conflict_count(id),
            notify: config.map(|c| c.notify.name().to_owned()),
            inhibit_sleep: config.map(|c| c.inhibit_sleep),
            ..convert::stored_handler_info(h, self.center.item_count(id)?)
        })
    }

    pub(super) fn handler_infos(&self, include_hidden: bool) -> Vec<m::HandlerInfo> {
        self.center
            .handlers()
            .filter(|h| include_hidden || !h.hidden)
            .filter_map(|h| self.handler_info(&h.id).ok())
            .collect()
    }

    fn item_infos(&self, p: &m::ItemListParams) -> RpcResult<Vec<m::ItemInfo>> {
        let handler = convert::handler_id(&p.handler)?;
        let items = self.center.items(&handler).map_err(refused)?;
        let now = self.center.now();
        Ok(items
            .into_iter()
            .filter(|i| p.include_hidden || !i.hidden)
            .map(|i| {
                let mut info = item_info(&self.center, &handler, i.clone());
                info.next_run = self.setup.scheduler.next_run(&handler, &i.id).map(convert::ts);
                info.overdue = self.setup.scheduler.is_overdue(&handler, &i.id);
                info.waiting = self.setup.scheduler.waiting(&handler, &i.id, now);
                info
            })
            .collect())
    }
}

fn item_info(center: &Center, handler: &HandlerId, i: synccenter_core::Item) -> m::ItemInfo {
    let progress = center.item_display(handler, &i.id).ok().flatten();
    m::ItemInfo {
        item: i.id.to_string(),
        name: i.name,
        type_label: i.type_label,
        comment: i.comment,
        last_sync: i.last_sync_reported.or(i.last_sync_recorded).map(convert::ts),
        enabled: i.enabled,
        connected: i.connected,
        hidden: i.hidden,
        capabilities: i.capabilities.names().into_iter().map(str::to_owned).collect(),
        policies: i.policies.names().into_iter().map(str::to_owned).collect(),
        error_count: 0,
        next_run: None,
        overdue: false,
        waiting: None,
        progress: progress.as_ref().map(convert::progress_info),
    }
}

impl Handle<api::HandlerRegister> for Hub {
    fn handle(&mut self, _: ConnId, p: m::HandlerRegisterParams) -> Handled<m::HandlerInfo> {
        let handler = convert::handler_id(&p.handler)?;
        let spec = convert::handler_spec(&p)?;
        self.center.register_handler(handler.clone(), spec).map_err(refused)?;
        self.update(UpdateKind::RegistryChanged { handler: handler.to_string() });
        done(self.handler_info(&handler).map_err(refused)?)
    }
}

impl Handle<api::HandlerList> for Hub {
    fn handle(&mut self, _: ConnId, p: m::HandlerListParams) -> Handled<m::HandlerListResult> {
        Ok(Answer::FromStore(Box::new(Query::HandlerCounts(self.handler_infos(p.include_hidden)))))
    }
}

impl Handle<api::HandlerRemove> for Hub {
    fn handle(&mut self, _: ConnId, p: m::HandlerParams) -> Handled<m::Empty> {
        let handler = convert::handler_id(&p.handler)?;
        self.center.remove_handler(&handler).map_err(refused)?;
        self.update(UpdateKind::RegistryChanged { handler: handler.to_string() });
        done(m::Empty {})
    }
}

impl Handle<api::HandlerServe> for Hub {
    fn handle(&mut self, conn: ConnId, p: m::HandlerParams) -> Handled<m::Empty> {
        let handler = convert::handler_id(&p.handler)?;
        self.center.handler(&handler).map_err(refused)?;
        if let Some(c) = self.conns.get_mut(&conn) {
            c.serving.insert(handler);
        }
        done(m::Empty {})
    }
}

impl Handle<api::HandlerSyncFailed> for Hub {
    fn handle(&mut self, _: ConnId, p: m::SyncFailedParams) -> Handled<m::Empty> {
        let request = convert::request_id(&p.request)?;
        self.center.fail_request(request, &p.reason).map_err(refused)?;
        done(m::Empty {})
    }
}

impl Handle<api::ItemRegister> for Hub {
    fn handle(&mut self, _: ConnId, p: m::ItemRegisterParams) -> Handled<m::ItemInfo> {
        let handler = convert::handler_id(&p.handler)?;
        let item = convert::item_id(&p.item)?;
        let spec = convert::item_spec(&p.fields)?;
        let it = self.center.register_item(&handler, item, spec).map_err(refused)?.clone();
        self.update(UpdateKind::RegistryChanged { handler: handler.to_string() });
        done(item_info(&self.center, &handler, it))
    }
}

impl Handle<api::ItemList> for Hub {
    fn handle(&mut self, _: ConnId, p: m::ItemListParams) -> Handled<m::ItemListResult> {
        let items = self.item_infos(&p)?;
        Ok(Answer::FromStore(Box::new(Query::ItemCounts { handler: p.handler, items })))
    }
}
