//! The request/response verbs: each connects, makes one or a few calls, and hands the daemon's result to
//! `output`, as JSON (the daemon's result object, or the wrapper `docs/cli.md` names) or as a table. Streams
//! (`watch`) and the process supervisor (`run`) have modules of their own.
//!
//! Each returns the exit code for a run that did not fail; failures are errors, mapped to codes by `main`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use serde_json::json;
use synccenter_client::methods::{
    ActivateParams, CancelResult, ControlTargetParams, CreateSessionParams, EnableParams, EndResult, EventInfo,
    HandlerInfo, HandlerRegisterParams, ItemFields, ItemInfo, ItemRegisterParams, ReportEventParams, ReportEventResult,
    ReportProgressParams, SessionInfo, SessionItemInfo, SessionParams, SessionRecordInfo, SessionsHistoryParams, names,
};
use synccenter_client::{CancelWire, Client, Push, StatusWire};
use synccenter_protocol::ControlFlagWire;

use crate::cli::RegisterArgs;
use crate::cli::{SessionCommand, SessionsArgs};
use crate::exit::Exit;
use crate::output;
use crate::progress;

/// What every command needs: where the daemon is and how to print.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    /// The daemon's socket.
    pub(crate) socket: PathBuf,
    /// `--json`.
    pub(crate) json: bool,
    /// `--host`: the fleet host that carries out control verbs (`None`: the daemon's own).
    pub(crate) host: Option<String>,
}

impl Ctx {
    /// Connects to the daemon (a `ClientError::Connect` in the chain becomes exit 69 in `main`).
    pub(crate) async fn connect(&self) -> anyhow::Result<Client> {
        Ok(Client::connect(&self.socket).await?)
    }
}

/// The exit code of a finished sync's status.
pub(crate) fn status_exit(status: StatusWire) -> u8 {
    match status {
        StatusWire::Succeeded => Exit::OK,
        StatusWire::Canceled => Exit::CANCELLED,
        _ => Exit::SYNC_FAILED,
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

fn progress_cell(i: &SessionItemInfo) -> String {
    let numbers = progress::numbers(Some((i.step, i.max_step)), i.amount.as_ref());
    progress::describe("-", i.status, numbers, None, &i.text)
}

/// `status`.
pub(crate) async fn status(ctx: &Ctx) -> anyhow::Result<u8> {
    let client = ctx.connect().await?;
    let s = client.status().await.context("cannot read the daemon's status")?;
    if ctx.json {
        output::json(&s)?;
    } else {
        let mut lines = vec![
            format!("server:         {}", s.server),
            format!("protocol:       {}", s.protocol),
            format!("pid:            {}", s.pid),
            format!("socket:         {}", s.socket),
            format!("data dir:       {}", s.data_dir),
            format!("host:           {}", s.host),
            format!("store:          {}", s.store),
            format!("started at:     {}", s.started_at),
            format!("handlers:       {}", s.handlers),
            format!("live sessions:  {}", s.live_sessions),
            format!("connections:    {}", s.connections),
            format!("reports:        {}", s.reports_applied),
        ];
        if let Some(d) = &s.degraded {
            lines.push(format!(
                "degraded:       since {}: {} ({} batch(es), {} bytes buffered locally)",
                d.since, d.reason, d.buffered_batches, d.buffered_bytes
            ));
        }
        if let Some(config) = &s.config {
            lines.push(format!("config:         {config}"));
        }
        if let Some(error) = &s.config_error {
            lines.push(format!("config error:   {}", error.replace('\n', "\n                ")));
        }
        if let Some(next) = &s.next_run {
            lines.push(format!("next run:       {next}"));
        }
        for p in &s.paused {
            let until = p.until.as_deref().map_or_else(|| "until resumed".to_owned(), |u| format!("until {u}"));
            lines.push(format!("paused:         {} {until}", p.handler));
        }
        if !s.overdue.is_empty() {
            lines.push(format!("overdue:        {}", s.overdue.join(", ")));
        }
        if !s.waiting.is_empty() {
            lines.push(format!("waiting:        {}", s.waiting.join(", ")));
        }
        if let Some(desktop) = &s.desktop {
            lines.push(format!("desktop:        {desktop}"));
        }
        output::lines(&lines)?;
    }
    Ok(Exit::OK)
}

pub(crate) fn handler_rows(handlers: &[HandlerInfo]) -> Vec<Vec<String>> {
    handlers
        .iter()
        .map(|h| {
            let state = match (h.active, h.enabled, h.syncing, h.paused) {
                (false, _, _, _) => "inactive".to_owned(),
                (true, false, _, _) => "disabled".to_owned(),
                (true, true, true, _) => "syncing".to_owned(),
                (true, true, false, true) => match &h.paused_until {
                    Some(until) => format!("paused until {until}"),
                    None => "paused".to_owned(),
                },
                (true, true, false, false) if h.waiting.is_some() => "waiting".to_owned(),
                (true, true, false, false) => "idle".to_owned(),
            };
            vec![
                h.handler.clone(),
                h.name.clone(),
                state,
                h.item_count.to_string(),
                h.error_count.to_string(),
                h.conflict_count.to_string(),
                match (&h.next_run, h.overdue) {
                    (Some(next), true) => format!("{next} (overdue)"),
                    (Some(next), false) => next.clone(),
                    (None, true) => "overdue".to_owned(),
                    (None, false) => String::new(),
                },
                h.display_text.clone(),
            ]
        })
        .collect()
}

/// `handlers`.
pub(crate) async fn handlers(ctx: &Ctx, all: bool) -> anyhow::Result<u8> {
    let client = ctx.connect().await?;
    let handlers = client.handlers(all).await.context("cannot list handlers")?;
    if ctx.json {
        output::json(&json!({ "handlers": handlers }))?;
    } else if handlers.is_empty() {
        output::line("no handlers")?;
    } else {
        let rows = handler_rows(&handlers);
        output::lines(&output::table(
            &["HANDLER", "NAME", "STATE", "ITEMS", "ERRORS", "CONFLICTS", "NEXT RUN", "TEXT"],
            &rows,
        ))?;
    }
    Ok(Exit::OK)
}

fn item_rows(items: &[ItemInfo]) -> Vec<Vec<String>> {
    items
        .iter()
        .map(|i| {
            let waiting = || i.waiting.as_ref().map_or_else(String::new, |why| format!("waiting: {why}"));
            let progress = i.progress.as_ref().map_or_else(waiting, |p| {
                let numbers = progress::numbers(p.step.zip(p.max_step), p.amount.as_ref());
                progress::describe("-", p.status, numbers, None, &p.text)
            });
            vec![
                i.item.clone(),
                i.name.clone(),
                yes_no(i.enabled),
                yes_no(i.connected),
                i.error_count.to_string(),
                i.last_sync.clone().unwrap_or_default(),
                progress,
            ]
        })
        .collect()
}

/// `items HANDLER`.
pub(crate) async fn items(ctx: &Ctx, handler: &str, all: bool) -> anyhow::Result<u8> {
    let client = ctx.connect().await?;
    let items = client.items(handler, all).await.with_context(|| format!("cannot list the items of {handler}"))?;
    if ctx.json {
        output::json(&json!({ "items": items }))?;
    } else if items.is_empty() {
        output::line(&format!("{handler} has no items"))?;
    } else {
        let rows = item_rows(&items);
        output::lines(&output::table(
            &["ITEM", "NAME", "ENABLED", "CONNECTED", "ERRORS", "LAST SYNC", "PROGRESS"],
            &rows,
        ))?;
    }
    Ok(Exit::OK)
}

fn live_rows(sessions: &[SessionInfo]) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for s in sessions {
        for (n, i) in s.items.iter().enumerate() {
            let (id, handler, started) =
                if n == 0 { (s.session.clone(), s.handler.clone(), s.started_at.clone()) } else { Default::default() };
            rows.push(vec![id, handler, started, i.item.clone(), progress_cell(i)]);
        }
    }
    rows
}

/// An event as a row under `EVENT TIME LEVEL HANDLER ITEM NAME DESCRIPTION`.
/// A results table's row; `item` is how the item reads there (its ID when `None`).
pub(crate) fn event_row(e: &EventInfo, item: Option<String>) -> Vec<String> {
    vec![
        e.event.clone(),
        e.time.clone(),
        e.level.name().to_owned(),
        e.handler.clone(),
        item.or_else(|| e.item.clone()).unwrap_or_else(|| "-".to_owned()),
        e.name.clone(),
        e.description.clone(),
    ]
}

pub(crate) fn history_rows(sessions: &[SessionRecordInfo]) -> Vec<Vec<String>> {
    sessions
        .iter()
        .map(|s| {
            let items: Vec<&str> = s.items.iter().map(|i| i.item.as_str()).collect();
            vec![
                s.session.clone(),
                s.handler.clone(),
                s.started_at.clone(),
                s.ended_at.clone().unwrap_or_else(|| "-".to_owned()),
                s.status.map_or("-", StatusWire::name).to_owned(),
                s.end_reason.clone().unwrap_or_default(),
                items.join(","),
            ]
        })
        .collect()
}

/// `sessions [--history]`.
pub(crate) async fn sessions(ctx: &Ctx, args: SessionsArgs) -> anyhow::Result<u8> {
    let client = ctx.connect().await?;
    if args.history {
        let params = SessionsHistoryParams { handler: args.handler, before: None, limit: args.limit };
        let sessions = client.history(params).await.context("cannot read the session history")?;
        if ctx.json {
            output::json(&json!({ "sessions": sessions }))?;
        } else if sessions.is_empty() {
            output::line("no sessions in the history")?;
        } else {
            output::lines(&output::table(
                &["SESSION", "HANDLER", "STARTED", "ENDED", "STATUS", "REASON", "ITEMS"],
                &history_rows(&sessions),
            ))?;
        }
    } else {
        let sessions = client.sessions().await.context("cannot list live sessions")?;
        if ctx.json {
            output::json(&json!({ "sessions": sessions }))?;
        } else if sessions.is_empty() {
            output::line("no live sessions")?;
        } else {
            output::lines(&output::table(
                &["SESSION", "HANDLER", "STARTED", "ITEM", "PROGRESS"],
                &live_rows(&sessions),
            ))?;
        }
    }
    Ok(Exit::OK)
}

fn target(ctx: &Ctx, handler: Option<String>, items: Vec<String>) -> ControlTargetParams {
    ControlTargetParams {
        host: ctx.host.clone(),
        handler,
        items: if items.is_empty() { None } else { Some(items) },
        ..ControlTargetParams::default()
    }
}

/// `start [HANDLER [ITEM…]] [--wait]`.
pub(crate) async fn start(
    ctx: &Ctx,
    handler: Option<String>,
    items: Vec<String>,
    wait: bool,
    ignore_if_syncing: bool,
) -> anyhow::Result<u8> {
    let client = ctx.connect().await?;
    // Take the push receiver before asking, so no result can be missed.
    let mut pushes = client.pushes().context("the connection's pushes are already taken")?;
    if wait && ctx.host.is_some() {
        bail!("--wait follows the results on the daemon's own host only; leave out --host or --wait");
    }
    let mut params = target(ctx, handler, items);
    if ignore_if_syncing {
        params.flags = Some(vec![ControlFlagWire::IgnoreIfAlreadySyncing]);
    }
    let started = client.start(params).await.context("cannot start the sync")?;
    if !wait {
        if ctx.json {
            output::json(&started)?;
        } else if started.requests.is_empty() {
            output::line("nothing to start")?;
        } else {
            output::line(&format!("{} sync request(s) sent", started.requests.len()))?;
        }
        return Ok(Exit::OK);
    }
    let mut waiting: Vec<String> = started.requests.clone();
    let mut results = Vec::new();
    while !waiting.is_empty() {
        let push = pushes.recv().await.context("the daemon closed the connection before the syncs finished")?;
        if let Push::SyncResult(r) = push
            && let Some(pos) = waiting.iter().position(|w| *w == r.request)
        {
            waiting.swap_remove(pos);
            if !ctx.json {
                output::line(&format!(
                    "{}: {} ({} errors, {} conflicts)",
                    r.handler,
                    r.status.name(),
                    r.errors,
                    r.conflicts
                ))?;
            }
            results.push(r);
        }
    }
    if ctx.json {
        output::json(&json!({ "requests": started.requests, "results": results }))?;
    }
    Ok(results.iter().map(|r| status_exit(r.status)).max().unwrap_or(Exit::OK))
}

/// `stop [HANDLER [ITEM…]]`.
pub(crate) async fn stop(ctx: &Ctx, handler: Option<String>, items: Vec<String>) -> anyhow::Result<u8> {
    let client = ctx.connect().await?;
    client.stop(target(ctx, handler, items)).await.context("cannot stop the sync")?;
    if ctx.json {
        output::json(&json!({}))?;
    } else {
        output::line("stop requested")?;
    }
    Ok(Exit::OK)
}

/// `enable`/`disable HANDLER [ITEM]`.
pub(crate) async fn enable(ctx: &Ctx, handler: String, item: Option<String>, enable: bool) -> anyhow::Result<u8> {
    let client = ctx.connect().await?;
    let what = item.as_ref().map_or_else(|| handler.clone(), |i| format!("{handler}/{i}"));
    let verb = if enable { "enable" } else { "disable" };
    client
        .enable(EnableParams {
            host: ctx.host.clone(),
            handler,
            item,
            enable,
            flags: Some(vec![ControlFlagWire::NoUi]),
        })
        .await
        .with_context(|| format!("cannot {verb} {what}"))?;
    if ctx.json {
        output::json(&json!({}))?;
    } else {
        output::line(&format!("{what} {verb}d"))?;
    }
    Ok(Exit::OK)
}

/// `activate`/`deactivate HANDLER`.
pub(crate) async fn activate(ctx: &Ctx, handler: String, activate: bool) -> anyhow::Result<u8> {
    let client = ctx.connect().await?;
    let verb = if activate { "activate" } else { "deactivate" };
    client
        .activate(ActivateParams {
            host: ctx.host.clone(),
            handler: handler.clone(),
            activate,
            flags: Some(vec![ControlFlagWire::NoUi]),
        })
        .await
        .with_context(|| format!("cannot {verb} {handler}"))?;
    if ctx.json {
        output::json(&json!({}))?;
    } else {
        output::line(&format!("{handler} {verb}d"))?;
    }
    Ok(Exit::OK)
}

/// `dashboard [--open]`: the dashboard's login link. The token travels once in the link; `/login` turns it into
/// an HttpOnly cookie and redirects to the page.
pub(crate) async fn dashboard(ctx: &Ctx, open: bool) -> anyhow::Result<u8> {
    let client = ctx.connect().await?;
    let status = client.status().await.context("cannot read the daemon's status")?;
    let addr = status.http.context("the daemon runs without a dashboard (see `synccenter daemon --http`)")?;
    let token_file = std::path::Path::new(&status.data_dir).join(synccenter_http::TOKEN_FILE);
    let token = std::fs::read_to_string(&token_file)
        .with_context(|| format!("cannot read the dashboard token {}", token_file.display()))?;
    let url = format!("http://{addr}/login?token={}", token.trim());
    if ctx.json {
        output::json(&json!({ "url": url, "address": addr }))?;
    } else {
        output::line(&url)?;
    }
    if open {
        synccenter_platform::process::browser(&url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .context("cannot start the browser; open the link above by hand")?;
    }
    Ok(Exit::OK)
}

/// `reload`: re-read the daemon's configuration file.
pub(crate) async fn reload(ctx: &Ctx) -> anyhow::Result<u8> {
    let client = ctx.connect().await?;
    let r: synccenter_client::methods::ReloadResult = client
        .call(synccenter_client::methods::names::CONTROL_RELOAD, &synccenter_client::methods::Empty {})
        .await
        .context("cannot reload the configuration")?;
    if ctx.json {
        output::json(&r)?;
    } else {
        output::line(&format!("configuration reloaded: {} command handler(s)", r.handlers))?;
    }
    Ok(Exit::OK)
}

/// `pause HANDLER|--all [--until TIME]`.
pub(crate) async fn pause(ctx: &Ctx, handler: Option<String>, until: Option<String>) -> anyhow::Result<u8> {
    let client = ctx.connect().await?;
    let what = handler.clone().unwrap_or_else(|| "every handler".to_owned());
    client
        .pause(synccenter_client::methods::PauseParams { host: ctx.host.clone(), handler, until: until.clone() })
        .await
        .with_context(|| format!("cannot pause {what}"))?;
    if ctx.json {
        output::json(&json!({}))?;
    } else {
        let end = until.map_or_else(|| " until resumed".to_owned(), |u| format!(" until {u}"));
        output::line(&format!("{what} paused{end}"))?;
    }
    Ok(Exit::OK)
}

/// `resume HANDLER|--all`.
pub(crate) async fn resume(ctx: &Ctx, handler: Option<String>) -> anyhow::Result<u8> {
    let client = ctx.connect().await?;
    let what = handler.clone().unwrap_or_else(|| "every paused handler".to_owned());
    client
        .resume(synccenter_client::methods::ResumeParams { host: ctx.host.clone(), handler })
        .await
        .with_context(|| format!("cannot resume {what}"))?;
    if ctx.json {
        output::json(&json!({}))?;
    } else {
        output::line(&format!("{what} resumed"))?;
    }
    Ok(Exit::OK)
}

/// `session …`: one step of a session that spans several invocations.
pub(crate) async fn session(ctx: &Ctx, cmd: SessionCommand) -> anyhow::Result<u8> {
    let client = ctx.connect().await?;
    match cmd {
        SessionCommand::Create { handler, items, lease } => {
            let session = client
                .create_session_with(CreateSessionParams {
                    handler: handler.clone(),
                    items,
                    detach: true,
                    lease_seconds: lease,
                    announce: false,
                })
                .await
                .with_context(|| format!("cannot create a session of {handler}"))?;
            // Detached: this connection closing must not end it.
            let id = session.into_id();
            if ctx.json {
                output::json(&json!({ "session": id }))?;
            } else {
                output::line(&id)?;
            }
            Ok(Exit::OK)
        }
        SessionCommand::Progress { session, item, status, text, step, max, unit, done, total } => {
            let params = ReportProgressParams {
                session,
                item: item.clone(),
                status: status.into(),
                text,
                step,
                max_step: max,
                unit: unit.map(Into::into),
                done,
                total,
            };
            let r: CancelResult = client
                .call(names::SESSION_REPORT_PROGRESS, &params)
                .await
                .with_context(|| format!("cannot report the progress of {item}"))?;
            if ctx.json {
                output::json(&r)?;
            } else {
                output::line(r.cancel.name())?;
            }
            Ok(if r.cancel == CancelWire::None { Exit::OK } else { Exit::CANCELLED })
        }
        SessionCommand::Event { session, level, name, description, item, link_text, link_reference, context } => {
            let params = ReportEventParams {
                session,
                item,
                level: Some(level.into()),
                flags: None,
                name: Some(name),
                description: Some(description),
                link_text,
                link_reference,
                context,
            };
            let r: ReportEventResult =
                client.call(names::SESSION_REPORT_EVENT, &params).await.context("cannot report the event")?;
            if ctx.json {
                output::json(&r)?;
            } else {
                output::line(&r.event)?;
            }
            Ok(Exit::OK)
        }
        SessionCommand::End { session } => {
            let r: EndResult = client
                .call(names::SESSION_END, &SessionParams { session: session.clone() })
                .await
                .with_context(|| format!("cannot end the session {session}"))?;
            if ctx.json {
                output::json(&r)?;
            } else {
                output::line(&format!("{} ({} errors, {} conflicts)", r.status.name(), r.errors, r.conflicts))?;
            }
            Ok(Exit::OK)
        }
    }
}

/// `register HANDLER [--name N] [--item ID[=NAME]]…`.
pub(crate) async fn register(ctx: &Ctx, args: RegisterArgs) -> anyhow::Result<u8> {
    let client = ctx.connect().await?;
    let handler = client
        .register_handler(HandlerRegisterParams {
            handler: args.handler.clone(),
            name: args.name,
            comment: args.comment,
            capabilities: if args.capability.is_empty() { None } else { Some(args.capability) },
            ..HandlerRegisterParams::default()
        })
        .await
        .with_context(|| format!("cannot register the handler {}", args.handler))?;
    let mut items = Vec::new();
    for spec in args.items {
        let (id, name) = match spec.split_once('=') {
            Some((id, name)) => (id.to_owned(), name.to_owned()),
            None => (spec.clone(), spec.clone()),
        };
        let item = client
            .register_item(ItemRegisterParams {
                handler: args.handler.clone(),
                item: id.clone(),
                fields: ItemFields { name: Some(name), ..ItemFields::default() },
            })
            .await
            .with_context(|| format!("cannot register the item {id}"))?;
        items.push(item);
    }
    if ctx.json {
        output::json(&json!({ "handler": handler, "items": items }))?;
    } else {
        let mut l = vec![format!("registered {} ({})", handler.handler, handler.name)];
        l.extend(items.iter().map(|i| format!("registered {}/{} ({})", handler.handler, i.item, i.name)));
        output::lines(&l)?;
    }
    Ok(Exit::OK)
}
