//! The tray's menu as `com.canonical.dbusmenu` (the protocol every StatusNotifierItem host reads a menu with):
//! a flat layout under the root (ID 0) of fixed entries (sync all, the pauses, resume, the dashboard) and the
//! latest failures, each of which opens its result. A click (`Event(id, "clicked", …)`) becomes an [`Action`]
//! sent to the tray's task, which talks to the daemon; the object itself never waits on the daemon. The layout's
//! revision grows whenever the failures change (`LayoutUpdated`).

use std::collections::HashMap;

use tokio::sync::mpsc;
use zbus::object_server::SignalEmitter;
use zbus::{OwnedVariant, Str};

/// The object the menu is served at (the item's `Menu` property).
pub(crate) const PATH: &str = "/MenuBar";
/// At most this many failures are listed.
pub const FAILURES: usize = 5;
/// The ID of the first failure's entry; the others follow.
const FIRST_FAILURE: i32 = 100;

/// What a click asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// `control.start` of every handler.
    SyncAll,
    /// Pause every handler for an hour.
    PauseHour,
    /// Pause every handler until resumed.
    Pause,
    /// Resume every paused handler.
    Resume,
    /// Open the dashboard at a handler's result (the item's `Activate` opens it at none).
    Open {
        /// The handler whose result to open.
        handler: Option<String>,
        /// The session whose result to open.
        session: Option<String>,
    },
}

/// A failure listed in the menu.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The handler it is of.
    pub handler: String,
    /// The session it happened in.
    pub session: Option<String>,
    /// Its menu label ([`label`](crate::portable::label)).
    pub label: String,
}

/// One entry of the layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its ID, which [`Layout::action`] maps back to what a click asks for.
    pub id: i32,
    /// `None` for a separator.
    pub label: Option<String>,
    /// False for the "No recent failures" line.
    pub enabled: bool,
}

fn fixed() -> Vec<(i32, &'static str, Action)> {
    vec![
        (1, "Sync all", Action::SyncAll),
        (2, "Pause all for 1 hour", Action::PauseHour),
        (3, "Pause all until resumed", Action::Pause),
        (4, "Resume", Action::Resume),
        (5, "Open dashboard", Action::Open { handler: None, session: None }),
    ]
}

/// The menu's entries and the failures among them, whatever draws the menu (this D-Bus menu, or the native
/// menus of `synccenter-desktop-native`).
#[derive(Clone, Debug)]
pub struct Layout {
    failures: Vec<Failure>,
    revision: u32,
}

impl Default for Layout {
    fn default() -> Layout {
        Layout { failures: Vec::new(), revision: 1 }
    }
}

impl Layout {
    /// Takes the latest failures (at most [`FAILURES`]); true (and a new revision) when they changed.
    pub fn set_failures(&mut self, mut failures: Vec<Failure>) -> bool {
        failures.truncate(FAILURES);
        if failures == self.failures {
            return false;
        }
        self.failures = failures;
        self.revision = self.revision.wrapping_add(1);
        true
    }

    /// Grows whenever the failures change.
    pub fn revision(&self) -> u32 {
        self.revision
    }

    /// The entries in their order: the fixed ones, a separator, the failures (or a line saying there are none).
    pub fn entries(&self) -> Vec<Entry> {
        let mut entries: Vec<Entry> = fixed()
            .into_iter()
            .map(|(id, label, _)| Entry { id, label: Some(label.to_owned()), enabled: true })
            .collect();
        entries.push(Entry { id: 6, label: None, enabled: true });
        if self.failures.is_empty() {
            entries.push(Entry { id: 7, label: Some("No recent failures".to_owned()), enabled: false });
        }
        for (i, f) in self.failures.iter().enumerate() {
            let id = FIRST_FAILURE + i32::try_from(i).unwrap_or(0);
            entries.push(Entry { id, label: Some(f.label.clone()), enabled: true });
        }
        entries
    }

    /// What clicking entry `id` asks for, if anything.
    pub fn action(&self, id: i32) -> Option<Action> {
        if let Some((_, _, action)) = fixed().into_iter().find(|(i, _, _)| *i == id) {
            return Some(action);
        }
        let f = self.failures.get(usize::try_from(id.checked_sub(FIRST_FAILURE)?).ok()?)?;
        Some(Action::Open { handler: Some(f.handler.clone()), session: f.session.clone() })
    }
}

/// The menu's state; served at [`PATH`].
#[derive(Debug)]
pub(crate) struct Menu {
    actions: mpsc::Sender<Action>,
    layout: Layout,
}

impl Menu {
    pub(crate) fn new(actions: mpsc::Sender<Action>) -> Menu {
        Menu { actions, layout: Layout::default() }
    }

    pub(crate) fn layout_mut(&mut self) -> &mut Layout {
        &mut self.layout
    }

    fn entries(&self) -> Vec<Entry> {
        self.layout.entries()
    }

    fn click(&self, id: i32) {
        let Some(action) = self.layout.action(id) else { return };
        tracing::info!(?action, "tray menu");
        if self.actions.try_send(action).is_err() {
            tracing::warn!("the tray is busy; the click is dropped");
        }
    }
}

/// The properties of `e`, restricted to `names` unless it is empty.
fn properties(e: &Entry, names: &[String]) -> HashMap<String, OwnedVariant> {
    let mut all: Vec<(&str, OwnedVariant)> = vec![("enabled", e.enabled.into()), ("visible", true.into())];
    match &e.label {
        Some(label) => all.push(("label", Str::from(label.clone()).into())),
        None => all.push(("type", Str::from("separator").into())),
    }
    all.into_iter()
        .filter(|(k, _)| names.is_empty() || names.iter().any(|n| n == k))
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

/// A layout node: ID, properties, children (each a variant of a node).
type Node = (i32, HashMap<String, OwnedVariant>, Vec<OwnedVariant>);

fn child(e: &Entry, names: &[String]) -> Option<OwnedVariant> {
    let node: Node = (e.id, properties(e, names), Vec::new());
    OwnedVariant::try_from(zbus::Variant::from(node)).ok()
}

#[zbus::interface(name = "com.canonical.dbusmenu")]
impl Menu {
    /// The layout under `parent_id`: the root holds every entry, an entry holds nothing.
    async fn get_layout(
        &self,
        parent_id: i32,
        recursion_depth: i32,
        property_names: Vec<String>,
    ) -> zbus::fdo::Result<(u32, Node)> {
        let entries = self.entries();
        if parent_id == 0 {
            let children = if recursion_depth == 0 {
                Vec::new()
            } else {
                entries.iter().filter_map(|e| child(e, &property_names)).collect()
            };
            let root = HashMap::from([("children-display".to_owned(), Str::from("submenu").into())]);
            return Ok((self.layout.revision(), (0, root, children)));
        }
        let e = entries
            .iter()
            .find(|e| e.id == parent_id)
            .ok_or_else(|| zbus::fdo::Error::InvalidArgs(format!("no menu entry {parent_id}")))?;
        Ok((self.layout.revision(), (e.id, properties(e, &property_names), Vec::new())))
    }

    /// The properties of the entries `ids` (every entry when empty); unknown IDs are left out.
    async fn get_group_properties(
        &self,
        ids: Vec<i32>,
        property_names: Vec<String>,
    ) -> Vec<(i32, HashMap<String, OwnedVariant>)> {
        self.entries()
            .iter()
            .filter(|e| ids.is_empty() || ids.contains(&e.id))
            .map(|e| (e.id, properties(e, &property_names)))
            .collect()
    }

    async fn get_property(&self, id: i32, name: String) -> zbus::fdo::Result<OwnedVariant> {
        let entries = self.entries();
        let e = entries.iter().find(|e| e.id == id);
        let mut props = e.map(|e| properties(e, std::slice::from_ref(&name))).unwrap_or_default();
        props.remove(&name).ok_or_else(|| zbus::fdo::Error::InvalidArgs(format!("no property {name} on {id}")))
    }

    /// A click carries out the entry's action; other events (hovers, opens, closes) change nothing.
    async fn event(&self, id: i32, event_id: String, _data: OwnedVariant, _timestamp: u32) {
        if event_id == "clicked" {
            self.click(id);
        }
    }

    /// The IDs of `events` that name no entry.
    async fn event_group(&self, events: Vec<(i32, String, OwnedVariant, u32)>) -> Vec<i32> {
        let entries = self.entries();
        let mut unknown = Vec::new();
        for (id, event_id, _, _) in events {
            if !entries.iter().any(|e| e.id == id) && id != 0 {
                unknown.push(id);
            } else if event_id == "clicked" {
                self.click(id);
            }
        }
        unknown
    }

    /// The layout is always current: nothing to update before showing.
    async fn about_to_show(&self, _id: i32) -> bool {
        false
    }

    async fn about_to_show_group(&self, _ids: Vec<i32>) -> (Vec<i32>, Vec<i32>) {
        (Vec::new(), Vec::new())
    }

    #[zbus(property)]
    fn version(&self) -> u32 {
        3
    }

    #[zbus(property)]
    fn text_direction(&self) -> &str {
        "ltr"
    }

    #[zbus(property)]
    fn status(&self) -> &str {
        "normal"
    }

    #[zbus(property)]
    fn icon_theme_path(&self) -> Vec<String> {
        Vec::new()
    }

    #[zbus(signal)]
    pub(crate) async fn layout_updated(emitter: &SignalEmitter<'_>, revision: u32, parent: i32) -> zbus::Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(n: usize) -> Failure {
        Failure { handler: format!("h{n}"), session: Some(format!("s{n}")), label: format!("h{n}: broke") }
    }

    #[test]
    fn entries_map_to_their_actions_and_failures_open_their_result() {
        let mut m = Layout::default();
        assert_eq!(m.action(3), Some(Action::Pause));
        assert_eq!(m.action(6), None, "the separator does nothing");
        assert_eq!(m.action(FIRST_FAILURE), None, "no failure yet");
        assert!(m.set_failures((0..8).map(failure).collect()));
        assert_eq!(m.entries().len(), 6 + FAILURES, "five fixed, a separator, the five latest failures");
        let open = Action::Open { handler: Some("h4".into()), session: Some("s4".into()) };
        assert_eq!(m.action(FIRST_FAILURE + 4), Some(open));
        assert_eq!(m.action(FIRST_FAILURE + 5), None);
        assert_eq!(m.action(-1), None);
    }

    #[test]
    fn the_revision_grows_only_when_the_failures_change() {
        let mut m = Layout::default();
        let r = m.revision();
        assert!(!m.set_failures(Vec::new()));
        assert_eq!(m.revision(), r);
        assert!(m.set_failures(vec![failure(1)]));
        assert!(m.revision() > r);
        assert!(!m.set_failures(vec![failure(1)]));
    }

    #[test]
    fn properties_are_filtered_by_name() {
        let e = Entry { id: 1, label: Some("Sync all".into()), enabled: true };
        assert_eq!(properties(&e, &[]).len(), 3);
        let only = properties(&e, &["label".to_owned()]);
        assert_eq!(only.keys().collect::<Vec<_>>(), ["label"]);
        let sep = properties(&Entry { id: 6, label: None, enabled: true }, &[]);
        assert!(sep.contains_key("type") && !sep.contains_key("label"));
    }
}
