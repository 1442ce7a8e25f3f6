//! `/metrics` in the Prometheus text format (0.0.4), computed per scrape from `status`, `handler.list`,
//! `item.list` and one page of `sessions.history`. Names and meanings are listed in `docs/dashboard.md`.

use std::collections::BTreeMap;
use std::fmt::Write;

use synccenter_client::{Client, ClientError};
use synccenter_protocol::methods::SessionsHistoryParams;

use crate::timestamp;

/// Sessions of history scanned for run durations.
const HISTORY_SCAN: u32 = 1000;

/// Escapes a label value: backslash, double quote and newline.
pub(crate) fn escape(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    samples: Vec<(String, f64)>,
}

impl Family {
    fn new(name: &'static str, kind: &'static str, help: &'static str) -> Family {
        Family { name, kind, help, samples: Vec::new() }
    }

    fn add(&mut self, labels: &[(&str, &str)], value: f64) {
        let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
        let labels = if labels.is_empty() { String::new() } else { format!("{{{}}}", labels.join(",")) };
        self.samples.push((labels, value));
    }

    fn write(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} {}", self.name, self.kind);
        for (labels, value) in &self.samples {
            let _ = writeln!(out, "{}{labels} {value}", self.name);
        }
    }
}

fn seconds(t: &str) -> Option<f64> {
    timestamp::parse(t).map(|t| t.unix_timestamp_nanos() as f64 / 1e9)
}

pub(crate) async fn render(client: &Client) -> Result<String, ClientError> {
    let status = client.status().await?;
    let handlers = client.handlers(true).await?;
    let history =
        client.history(SessionsHistoryParams { handler: None, before: None, limit: Some(HISTORY_SCAN) }).await?;
    // Newest first: the first finished session naming (handler, item) is its last run.
    let mut durations: BTreeMap<(String, String), f64> = BTreeMap::new();
    for s in &history {
        let (Some(start), Some(end)) =
            (timestamp::parse(&s.started_at), s.ended_at.as_deref().and_then(timestamp::parse))
        else {
            continue;
        };
        let d = (end - start).as_seconds_f64().max(0.0);
        for i in &s.items {
            durations.entry((s.handler.clone(), i.item.clone())).or_insert(d);
        }
    }

    let mut last_success = Family::new(
        "synccenter_handler_last_success_timestamp_seconds",
        "gauge",
        "Unix time of the item's last successful sync.",
    );
    let mut duration = Family::new(
        "synccenter_item_last_run_duration_seconds",
        "gauge",
        "Duration of the newest finished session that contained the item.",
    );
    let mut errors = Family::new("synccenter_errors", "gauge", "ERROR events currently recorded for the item.");
    let mut overdue = Family::new(
        "synccenter_item_overdue",
        "gauge",
        "1 when the item has not succeeded within its freshness bound.",
    );
    let mut conflicts = Family::new("synccenter_conflicts", "gauge", "Unresolved conflicts of the handler.");
    for h in &handlers {
        conflicts.add(&[("handler", &h.handler)], f64::from(h.conflict_count));
        for item in client.items(&h.handler, true).await? {
            let labels = [("handler", h.handler.as_str()), ("item", item.item.as_str())];
            if let Some(t) = item.last_sync.as_deref().and_then(seconds) {
                last_success.add(&labels, t);
            }
            if let Some(d) = durations.get(&(h.handler.clone(), item.item.clone())) {
                duration.add(&labels, *d);
            }
            errors.add(&labels, item.error_count as f64);
            overdue.add(&labels, if item.overdue { 1.0 } else { 0.0 });
        }
    }
    let mut live = Family::new("synccenter_live_sessions", "gauge", "Sessions in progress.");
    live.add(&[], status.live_sessions as f64);
    let mut reports = Family::new(
        "synccenter_reports_applied_total",
        "counter",
        "Progress reports applied since the daemon started.",
    );
    reports.add(&[], status.reports_applied as f64);

    let mut out = String::new();
    for f in [&last_success, &duration, &errors, &conflicts, &live, &reports, &overdue] {
        f.write(&mut out);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn families_render() {
        let mut f = Family::new("x_total", "counter", "X.");
        f.add(&[("handler", "h\"1")], 2.0);
        let mut out = String::new();
        f.write(&mut out);
        assert_eq!(out, "# HELP x_total X.\n# TYPE x_total counter\nx_total{handler=\"h\\\"1\"} 2\n");
    }
}
