//! What one synccenter session looks like as a KDE job, kept apart from the bus so the mapping is tested
//! without one: the feed's progress per item accumulates into a [`View`], which is drawn as the `a{sv}` of
//! `org.kde.JobViewV3.update` and, at the session's end, as `terminate`'s code and message.

use std::collections::{BTreeMap, HashMap};

use synccenter_client::methods::{AmountInfo, SessionInfo};
use synccenter_client::{StatusWire, UnitWire};
use zbus::Variant;

/// KJob's `NoError`: the session succeeded.
pub(crate) const SUCCEEDED: u32 = 0;
/// KJob's `KilledJobError`: the session was canceled.
pub(crate) const KILLED: u32 = 1;
/// KJob's `UserDefinedError`: the session failed or ended partly.
pub(crate) const FAILED: u32 = 100;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ItemProgress {
    status: Option<StatusWire>,
    step: u32,
    max_step: u32,
    amount: Option<AmountInfo>,
}

/// How a session ended, as `terminate` says it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct End {
    pub(crate) code: u32,
    pub(crate) message: String,
}

/// A live session as the job view shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct View {
    pub(crate) session: String,
    pub(crate) handler: String,
    items: BTreeMap<String, ItemProgress>,
    handler_text: Option<String>,
    /// The progress text reported last, of any item.
    text: String,
    pub(crate) end: Option<End>,
}

impl View {
    pub(crate) fn new(info: &SessionInfo) -> View {
        let mut view = View {
            session: info.session.clone(),
            handler: info.handler.clone(),
            handler_text: info.handler_text.clone().filter(|t| !t.is_empty()),
            ..View::default()
        };
        for i in &info.items {
            view.progress(&i.item, i.status, i.step, i.max_step, &i.text);
            view.amount(&i.item, i.amount);
        }
        view
    }

    /// The session's items, for a stop.
    pub(crate) fn items(&self) -> Vec<String> {
        self.items.keys().cloned().collect()
    }

    pub(crate) fn progress(&mut self, item: &str, status: Option<StatusWire>, step: u32, max_step: u32, text: &str) {
        self.items.insert(item.to_owned(), ItemProgress { status, step, max_step, amount: None });
        if !text.is_empty() {
            self.text = text.to_owned();
        }
    }

    /// The item's amount in its unit (after its `progress`), for KDE's byte and file fields.
    pub(crate) fn amount(&mut self, item: &str, amount: Option<AmountInfo>) {
        if let Some(p) = self.items.get_mut(item) {
            p.amount = amount;
        }
    }

    /// The items' amounts of `unit` added up, when any item reports that unit.
    fn sum(&self, unit: UnitWire) -> Option<(u64, u64)> {
        let mut amounts = self.items.values().filter_map(|p| p.amount).filter(|a| a.unit == unit).peekable();
        amounts.peek()?;
        Some(amounts.fold((0, 0), |(d, t), a| (d.saturating_add(a.done), t.saturating_add(a.total))))
    }

    pub(crate) fn handler_text(&mut self, text: &str) {
        self.handler_text = Some(text.to_owned()).filter(|t| !t.is_empty());
    }

    /// The fraction done, in percent: each item weighs the same; a finished item is done whatever its steps.
    fn percent(&self) -> u32 {
        if self.items.is_empty() {
            return 0;
        }
        let done: f64 = self
            .items
            .values()
            .map(|p| match p.status {
                Some(s) if s.is_final() => 1.0,
                _ if p.max_step > 0 => f64::from(p.step.min(p.max_step)) / f64::from(p.max_step),
                _ => 0.0,
            })
            .sum();
        (done * 100.0 / self.items.len() as f64).floor() as u32
    }

    fn finished_items(&self) -> u64 {
        self.items.values().filter(|p| p.status.is_some_and(StatusWire::is_final)).count() as u64
    }

    /// `update`'s fields (also `requestView`'s hints): title, percent, items done and in all, the latest text.
    pub(crate) fn fields(&self, title: &str) -> HashMap<&'static str, Variant<'static>> {
        let info = self.handler_text.clone().unwrap_or_else(|| self.text.clone());
        let mut fields = HashMap::from([
            ("title", Variant::from(title.to_owned())),
            ("percent", Variant::from(self.percent())),
            ("processedItems", Variant::from(self.finished_items())),
            ("totalItems", Variant::from(self.items.len() as u64)),
            ("infoMessage", Variant::from(info)),
        ]);
        // KDE's own units: the job view says bytes and files in its words (issue 20).
        for (unit, processed, total) in
            [(UnitWire::Bytes, "processedBytes", "totalBytes"), (UnitWire::Files, "processedFiles", "totalFiles")]
        {
            if let Some((done, all)) = self.sum(unit) {
                fields.insert(processed, Variant::from(done));
                fields.insert(total, Variant::from(all));
            }
        }
        fields
    }
}

/// `terminate`'s code and one-line message for a session that ended with `status`.
pub(crate) fn end(status: StatusWire, errors: u32, conflicts: u32) -> End {
    let counts = counts(errors, conflicts);
    let (code, message) = match status {
        StatusWire::Succeeded if errors == 0 && conflicts == 0 => (SUCCEEDED, String::new()),
        StatusWire::Canceled => (KILLED, String::new()),
        StatusWire::Succeeded => (FAILED, format!("Finished with {counts}.")),
        StatusWire::Disconnected => (FAILED, with_counts("Disconnected", &counts)),
        _ => (FAILED, with_counts("Sync failed", &counts)),
    };
    End { code, message }
}

fn with_counts(what: &str, counts: &str) -> String {
    if counts.is_empty() { format!("{what}.") } else { format!("{what}: {counts}.") }
}

fn counts(errors: u32, conflicts: u32) -> String {
    let plural = |n: u32, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts = Vec::new();
    if errors > 0 {
        parts.push(plural(errors, "error", "errors"));
    }
    if conflicts > 0 {
        parts.push(plural(conflicts, "conflict to resolve", "conflicts to resolve"));
    }
    parts.join(", ")
}

/// The job's title: the handler's name and its items' (`Backups: Home folder, Mail`), or their number when
/// there are more than three.
pub(crate) fn title(handler: &str, items: &[String]) -> String {
    match items.len() {
        0 => handler.to_owned(),
        1..=3 => format!("{handler}: {}", items.join(", ")),
        n => format!("{handler}: {n} items"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(fields: &HashMap<&str, Variant<'_>>, key: &str) -> u64 {
        match fields.get(key) {
            Some(Variant::U32(n)) => u64::from(*n),
            Some(Variant::U64(n)) => *n,
            other => panic!("{key}: {other:?}"),
        }
    }

    #[test]
    fn items_weigh_the_same_and_finished_ones_count_whole() {
        let mut v = View::default();
        v.progress("a", Some(StatusWire::Updating), 1, 4, "copying a");
        v.progress("b", Some(StatusWire::Failed), 0, 0, "");
        let f = v.fields("Backups: a, b");
        assert_eq!(number(&f, "percent"), 62);
        assert_eq!((number(&f, "processedItems"), number(&f, "totalItems")), (1, 2));
        assert_eq!(f.get("infoMessage"), Some(&Variant::from("copying a")));
        v.handler_text("2 of 9 folders");
        assert_eq!(v.fields("t").get("infoMessage"), Some(&Variant::from("2 of 9 folders")));
        assert_eq!(number(&View::default().fields("t"), "percent"), 0);
        assert!(!View::default().fields("t").contains_key("totalBytes"));
    }

    /// Issue 20: items' bytes and files reach KDE's own fields, added up per unit.
    #[test]
    fn bytes_and_files_fill_kdes_amount_fields() {
        let mut v = View::default();
        for (item, unit, done, total) in
            [("a", UnitWire::Bytes, 1 << 33, 1 << 34), ("b", UnitWire::Bytes, 5, 10), ("c", UnitWire::Files, 3, 7)]
        {
            v.progress(item, Some(StatusWire::Updating), 0, 0, "");
            v.amount(item, Some(AmountInfo { unit, done, total }));
        }
        let f = v.fields("t");
        assert_eq!((number(&f, "processedBytes"), number(&f, "totalBytes")), ((1 << 33) + 5, (1 << 34) + 10));
        assert_eq!((number(&f, "processedFiles"), number(&f, "totalFiles")), (3, 7));
        v.progress("c", Some(StatusWire::Updating), 1, 2, "");
        assert!(!v.fields("t").contains_key("totalFiles"), "a report without a unit is steps again");
    }

    #[test]
    fn ends_map_to_kjob_codes_with_one_line() {
        assert_eq!(end(StatusWire::Succeeded, 0, 0), End { code: SUCCEEDED, message: String::new() });
        assert_eq!(end(StatusWire::Canceled, 1, 0).code, KILLED);
        assert_eq!(end(StatusWire::Failed, 2, 1).message, "Sync failed: 2 errors, 1 conflict to resolve.");
        assert_eq!(end(StatusWire::Failed, 0, 0), End { code: FAILED, message: "Sync failed.".into() });
        assert_eq!(
            end(StatusWire::Succeeded, 0, 3),
            End { code: FAILED, message: "Finished with 3 conflicts to resolve.".into() }
        );
        assert_eq!(end(StatusWire::Disconnected, 1, 0).message, "Disconnected: 1 error.");
    }

    #[test]
    fn titles_name_up_to_three_items() {
        assert_eq!(title("Backups", &[]), "Backups");
        assert_eq!(title("Backups", &["Home".into(), "Mail".into()]), "Backups: Home, Mail");
        assert_eq!(title("Backups", &vec!["x".to_owned(); 4]), "Backups: 4 items");
    }
}
