//! Control from the person's side (`control.*`): start, stop, enable, activate, delete, pause, resume, and
//! re-reading the configuration. A stop is pushed to the owners before the call returns.

use synccenter_core::AlwaysConfirm;
use synccenter_protocol::api;
use synccenter_protocol::methods as m;

use super::Hub;
use super::dispatch::{Handle, Handled, done};
use crate::convert::{self, refused};
use crate::outbox::ConnId;

impl Handle<api::ControlStart> for Hub {
    fn handle(&mut self, conn: ConnId, p: m::ControlTargetParams) -> Handled<m::StartResult> {
        let (_, sync_flags) = convert::flags(&p.flags);
        let context = p.context.as_ref().map(convert::context);
        let requests = match (&p.handler, &p.items) {
            (None, None) => self.center.start_all(),
            (None, Some(_)) => return Err(convert::invalid("items need a handler")),
            (Some(h), None) => {
                vec![self.center.start_handler(&convert::handler_id(h)?, sync_flags, context).map_err(refused)?]
            }
            (Some(h), Some(items)) => {
                let (handler, items) = (convert::handler_id(h)?, convert::item_ids(items)?);
                vec![self.center.start_items(&handler, &items, sync_flags, context).map_err(refused)?]
            }
        };
        for r in &requests {
            self.request_owner.insert(*r, conn);
        }
        done(m::StartResult { requests: requests.iter().map(ToString::to_string).collect() })
    }
}

impl Handle<api::ControlStop> for Hub {
    fn handle(&mut self, _: ConnId, p: m::ControlTargetParams) -> Handled<m::Empty> {
        match (&p.handler, &p.items) {
            (None, None) => self.center.stop_all(),
            (None, Some(_)) => return Err(convert::invalid("items need a handler")),
            (Some(h), None) => self.center.stop_handler(&convert::handler_id(h)?).map_err(refused)?,
            (Some(h), Some(items)) => {
                let (handler, items) = (convert::handler_id(h)?, convert::item_ids(items)?);
                self.center.stop_items(&handler, &items).map_err(refused)?
            }
        }
        done(m::Empty {})
    }
}

impl Handle<api::ControlEnable> for Hub {
    fn handle(&mut self, _: ConnId, p: m::EnableParams) -> Handled<m::Empty> {
        let handler = convert::handler_id(&p.handler)?;
        let (flags, _) = convert::flags(&p.flags);
        match convert::optional_item(&p.item)? {
            None => self.center.enable_handler(&handler, p.enable, flags, &mut AlwaysConfirm),
            Some(item) => self.center.enable_item(&handler, &item, p.enable, flags, &mut AlwaysConfirm),
        }
        .map_err(refused)?;
        done(m::Empty {})
    }
}

impl Handle<api::ControlActivate> for Hub {
    fn handle(&mut self, _: ConnId, p: m::ActivateParams) -> Handled<m::Empty> {
        let handler = convert::handler_id(&p.handler)?;
        let (flags, _) = convert::flags(&p.flags);
        self.center.activate_handler(&handler, p.activate, flags, &mut AlwaysConfirm).map_err(refused)?;
        done(m::Empty {})
    }
}

impl Handle<api::ControlDeleteItem> for Hub {
    fn handle(&mut self, _: ConnId, p: m::DeleteItemParams) -> Handled<m::Empty> {
        let handler = convert::handler_id(&p.handler)?;
        let (flags, _) = convert::flags(&p.flags);
        let item = convert::item_id(&p.item)?;
        self.center.delete_item(&handler, &item, flags, &mut AlwaysConfirm).map_err(refused)?;
        done(m::Empty {})
    }
}

impl Handle<api::ControlReload> for Hub {
    fn handle(&mut self, _: ConnId, _: m::Empty) -> Handled<m::ReloadResult> {
        match self.reload() {
            Ok(handlers) => done(m::ReloadResult { handlers }),
            Err(e) => {
                Err(convert::invalid(format!("the configuration was refused; the last good one stays in force:\n{e}")))
            }
        }
    }
}

impl Handle<api::ControlPause> for Hub {
    fn handle(&mut self, _: ConnId, p: m::PauseParams) -> Handled<m::Empty> {
        let handler = p.handler.as_deref().map(convert::handler_id).transpose()?;
        let until = convert::time("until", &p.until)?;
        self.center.pause(handler.as_ref(), until).map_err(refused)?;
        done(m::Empty {})
    }
}

impl Handle<api::ControlResume> for Hub {
    fn handle(&mut self, _: ConnId, p: m::ResumeParams) -> Handled<m::Empty> {
        let handler = p.handler.as_deref().map(convert::handler_id).transpose()?;
        self.center.resume(handler.as_ref()).map_err(refused)?;
        done(m::Empty {})
    }
}
