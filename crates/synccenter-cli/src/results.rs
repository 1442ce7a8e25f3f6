//! `results` and `conflicts`: the Sync Results a person reads later (events and conflicts), listed, shown,
//! removed and resolved, as tables or as the daemon's JSON.

use std::collections::HashMap;

use anyhow::{Context, bail};
use serde_json::json;
use synccenter_client::Client;
use synccenter_client::methods::{
    ChoiceWire, ConflictInfo, ConflictsListParams, EventInfo, EventsFilterParams, KeptWire, ResolveParams,
};

use crate::cli::{ConflictsArgs, ConflictsCommand, EventFilterArgs, ResultsArgs, ResultsCommand};
use crate::exit::Exit;
use crate::output;
use crate::verbs::{Ctx, event_row};

pub(crate) fn filter_params(f: EventFilterArgs, limit: Option<u32>) -> EventsFilterParams {
    EventsFilterParams {
        handler: f.handler,
        item: f.item,
        levels: if f.level.is_empty() { None } else { Some(f.level.into_iter().map(Into::into).collect()) },
        session: f.session,
        since: f.since,
        until: f.until,
        limit,
        ..EventsFilterParams::default()
    }
}

/// The names people gave the items of the handlers in `events`, by handler and item ID; a handler that is
/// gone (or unreadable) has none, and its items show by ID.
#[derive(Debug, Default)]
struct ItemNames(HashMap<(String, String), String>);

impl ItemNames {
    async fn of(client: &Client, events: &[EventInfo]) -> ItemNames {
        let mut handlers: Vec<&str> = events.iter().filter(|e| e.item.is_some()).map(|e| e.handler.as_str()).collect();
        handlers.sort_unstable();
        handlers.dedup();
        let mut names = HashMap::new();
        for h in handlers {
            for i in client.items(h, true).await.unwrap_or_default() {
                names.insert((h.to_owned(), i.item), i.name);
            }
        }
        ItemNames(names)
    }

    /// `Name (id)`, or the ID alone where the name is the ID or unknown.
    fn label(&self, handler: &str, item: &str) -> String {
        match self.0.get(&(handler.to_owned(), item.to_owned())) {
            Some(name) if name != item => format!("{name} ({item})"),
            _ => item.to_owned(),
        }
    }
}

fn event_lines(e: &EventInfo, names: &ItemNames) -> Vec<String> {
    let mut l = vec![
        format!("event:        {}", e.event),
        format!("time:         {}", e.time),
        format!("level:        {}", e.level.name()),
        format!("handler:      {}", e.handler),
    ];
    if let Some(i) = &e.item {
        l.push(format!("item:         {}", names.label(&e.handler, i)));
    }
    if let Some(s) = &e.session {
        l.push(format!("session:      {s}"));
    }
    l.push(format!("name:         {}", e.name));
    l.push(format!("description:  {}", e.description));
    if let Some(t) = &e.link_text {
        l.push(format!("link text:    {t}"));
    }
    if let Some(r) = &e.link_reference {
        l.push(format!("link:         {r}"));
    }
    if let Some(c) = &e.context {
        l.push(format!("context:      {c}"));
    }
    l
}

/// `results …`.
pub(crate) async fn results(ctx: &Ctx, args: ResultsArgs) -> anyhow::Result<u8> {
    let client = ctx.connect().await?;
    match args.command {
        None => {
            let r = client.events(filter_params(args.filter, args.limit)).await.context("cannot list sync results")?;
            if ctx.json {
                output::json(&r)?;
            } else if r.events.is_empty() {
                output::line("no sync results")?;
            } else {
                let names = ItemNames::of(&client, &r.events).await;
                let rows: Vec<Vec<String>> = r
                    .events
                    .iter()
                    .map(|e| event_row(e, e.item.as_ref().map(|i| names.label(&e.handler, i))))
                    .collect();
                let mut lines =
                    output::table(&["EVENT", "TIME", "LEVEL", "HANDLER", "ITEM", "NAME", "DESCRIPTION"], &rows);
                if r.total > r.events.len() as u64 {
                    lines.push(format!("({} of {} shown)", r.events.len(), r.total));
                }
                output::lines(&lines)?;
            }
        }
        Some(ResultsCommand::Show { id }) => {
            let e = client.event(&id).await.with_context(|| format!("cannot show the sync result {id}"))?;
            if ctx.json {
                output::json(&e)?;
            } else {
                let names = ItemNames::of(&client, std::slice::from_ref(&e)).await;
                output::lines(&event_lines(&e, &names))?;
            }
        }
        Some(ResultsCommand::Rm { ids }) => {
            let removed = client.remove_events(ids).await.context("cannot remove the sync results")?;
            if ctx.json {
                output::json(&json!({ "removed": removed }))?;
            } else {
                output::line(&format!("{removed} removed"))?;
            }
        }
        Some(ResultsCommand::Clear { filter }) => {
            let removed =
                client.clear_events(filter_params(filter, None)).await.context("cannot clear the sync results")?;
            if ctx.json {
                output::json(&json!({ "removed": removed }))?;
            } else {
                output::line(&format!("{removed} removed"))?;
            }
        }
    }
    Ok(Exit::OK)
}

fn choice_name(c: &ChoiceWire) -> String {
    match c {
        ChoiceWire::Keep(k) => {
            let idx: Vec<String> = k.iter().map(|k| k.index.to_string()).collect();
            format!("keep {}", idx.join(","))
        }
        ChoiceWire::KeepRecent => "keep recent".to_owned(),
        ChoiceWire::KeepOther(p) => format!("keep other {p}"),
        ChoiceWire::RemoveFromSyncSet => "remove from sync set".to_owned(),
    }
}

fn conflict_lines(c: &ConflictInfo) -> Vec<String> {
    let mut l = vec![
        format!("conflict:     {}", c.conflict),
        format!("handler:      {}", c.handler),
        format!("item:         {}", c.item.as_deref().unwrap_or("-")),
        format!("name:         {}", c.name),
        format!("description:  {}", c.description),
        format!("detected at:  {}", c.detected_at),
        format!("abilities:    {}", c.abilities.join(", ")),
    ];
    if let Some(r) = &c.resolution {
        l.push(format!("resolution:   {} (requested {})", choice_name(&r.choice), r.requested_at));
    }
    l.push("versions:".to_owned());
    let rows: Vec<Vec<String>> = c
        .versions
        .iter()
        .enumerate()
        .map(|(i, v)| {
            vec![
                i.to_string(),
                v.location_short.clone(),
                v.location_full.clone(),
                v.types.join(","),
                v.modified.clone().unwrap_or_default(),
                v.size.map(|s| s.to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    l.extend(
        output::table(&["INDEX", "LOCATION", "FULL LOCATION", "TYPES", "MODIFIED", "SIZE"], &rows)
            .into_iter()
            .map(|r| format!("  {r}")),
    );
    l
}

/// `conflicts …`.
pub(crate) async fn conflicts(ctx: &Ctx, args: ConflictsArgs) -> anyhow::Result<u8> {
    let client = ctx.connect().await?;
    match args.command {
        None => {
            let list = client
                .conflicts(ConflictsListParams { handler: args.handler, item: args.item })
                .await
                .context("cannot list conflicts")?;
            if ctx.json {
                output::json(&json!({ "conflicts": list }))?;
            } else if list.is_empty() {
                output::line("no conflicts")?;
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|c| {
                        vec![
                            c.conflict.clone(),
                            c.handler.clone(),
                            c.item.clone().unwrap_or_else(|| "-".to_owned()),
                            c.name.clone(),
                            c.resolution.as_ref().map_or_else(|| "-".to_owned(), |r| choice_name(&r.choice)),
                            c.description.clone(),
                        ]
                    })
                    .collect();
                output::lines(&output::table(
                    &["CONFLICT", "HANDLER", "ITEM", "NAME", "RESOLUTION", "DESCRIPTION"],
                    &rows,
                ))?;
            }
        }
        Some(ConflictsCommand::Show { id }) => {
            let c = client.conflict(&id).await.with_context(|| format!("cannot show the conflict {id}"))?;
            if ctx.json {
                output::json(&c)?;
            } else {
                output::lines(&conflict_lines(&c))?;
            }
        }
        Some(ConflictsCommand::Resolve { id, keep, keep_recent, keep_other, remove_from_sync_set, apply_to_all }) => {
            let choice = if !keep.is_empty() {
                ChoiceWire::Keep(keep.into_iter().map(|index| KeptWire { index, new_name: None }).collect())
            } else if keep_recent {
                ChoiceWire::KeepRecent
            } else if let Some(p) = keep_other {
                ChoiceWire::KeepOther(p)
            } else if remove_from_sync_set {
                ChoiceWire::RemoveFromSyncSet
            } else {
                bail!("choose a resolution: --keep, --keep-recent, --keep-other or --remove-from-sync-set");
            };
            let r = client
                .resolve(ResolveParams { host: ctx.host.clone(), conflict: id.clone(), choice, apply_to_all })
                .await
                .with_context(|| format!("cannot resolve the conflict {id}"))?;
            if ctx.json {
                output::json(&r)?;
            } else {
                let mut l = vec![format!("resolution recorded for {} conflict(s)", r.recorded.len())];
                if !r.needs_attention.is_empty() {
                    l.push(format!("not allowed for (resolve separately): {}", r.needs_attention.join(", ")));
                }
                output::lines(&l)?;
            }
        }
    }
    Ok(Exit::OK)
}
