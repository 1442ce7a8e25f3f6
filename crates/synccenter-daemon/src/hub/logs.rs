//! Run logs (`logs.read`): the hub checks the call and says whether the run still goes; the file is read off
//! its task, as a deferred query ([`crate::queries::LogRead`]).

use synccenter_protocol::api;
use synccenter_protocol::methods::{self as m, LOG_PAGE_DEFAULT, LOG_PAGE_MAX};

use super::Hub;
use super::dispatch::{Answer, Handle, Handled};
use crate::convert;
use crate::outbox::ConnId;
use crate::queries::{LogRead, Query};

impl Handle<api::LogsRead> for Hub {
    fn handle(&mut self, _: ConnId, p: m::LogsReadParams) -> Handled<m::LogsReadResult> {
        let session = convert::session_id(&p.session)?;
        let item = convert::optional_item(&p.item)?.map(|i| i.to_string());
        let limit = p.limit.unwrap_or(LOG_PAGE_DEFAULT);
        if !(1..=LOG_PAGE_MAX).contains(&limit) {
            return Err(convert::invalid(format!("limit {limit} is not between 1 and {LOG_PAGE_MAX}")));
        }
        let Some(logs) = self.setup.scheduler.logs() else {
            return Err(convert::invalid("this daemon keeps no run logs"));
        };
        let read = LogRead {
            path: logs.path(session),
            session: p.session,
            item,
            offset: p.offset.unwrap_or(0),
            limit: limit as usize,
            running: self.setup.scheduler.is_running(session),
        };
        Ok(Answer::FromStore(Box::new(Query::LogRead(read))))
    }
}
