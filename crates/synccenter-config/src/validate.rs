//! From text to a validated [`Config`], collecting every error with its line and field.
//!
//! The text is parsed once into a spanned document tree. Each `[daemon]`, `[[handler]]` and `[[handler.item]]`
//! table is then deserialized on its own, so a broken table does not hide the errors of the others (serde stops
//! at the first error within one table). Finally every value is checked. This module does no I/O: the path is
//! only used in messages and to resolve relative paths.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use synccenter_core::{
    EventRetention, HandlerCapabilities, HandlerId, HandlerPolicies, HandlerType, IdError, IdProblem, ItemCapabilities,
    ItemId, ItemPolicies, MAX_ID_UNITS, MAX_NAME_UNITS, ValueError, utf16_len,
};
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use crate::duration::parse_duration;
use crate::error::{ConfigError, ConfigErrors, Locator};
use crate::model::{
    Config, DaemonConfig, HandlerConfig, ItemConfig, ItemRef, LogsConfig, MIN_LOG_PER_RUN, Notify, Order, RunConditions,
};
use crate::order::{self, PendingAfter};
use crate::raw::{RawDaemon, RawDesktop, RawHandler, RawItem, RawLogs, RawRetry, RawSchedule};
use crate::schedule::{CronSchedule, Schedule, Trigger};
use synccenter_runs::backoff::RetryPolicy;
use synccenter_runs::progress::Kind;

mod conditions;

/// What an item inherits from its handler: schedule, retry policy, freshness and run conditions.
type Inherited<'a> = (&'a Option<Schedule>, RetryPolicy, Option<Duration>, &'a RunConditions);

/// Parses and validates `src`, read from `path`.
pub(crate) fn parse_str(src: &str, path: &Path) -> Result<Config, ConfigErrors> {
    let base = path.parent().unwrap_or(Path::new(""));
    let mut cx = Cx { loc: Locator { path, src }, base, errors: Vec::new(), after: Vec::new() };
    let (root, syntax) = DeTable::parse_recoverable(src);
    if !syntax.is_empty() {
        for e in syntax {
            // Name the key the recovered tree places at the error, if any.
            let field = e.span().map(|s| path_at(&root, "", s.start)).filter(|f| !f.is_empty());
            let field = field.unwrap_or_else(|| "(syntax)".to_owned());
            cx.errors.push(cx.loc.error(e.span(), field, e.message().trim_end()));
        }
        return Err(cx.finish());
    }
    let root = root.into_inner();
    let mut config = Config::default();
    for (key, value) in root.iter() {
        match key.get_ref().as_ref() {
            "daemon" => {
                if let Some(raw) = cx.deserialize::<RawDaemon>(value, "daemon") {
                    config.daemon = cx.daemon(raw);
                }
            }
            "handler" => config.handlers = cx.handlers(value),
            "desktop" => {
                if let Some(raw) = cx.deserialize::<RawDesktop>(value, "desktop") {
                    config.desktop.enable = raw.enable.unwrap_or(true);
                }
            }
            "logs" => {
                if let Some(raw) = cx.deserialize::<RawLogs>(value, "logs") {
                    config.logs = cx.logs(&raw);
                }
            }
            "retention" => {
                if let Some(raw) = cx.deserialize::<crate::retention::RawRetention>(value, "retention") {
                    config.retention = crate::retention::validate(&raw, &cx.loc, &mut cx.errors);
                }
            }
            other => cx.push(
                Some(key.span()),
                other,
                format!("unknown field `{other}`, expected `daemon`, `desktop`, `handler`, `logs` or `retention`"),
            ),
        }
    }
    for (span, field, reason) in order::resolve(&mut config.handlers, std::mem::take(&mut cx.after)) {
        cx.push(Some(span), field, reason);
    }
    if cx.errors.is_empty() { Ok(config) } else { Err(cx.finish()) }
}

struct Cx<'a> {
    loc: Locator<'a>,
    base: &'a Path,
    errors: Vec<ConfigError>,
    /// `after` lists, resolved once every handler is known (`order.rs`).
    after: Vec<PendingAfter>,
}

impl Cx<'_> {
    fn finish(mut self) -> ConfigErrors {
        self.errors.sort_by_key(|e| (e.line, e.column));
        ConfigErrors(self.errors)
    }

    fn push(&mut self, span: Option<Range<usize>>, field: impl Into<String>, reason: impl Into<String>) {
        let e = self.loc.error(span, field, reason);
        self.errors.push(e);
    }

    fn at<T>(&mut self, value: &Spanned<T>, field: &str, reason: impl Into<String>) {
        self.push(Some(value.span()), field, reason);
    }

    /// Deserializes one table; on failure records the error with the innermost field it points at.
    fn deserialize<T: for<'de> Deserialize<'de>>(&mut self, value: &Spanned<DeValue<'_>>, prefix: &str) -> Option<T> {
        match T::deserialize(ValueDeserializer::from(value.clone())) {
            Ok(t) => Some(t),
            Err(e) => {
                let message = e.message().trim_end().to_owned();
                let span = e.span().or_else(|| Some(value.span()));
                let field = match missing_field(&message) {
                    Some(name) => join(prefix, name),
                    None => span.as_ref().map_or_else(|| prefix.to_owned(), |s| path_at(value, prefix, s.start)),
                };
                self.push(span, field, message);
                None
            }
        }
    }

    fn daemon(&mut self, raw: RawDaemon) -> DaemonConfig {
        let mut d = DaemonConfig::default();
        if let Some(http) = &raw.http {
            match http.get_ref().parse::<SocketAddr>() {
                Ok(addr) => d.http = addr,
                Err(_) => self.at(
                    http,
                    "daemon.http",
                    format!("{:?} is not an address; write IP:PORT, such as \"127.0.0.1:7420\"", http.get_ref()),
                ),
            }
        }
        if let Some(g) = &raw.grace_period
            && let Some(g) = self.duration(g, "daemon.grace_period", true)
        {
            d.grace_period = g;
        }
        if let Some(host) = &raw.host
            && self.text(host, "daemon.host", MAX_NAME_UNITS, true)
        {
            d.host = Some(host.get_ref().clone());
        }
        d
    }

    fn logs(&mut self, raw: &RawLogs) -> LogsConfig {
        let max_per_run = raw.max_per_run.as_ref().and_then(|s| self.size(s, "logs.max_per_run"));
        let max_total = raw.max_total.as_ref().and_then(|s| self.size(s, "logs.max_total"));
        if let (Some(run), Some(raw_run)) = (max_per_run, &raw.max_per_run)
            && run < MIN_LOG_PER_RUN
        {
            self.at(raw_run, "logs.max_per_run", "must be at least 128 KiB (a whole 64 KiB line and its notes)");
        }
        let smallest_total = max_per_run.unwrap_or(MIN_LOG_PER_RUN);
        if let (Some(total), Some(raw_total)) = (max_total, &raw.max_total)
            && total < smallest_total
        {
            self.at(raw_total, "logs.max_total", "must be at least max_per_run: the total holds one whole run's log");
        }
        let max_age = raw.max_age.as_ref().and_then(|a| self.duration(a, "logs.max_age", true));
        let max_runs = raw.max_runs.as_ref().and_then(|n| match u32::try_from(*n.get_ref()) {
            Ok(n) if n > 0 => Some(n),
            _ => {
                self.at(n, "logs.max_runs", "must be a whole number from 1 to 4294967295");
                None
            }
        });
        LogsConfig { max_per_run, max_total, max_age, max_runs }
    }

    /// A size such as `"512 MiB"` (`KiB`, `MiB`, `GiB` are powers of 1024; `kB`, `MB`, `GB` of 1000; a bare
    /// number is bytes).
    fn size(&mut self, raw: &Spanned<String>, field: &str) -> Option<u64> {
        match parse_size::parse_size(raw.get_ref()) {
            Ok(n) => Some(n),
            Err(e) => {
                let reason = format!("{:?} is not a size ({e}); write it such as \"512 MiB\"", raw.get_ref());
                self.at(raw, field, reason);
                None
            }
        }
    }

    fn handlers(&mut self, value: &Spanned<DeValue<'_>>) -> Vec<HandlerConfig> {
        let Some(array) = value.get_ref().as_array() else {
            self.at(value, "handler", "must be an array of tables: write each handler as [[handler]]");
            return Vec::new();
        };
        let mut seen: HashSet<String> = HashSet::new();
        let mut out = Vec::new();
        for (i, element) in array.iter().enumerate() {
            let prefix = format!("handler[{i}]");
            let Some(table) = element.get_ref().as_table() else {
                self.at(element, &prefix, "must be a table: write each handler as [[handler]]");
                continue;
            };
            let mut table = table.clone();
            let items = table.remove("item");
            let without_items = Spanned::new(element.span(), DeValue::Table(table));
            let raw = self.deserialize::<RawHandler>(&without_items, &prefix);
            let items = items.map(|items| self.items(&items, &prefix)).unwrap_or_default();
            let Some(raw) = raw else { continue };
            if let Some(h) = self.handler(raw, &prefix, element.span().start, items, &mut seen) {
                out.push(h);
            }
        }
        out
    }

    fn handler(
        &mut self,
        raw: RawHandler,
        prefix: &str,
        start: usize,
        items: Vec<(RawItem, usize, String)>,
        seen: &mut HashSet<String>,
    ) -> Option<HandlerConfig> {
        let id = self.id(&raw.id, &format!("{prefix}.id"), |s| HandlerId::new(s));
        if let Some(id) = &id
            && !seen.insert(id.folded())
        {
            self.at(
                &raw.id,
                &format!("{prefix}.id"),
                format!("duplicate handler ID {:?} (IDs are compared ignoring ASCII case)", id.as_str()),
            );
        }
        let name_ok = self.text(&raw.name, &format!("{prefix}.name"), MAX_NAME_UNITS, true);
        let handler_type = match &raw.handler_type {
            None => HandlerType::Unspecified,
            Some(t) => HandlerType::from_name(t.get_ref()).unwrap_or_else(|| {
                let known: Vec<&str> = HandlerType::ALL.iter().map(|t| t.name()).collect();
                self.at(t, &format!("{prefix}.type"), unknown("handler type", t.get_ref(), &known));
                HandlerType::Unspecified
            }),
        };
        if let Some(c) = &raw.comment {
            self.text(c, &format!("{prefix}.comment"), MAX_NAME_UNITS, false);
        }
        let capabilities = self.flags::<HandlerCapabilities>(&raw.capabilities, &format!("{prefix}.capabilities"));
        let policies = self.flags::<HandlerPolicies>(&raw.policies, &format!("{prefix}.policies"));
        let retention = match &raw.retention {
            None => EventRetention::Keep,
            Some(r) => match EventRetention::from_name(r.get_ref()) {
                Some(retention) => retention,
                None => {
                    let names = EventRetention::ALL.map(EventRetention::name);
                    self.at(r, &format!("{prefix}.retention"), unknown("retention", r.get_ref(), &names));
                    EventRetention::Keep
                }
            },
        };
        let schedule = raw.schedule.as_ref().and_then(|s| self.schedule(s, &format!("{prefix}.schedule")));
        let retry = self.retry(RetryPolicy::default(), raw.retry.as_ref(), &format!("{prefix}.retry"));
        let freshness = raw.freshness.as_ref().and_then(|f| self.duration(f, &format!("{prefix}.freshness"), true));
        let notify = self.notify(raw.notify.as_ref(), &format!("{prefix}.notify"));
        let conditions = self.conditions(raw.conditions(), &RunConditions::default(), prefix);

        let exclusive = raw.exclusive.as_ref().and_then(|e| self.group(e, &format!("{prefix}.exclusive")));
        let mut item_ids: HashSet<String> = HashSet::new();
        let mut out_items = Vec::new();
        for (mut item, item_start, item_prefix) in items {
            let after = self.after(&mut item, &item_prefix);
            if let Some(mut item) =
                self.item(item, &item_prefix, item_start, (&schedule, retry, freshness, &conditions), &mut item_ids)
            {
                self.place(&mut item, id.as_ref(), after, &exclusive);
                out_items.push(item);
            }
        }
        Some(HandlerConfig {
            id: id?,
            name: name_ok.then(|| raw.name.into_inner())?,
            handler_type,
            comment: raw.comment.map(Spanned::into_inner).unwrap_or_default(),
            capabilities: capabilities?,
            policies: policies?,
            retention,
            schedule,
            retry,
            freshness,
            notify,
            inhibit_sleep: raw.inhibit_sleep.unwrap_or(true),
            conditions,
            exclusive,
            items: out_items,
            line: self.loc.line_col(start).0,
        })
    }

    /// Deserializes the `item` array of one handler; returns each item with its start offset and field prefix.
    fn items(&mut self, value: &Spanned<DeValue<'_>>, handler: &str) -> Vec<(RawItem, usize, String)> {
        let field = format!("{handler}.item");
        let Some(array) = value.get_ref().as_array() else {
            self.at(value, &field, "must be an array of tables: write each item as [[handler.item]]");
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, element) in array.iter().enumerate() {
            let prefix = format!("{field}[{i}]");
            if !element.get_ref().is_table() {
                self.at(element, &prefix, "must be a table: write each item as [[handler.item]]");
                continue;
            }
            if let Some(raw) = self.deserialize::<RawItem>(element, &prefix) {
                out.push((raw, element.span().start, prefix));
            }
        }
        out
    }

    fn item(
        &mut self,
        raw: RawItem,
        prefix: &str,
        start: usize,
        inherited: Inherited<'_>,
        seen: &mut HashSet<String>,
    ) -> Option<ItemConfig> {
        let (handler_schedule, handler_retry, handler_freshness, handler_conditions) = inherited;
        let f = |name: &str| format!("{prefix}.{name}");
        let id = self.id(&raw.id, &f("id"), |s| ItemId::new(s));
        if let Some(id) = &id
            && !seen.insert(id.folded())
        {
            self.at(
                &raw.id,
                &f("id"),
                format!("duplicate item ID {:?} in this handler (IDs are compared ignoring ASCII case)", id.as_str()),
            );
        }
        let name_ok = self.text(&raw.name, &f("name"), MAX_NAME_UNITS, true);
        if let Some(c) = &raw.comment {
            self.text(c, &f("comment"), MAX_NAME_UNITS, false);
        }
        let kind = Kind::from_name(raw.kind.get_ref()).ok();
        if kind.is_none() {
            let known: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
            self.at(&raw.kind, &f("kind"), unknown("kind", raw.kind.get_ref(), &known));
        }
        let command_ok = self.command(&raw.command, &f("command"));
        let workdir = raw.workdir.as_ref().and_then(|w| self.path(w, &f("workdir")));
        let mut env = BTreeMap::new();
        for (key, value) in &raw.env {
            let field = format!("{}.{key}", f("env"));
            if key.is_empty() || key.contains(['=', '\0']) {
                self.at(value, &field, "variable names must be non-empty and contain neither '=' nor NUL");
            } else if value.get_ref().contains('\0') {
                self.at(value, &field, "value contains a NUL character");
            } else {
                env.insert(key.clone(), value.get_ref().clone());
            }
        }
        let timeout = raw.timeout.as_ref().and_then(|t| self.duration(t, &f("timeout"), true));
        let watchdog = raw.watchdog.as_ref().and_then(|t| self.duration(t, &f("watchdog"), true));
        let schedule = match &raw.schedule {
            Some(s) => self.schedule(s, &f("schedule")),
            None => handler_schedule.clone(),
        };
        let retry = self.retry(handler_retry, raw.retry.as_ref(), &f("retry"));
        let freshness = match &raw.freshness {
            Some(fr) => self.duration(fr, &f("freshness"), true),
            None => handler_freshness,
        };
        let conditions = self.conditions(raw.conditions(), handler_conditions, prefix);
        self.check_qualifiers(raw.conditions(), &conditions, (prefix, start));
        let capabilities = self.flags::<ItemCapabilities>(&raw.capabilities, &f("capabilities"));
        let policies = self.flags::<ItemPolicies>(&raw.policies, &f("policies"));
        Some(ItemConfig {
            id: id?,
            name: name_ok.then(|| raw.name.into_inner())?,
            comment: raw.comment.map(Spanned::into_inner).unwrap_or_default(),
            kind: kind?,
            command: command_ok.then(|| raw.command.into_inner().0)?,
            workdir,
            env,
            timeout,
            watchdog,
            schedule,
            retry,
            freshness,
            conditions,
            order: Order {
                after: Vec::new(),
                exclusive: raw.exclusive.as_ref().and_then(|e| self.group(e, &f("exclusive"))),
            },
            capabilities: capabilities?,
            policies: policies?,
            line: self.loc.line_col(start).0,
        })
    }

    /// Takes an item's non-empty `after` list out of it (resolved later, [`order::resolve`]); such an item
    /// has no schedule, so its own is refused.
    fn after(&mut self, raw: &mut RawItem, prefix: &str) -> Option<(Spanned<Vec<Spanned<String>>>, String)> {
        let list = raw.after.take().filter(|l| !l.get_ref().is_empty())?;
        if let Some(s) = &raw.schedule {
            let reason = "an item with `after` runs when the items it names have finished, not by a schedule: \
                          remove `schedule` or `after`";
            self.at(s, &format!("{prefix}.schedule"), reason);
        }
        Some((list, format!("{prefix}.after")))
    }

    /// An item's order: its `after` list waits for [`order::resolve`], and the item runs by no schedule (not
    /// the handler's either); without its own group it is in the handler's.
    fn place(
        &mut self,
        item: &mut ItemConfig,
        handler: Option<&HandlerId>,
        after: Option<(Spanned<Vec<Spanned<String>>>, String)>,
        exclusive: &Option<String>,
    ) {
        if item.order.exclusive.is_none() {
            item.order.exclusive.clone_from(exclusive);
        }
        let (Some((list, field)), Some(handler)) = (after, handler) else { return };
        item.schedule = None;
        let owner = ItemRef { handler: handler.clone(), item: item.id.clone() };
        self.after.push(PendingAfter { owner, field, list });
    }

    /// An exclusive group's name: any text, compared exactly.
    fn group(&mut self, raw: &Spanned<String>, field: &str) -> Option<String> {
        self.text(raw, field, MAX_NAME_UNITS, true).then(|| raw.get_ref().clone())
    }

    fn id<T>(&mut self, raw: &Spanned<String>, field: &str, new: impl Fn(&str) -> Result<T, IdError>) -> Option<T> {
        match new(raw.get_ref()) {
            Ok(id) => Some(id),
            Err(e) => {
                let reason = match e.problem {
                    IdProblem::Empty => "is empty".to_owned(),
                    IdProblem::TooLong { units } => {
                        format!("is {units} UTF-16 units long; the limit is {MAX_ID_UNITS}")
                    }
                    IdProblem::ControlCharacter => "contains a control character (U+0000..U+001F)".to_owned(),
                };
                self.at(raw, field, reason);
                None
            }
        }
    }

    /// Checks a display text; returns whether it is acceptable.
    fn text(&mut self, raw: &Spanned<String>, field: &str, max: usize, required: bool) -> bool {
        let s = raw.get_ref();
        let reason = if required && s.trim().is_empty() {
            "must not be empty".to_owned()
        } else if utf16_len(s) > max {
            format!("is {} UTF-16 units long; the limit is {max}", utf16_len(s))
        } else if s.chars().any(char::is_control) {
            "contains a control character".to_owned()
        } else {
            return true;
        };
        self.at(raw, field, reason);
        false
    }

    fn command(&mut self, raw: &Spanned<crate::raw::RawCommand>, field: &str) -> bool {
        let words = &raw.get_ref().0;
        let reason = if words.is_empty() {
            "must not be empty; write the program, then its arguments, such as [\"rsync\", \"-a\", \"src/\", \"dst/\"]"
        } else if words[0].trim().is_empty() {
            "the program (first element) must not be empty"
        } else if words.iter().any(|w| w.contains('\0')) {
            "an argument contains a NUL character"
        } else {
            return true;
        };
        self.at(raw, field, reason);
        false
    }

    /// A path: absolute, or relative to the configuration file's directory.
    fn path(&mut self, raw: &Spanned<String>, field: &str) -> Option<PathBuf> {
        let s = raw.get_ref();
        if s.is_empty() || s.contains('\0') {
            self.at(raw, field, "must be a non-empty path without NUL characters");
            return None;
        }
        let p = Path::new(s);
        Some(if p.is_absolute() { p.to_path_buf() } else { self.base.join(p) })
    }

    /// A handler's `notify`; an unknown value is an error (and the default stands in for it).
    fn notify(&mut self, raw: Option<&Spanned<String>>, field: &str) -> Notify {
        let Some(raw) = raw else { return Notify::default() };
        Notify::from_name(raw.get_ref()).unwrap_or_else(|| {
            let names = Notify::ALL.map(Notify::name);
            self.at(raw, field, unknown("notify setting", raw.get_ref(), &names));
            Notify::default()
        })
    }

    fn duration(&mut self, raw: &Spanned<String>, field: &str, positive: bool) -> Option<Duration> {
        match parse_duration(raw.get_ref()) {
            Ok(d) if positive && d.is_zero() => {
                self.at(raw, field, "must be longer than zero");
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                self.at(raw, field, e.to_string());
                None
            }
        }
    }

    fn flags<F: Flags>(&mut self, names: &[Spanned<String>], field: &str) -> Option<F> {
        let mut ok = true;
        let mut out = Vec::new();
        for (i, n) in names.iter().enumerate() {
            if F::named().iter().any(|(_, w)| *w == n.get_ref()) {
                out.push(n.get_ref().as_str());
            } else {
                ok = false;
                let known: Vec<&str> = F::named().iter().map(|(_, w)| *w).collect();
                self.at(n, &format!("{field}[{i}]"), unknown(F::WHAT, n.get_ref(), &known));
            }
        }
        if !ok {
            return None;
        }
        F::from_names(out).ok()
    }

    fn schedule(&mut self, raw: &Spanned<RawSchedule>, field: &str) -> Option<Schedule> {
        let s = raw.get_ref();
        let jitter = match &s.jitter {
            Some(j) => self.duration(j, &format!("{field}.jitter"), false)?,
            None => Duration::ZERO,
        };
        let trigger = match (&s.every, &s.cron) {
            (Some(_), Some(cron)) => {
                self.at(cron, field, "has both `every` and `cron`; keep one");
                return None;
            }
            (None, None) => {
                self.at(raw, field, "needs `every` (such as every = \"6h\") or `cron` (such as cron = \"0 3 * * *\")");
                return None;
            }
            (Some(every), None) => Trigger::Every(self.duration(every, &format!("{field}.every"), true)?),
            (None, Some(cron)) => match CronSchedule::parse(cron.get_ref()) {
                Ok(c) => Trigger::Cron(c),
                Err(reason) => {
                    self.at(cron, &format!("{field}.cron"), reason);
                    return None;
                }
            },
        };
        Some(Schedule { trigger, jitter })
    }

    /// `base` with the fields present in `raw` replaced; invalid fields keep `base`'s value (and are reported).
    fn retry(&mut self, base: RetryPolicy, raw: Option<&Spanned<RawRetry>>, field: &str) -> RetryPolicy {
        let mut p = base;
        let Some(raw) = raw else { return p };
        let r = raw.get_ref();
        let f = |name: &str| format!("{field}.{name}");
        if let Some(a) = &r.attempts {
            match u32::try_from(*a.get_ref()) {
                Ok(n) if (1..=1000).contains(&n) => p.attempts = n,
                _ => self.at(a, &f("attempts"), "must be between 1 and 1000 (1 means: never retry)"),
            }
        }
        if let Some(i) = &r.initial
            && let Some(d) = self.duration(i, &f("initial"), true)
        {
            p.initial = d;
        }
        if let Some(m) = &r.multiplier {
            let m_value = *m.get_ref();
            if m_value.is_finite() && (1.0..=100.0).contains(&m_value) {
                p.multiplier = m_value;
            } else {
                self.at(m, &f("multiplier"), "must be between 1.0 and 100.0");
            }
        }
        if let Some(mx) = &r.max
            && let Some(d) = self.duration(mx, &f("max"), true)
        {
            p.max = d;
        }
        if let Some(j) = &r.jitter {
            let j_value = *j.get_ref();
            if (0.0..=1.0).contains(&j_value) {
                p.jitter = j_value;
            } else {
                self.at(j, &f("jitter"), "must be between 0.0 and 1.0 (a fraction of each delay)");
            }
        }
        p
    }
}

/// The flag sets of the core, seen through one interface.
trait Flags: Sized + 'static {
    const WHAT: &'static str;
    fn named() -> &'static [(Self, &'static str)];
    fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, ValueError>;
}

macro_rules! flags {
    ($t:ty, $what:literal) => {
        impl Flags for $t {
            const WHAT: &'static str = $what;
            fn named() -> &'static [(Self, &'static str)] {
                <$t>::NAMED
            }
            fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, ValueError> {
                <$t>::from_names(names)
            }
        }
    };
}

flags!(HandlerCapabilities, "handler capability");
flags!(HandlerPolicies, "handler policy");
flags!(ItemCapabilities, "item capability");
flags!(ItemPolicies, "item policy");

fn unknown(what: &str, value: &str, known: &[&str]) -> String {
    format!("unknown {what} {value:?}; expected one of: {}", known.join(", "))
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") }
}

/// `missing field `name`` → `name`.
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

/// The dotted path of the innermost key or value in `value` that contains byte offset `pos`.
fn path_at<'i>(value: &Spanned<impl AsDeValue<'i>>, prefix: &str, pos: usize) -> String {
    match value.get_ref().as_de_value() {
        Node::Table(table) => {
            for (key, v) in table.iter() {
                let field = join(prefix, key.get_ref());
                if key.span().contains(&pos) {
                    return field;
                }
                if v.span().contains(&pos) {
                    return path_at(v, &field, pos);
                }
            }
            prefix.to_owned()
        }
        Node::Array(array) => {
            for (i, v) in array.iter().enumerate() {
                if v.span().contains(&pos) {
                    return path_at(v, &format!("{prefix}[{i}]"), pos);
                }
            }
            prefix.to_owned()
        }
        Node::Scalar => prefix.to_owned(),
    }
}

/// A table or array of the spanned tree, or anything else.
enum Node<'a, 'i> {
    Table(&'a DeTable<'i>),
    Array(&'a toml::de::DeArray<'i>),
    Scalar,
}

/// The document root is a bare table; everything below it is a value.
trait AsDeValue<'i> {
    fn as_de_value(&self) -> Node<'_, 'i>;
}

impl<'i> AsDeValue<'i> for DeValue<'i> {
    fn as_de_value(&self) -> Node<'_, 'i> {
        match self {
            DeValue::Table(t) => Node::Table(t),
            DeValue::Array(a) => Node::Array(a),
            _ => Node::Scalar,
        }
    }
}

impl<'i> AsDeValue<'i> for DeTable<'i> {
    fn as_de_value(&self) -> Node<'_, 'i> {
        Node::Table(self)
    }
}
