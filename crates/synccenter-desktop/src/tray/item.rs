//! The `org.kde.StatusNotifierItem` object: what a tray host reads (status, icon, tooltip, the menu's path) and
//! the signals that tell it to read again. Its fields are set by the tray's task ([`Item::show`]); activating
//! the icon opens the dashboard through the same [`Action`] as the menu's entry.

use tokio::sync::mpsc;
use zbus::OwnedObjectPath;
use zbus::object_server::SignalEmitter;

use super::View;
use super::icon::{self, Pixmap};
use super::menu::{self, Action};

/// The object the item is served at.
pub(crate) const PATH: &str = "/StatusNotifierItem";

/// A tooltip as the specification has it: icon name, icon pixmaps, title, description.
type ToolTip = (String, Vec<Pixmap>, String, String);

#[derive(Debug)]
pub(crate) struct Item {
    view: View,
    actions: mpsc::Sender<Action>,
}

impl Item {
    pub(crate) fn new(view: View, actions: mpsc::Sender<Action>) -> Item {
        Item { view, actions }
    }

    /// Takes `view`; sends the signals of what changed.
    pub(crate) async fn show(&mut self, view: View, emitter: &SignalEmitter<'_>) -> zbus::Result<()> {
        let old = std::mem::replace(&mut self.view, view);
        if old.status != self.view.status {
            Item::new_status(emitter, self.view.status.name()).await?;
            Item::new_icon(emitter).await?;
            Item::new_attention_icon(emitter).await?;
        }
        if old.tooltip != self.view.tooltip {
            Item::new_tool_tip(emitter).await?;
        }
        Ok(())
    }
}

#[zbus::interface(name = "org.kde.StatusNotifierItem")]
impl Item {
    #[zbus(property)]
    fn category(&self) -> &str {
        "ApplicationStatus"
    }

    #[zbus(property)]
    fn id(&self) -> &str {
        "synccenter"
    }

    #[zbus(property)]
    fn title(&self) -> &str {
        "Sync Center"
    }

    #[zbus(property)]
    fn status(&self) -> &str {
        self.view.status.name()
    }

    #[zbus(property)]
    fn window_id(&self) -> i32 {
        0
    }

    // No names: the icon is drawn (see `icon`), and hosts prefer a name to the pixmaps when both are given.
    #[zbus(property)]
    fn icon_name(&self) -> &str {
        ""
    }

    #[zbus(property)]
    fn icon_pixmap(&self) -> Vec<Pixmap> {
        icon::pixmaps(self.view.status)
    }

    #[zbus(property)]
    fn overlay_icon_name(&self) -> &str {
        ""
    }

    // Hosts read every property of the specification (LXQt's panel asks for the overlay's pixmap and logs an
    // error when it is missing); there is no overlay.
    #[zbus(property)]
    fn overlay_icon_pixmap(&self) -> Vec<Pixmap> {
        Vec::new()
    }

    #[zbus(property)]
    fn attention_icon_pixmap(&self) -> Vec<Pixmap> {
        icon::pixmaps(super::Status::NeedsAttention)
    }

    #[zbus(property)]
    fn attention_icon_name(&self) -> &str {
        ""
    }

    #[zbus(property)]
    fn attention_movie_name(&self) -> &str {
        ""
    }

    #[zbus(property)]
    fn icon_theme_path(&self) -> &str {
        ""
    }

    #[zbus(property)]
    fn tool_tip(&self) -> ToolTip {
        (String::new(), icon::pixmaps(self.view.status), "Sync Center".to_owned(), self.view.tooltip.clone())
    }

    #[zbus(property)]
    fn item_is_menu(&self) -> bool {
        false
    }

    #[zbus(property)]
    fn menu(&self) -> OwnedObjectPath {
        OwnedObjectPath::try_from(menu::PATH).unwrap_or_default()
    }

    /// A click on the icon opens the dashboard.
    async fn activate(&self, _x: i32, _y: i32) {
        if self.actions.try_send(Action::Open { handler: None, session: None }).is_err() {
            tracing::warn!("the tray is busy; the click is dropped");
        }
    }

    async fn secondary_activate(&self, _x: i32, _y: i32) {}

    /// The host shows the menu itself (from `Menu`); nothing to do here.
    async fn context_menu(&self, _x: i32, _y: i32) {}

    async fn scroll(&self, _delta: i32, _orientation: String) {}

    #[zbus(signal)]
    async fn new_title(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn new_icon(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn new_attention_icon(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn new_tool_tip(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn new_status(emitter: &SignalEmitter<'_>, status: &str) -> zbus::Result<()>;
}
