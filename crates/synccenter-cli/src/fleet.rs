//! The fleet views: `status|handlers|sessions|results|conflicts --all-hosts` (or `--host NAME` for one host),
//! through the `fleet.*` methods. A daemon on its embedded store answers as a fleet of one, so these work
//! everywhere. Tables lead with the host; JSON is the daemon's result, each record carrying its `host`.

use anyhow::Context;
use synccenter_client::fleet::{
    FLEET_CONFLICTS, FLEET_EVENTS, FLEET_HANDLERS, FLEET_HOSTS, FLEET_SESSIONS, FleetConflictsParams,
    FleetConflictsResult, FleetEventsParams, FleetEventsResult, FleetHandlersParams, FleetHandlersResult,
    FleetHostsResult, FleetSessionsParams, FleetSessionsResult,
};
use synccenter_client::methods::Empty;

use crate::cli::{ConflictsArgs, ResultsArgs, SessionsArgs};
use crate::exit::Exit;
use crate::output;
use crate::results::filter_params;
use crate::verbs::{Ctx, event_row, handler_rows, history_rows};

fn with_host(host: &str, mut row: Vec<String>) -> Vec<String> {
    row.insert(0, host.to_owned());
    row
}

/// `status --all-hosts`: every host and its liveness.
pub(crate) async fn status(ctx: &Ctx) -> anyhow::Result<u8> {
    let client = ctx.connect().await?;
    let mut r: FleetHostsResult = client.call(FLEET_HOSTS, &Empty {}).await.context("cannot list the fleet's hosts")?;
    if let Some(only) = &ctx.host {
        r.hosts.retain(|h| &h.host == only);
    }
    if ctx.json {
        output::json(&r)?;
        return Ok(Exit::OK);
    }
    let rows: Vec<Vec<String>> = r
        .hosts
        .iter()
        .map(|h| {
            let state = match (h.up, &h.down_since) {
                (true, _) => "up".to_owned(),
                (false, Some(since)) => format!("down since {since}"),
                (false, None) => "silent".to_owned(),
            };
            vec![
                format!("{}{}", h.host, if h.this_host { " (this host)" } else { "" }),
                state,
                h.seen_at.clone(),
                h.handlers.to_string(),
                h.live_sessions.to_string(),
                h.version.clone(),
            ]
        })
        .collect();
    let mut lines = output::table(&["HOST", "STATE", "LAST SEEN", "HANDLERS", "LIVE SESSIONS", "VERSION"], &rows);
    if !r.shared {
        lines.push(
            "(embedded store: a fleet of one; point several daemons at one postgres:// database to share)".into(),
        );
    }
    output::lines(&lines)?;
    Ok(Exit::OK)
}

/// `handlers --all-hosts`.
pub(crate) async fn handlers(ctx: &Ctx, include_hidden: bool) -> anyhow::Result<u8> {
    let client = ctx.connect().await?;
    let params = FleetHandlersParams { host: ctx.host.clone(), include_hidden };
    let r: FleetHandlersResult =
        client.call(FLEET_HANDLERS, &params).await.context("cannot list the fleet's handlers")?;
    if ctx.json {
        output::json(&r)?;
    } else if r.handlers.is_empty() {
        output::line("no handlers")?;
    } else {
        let rows = r
            .handlers
            .iter()
            .map(|h| with_host(&h.host, handler_rows(std::slice::from_ref(&h.handler)).remove(0)))
            .collect::<Vec<_>>();
        output::lines(&output::table(
            &["HOST", "HANDLER", "NAME", "STATE", "ITEMS", "ERRORS", "CONFLICTS", "NEXT RUN", "TEXT"],
            &rows,
        ))?;
    }
    Ok(Exit::OK)
}

/// `sessions --all-hosts [--history]`: live sessions, or the history with `--history`.
pub(crate) async fn sessions(ctx: &Ctx, args: SessionsArgs) -> anyhow::Result<u8> {
    let client = ctx.connect().await?;
    let params = FleetSessionsParams {
        host: ctx.host.clone(),
        live: !args.history,
        handler: args.handler,
        before: None,
        limit: args.limit,
    };
    let r: FleetSessionsResult =
        client.call(FLEET_SESSIONS, &params).await.context("cannot list the fleet's sessions")?;
    if ctx.json {
        output::json(&r)?;
    } else if r.sessions.is_empty() {
        output::line(if args.history { "no sessions in the history" } else { "no live sessions" })?;
    } else {
        let rows = r
            .sessions
            .iter()
            .map(|s| with_host(&s.host, history_rows(std::slice::from_ref(&s.session)).remove(0)))
            .collect::<Vec<_>>();
        output::lines(&output::table(
            &["HOST", "SESSION", "HANDLER", "STARTED", "ENDED", "STATUS", "REASON", "ITEMS"],
            &rows,
        ))?;
    }
    Ok(Exit::OK)
}

/// `results --all-hosts`.
pub(crate) async fn results(ctx: &Ctx, args: ResultsArgs) -> anyhow::Result<u8> {
    let client = ctx.connect().await?;
    let params = FleetEventsParams { host: ctx.host.clone(), filter: filter_params(args.filter, args.limit) };
    let r: FleetEventsResult = client.call(FLEET_EVENTS, &params).await.context("cannot list the fleet's results")?;
    if ctx.json {
        output::json(&r)?;
    } else if r.events.is_empty() {
        output::line("no sync results")?;
    } else {
        let rows: Vec<Vec<String>> =
            r.events.iter().map(|f| [vec![f.host.clone()], event_row(&f.event, None)].concat()).collect();
        output::lines(&output::table(
            &["HOST", "EVENT", "TIME", "LEVEL", "HANDLER", "ITEM", "NAME", "DESCRIPTION"],
            &rows,
        ))?;
    }
    Ok(Exit::OK)
}

/// `conflicts --all-hosts`.
pub(crate) async fn conflicts(ctx: &Ctx, args: ConflictsArgs) -> anyhow::Result<u8> {
    let client = ctx.connect().await?;
    let params = FleetConflictsParams { host: ctx.host.clone() };
    let mut r: FleetConflictsResult =
        client.call(FLEET_CONFLICTS, &params).await.context("cannot list the fleet's conflicts")?;
    r.conflicts.retain(|c| {
        args.handler.as_ref().is_none_or(|h| &c.conflict.handler == h)
            && args.item.as_ref().is_none_or(|i| c.conflict.item.as_ref() == Some(i))
    });
    if ctx.json {
        output::json(&r)?;
    } else if r.conflicts.is_empty() {
        output::line("no conflicts")?;
    } else {
        let rows: Vec<Vec<String>> = r
            .conflicts
            .iter()
            .map(|f| {
                let c = &f.conflict;
                vec![
                    f.host.clone(),
                    c.conflict.clone(),
                    c.handler.clone(),
                    c.item.clone().unwrap_or_else(|| "-".to_owned()),
                    c.name.clone(),
                    if c.resolution.is_some() { "resolution chosen" } else { "unresolved" }.to_owned(),
                ]
            })
            .collect();
        output::lines(&output::table(&["HOST", "CONFLICT", "HANDLER", "ITEM", "NAME", "STATE"], &rows))?;
    }
    Ok(Exit::OK)
}
