//! The tray icon and its menu: the same states, tooltip and entries as the StatusNotifierItem of
//! `synccenter-desktop` (`synccenter_desktop::portable`). `tray-icon` objects live on the thread that runs the
//! event loop ([`TrayUi`], which only applies what it is sent); the decisions are made on the runtime by a
//! [`Task`]: the live state from `follow` (through [`Feed`]), the one-second debounce of syncs, the latest
//! failures when the error count changes, and clicks, which come back from `muda`'s and `tray-icon`'s event
//! handlers as [`Click`]s and go to the daemon.

use std::sync::mpsc as std_mpsc;

use synccenter_client::Client;
use synccenter_desktop::portable::{
    Action, Entry, Estimate, Input, Layout, Live, Show, Status, View, Watched, act, latest_failures, view,
};
use tokio::sync::{mpsc, watch};
use tray_icon::menu::{Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tray_icon::{Icon, MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};

use crate::error::NativeError;
use crate::model::{entry_of, icon, menu_id};
use crate::pump::Waker;

/// The edge in pixels the icon is handed over at; the system scales it to the notification area or menu bar.
const ICON_SIZE: u32 = 32;
/// The tooltip's first line, as the StatusNotifierItem's title.
const TITLE: &str = "Sync Center";

/// What the event loop's thread is asked to do.
#[derive(Debug)]
pub(crate) enum Ui {
    /// Show this status and tooltip.
    View(View),
    /// Rebuild the menu with these entries.
    Entries(Vec<Entry>),
    /// The daemon is gone: end the event loop.
    Quit,
}

/// Sends to the event loop's thread and wakes it.
#[derive(Clone, Debug)]
pub(crate) struct UiSender {
    tx: std_mpsc::Sender<Ui>,
    waker: Waker,
}

impl UiSender {
    pub(crate) fn new(tx: std_mpsc::Sender<Ui>, waker: Waker) -> UiSender {
        UiSender { tx, waker }
    }

    pub(crate) fn send(&self, ui: Ui) {
        if self.tx.send(ui).is_ok() && !self.waker.wake() {
            tracing::debug!("the tray's event loop could not be woken; it catches up at its next message");
        }
    }
}

/// A click on the menu or the icon.
#[derive(Debug)]
pub(crate) enum Click {
    /// The menu entry with this layout ID.
    Entry(i32),
    /// Something to carry out at once (the icon opens the dashboard, as a notification's click does).
    Do(Action),
}

/// The icon and its menu, on the event loop's thread.
pub(crate) struct TrayUi {
    icon: TrayIcon,
    status: Status,
}

impl std::fmt::Debug for TrayUi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrayUi").field("status", &self.status).finish_non_exhaustive()
    }
}

fn icon_of(status: Status) -> Result<Icon, NativeError> {
    let (rgba, edge) = icon(status, ICON_SIZE);
    Ok(Icon::from_rgba(rgba, edge, edge)?)
}

fn menu(entries: &[Entry]) -> Result<Menu, NativeError> {
    let menu = Menu::new();
    for e in entries {
        match &e.label {
            Some(label) => menu.append(&MenuItem::with_id(menu_id(e.id), label, e.enabled, None))?,
            None => menu.append(&PredefinedMenuItem::separator())?,
        }
    }
    Ok(menu)
}

impl TrayUi {
    /// Shows the idle icon with the menu's fixed entries; clicks go to `clicks`. On Windows a left click opens
    /// the dashboard and the right one the menu (as the StatusNotifierItem's `Activate` and context menu); on
    /// macOS, where a status item's click opens its menu, the menu has the dashboard.
    pub(crate) fn new(clicks: mpsc::Sender<Click>) -> Result<TrayUi, NativeError> {
        let icon = TrayIconBuilder::new()
            .with_id("synccenter")
            .with_tooltip(format!("{TITLE}\n{}", view(Input::default(), false, Estimate::default()).tooltip))
            .with_icon(icon_of(Status::Passive)?)
            .with_menu(Box::new(menu(&Layout::default().entries())?))
            .with_menu_on_left_click(cfg!(target_os = "macos"))
            .build()?;
        let entries = clicks.clone();
        MenuEvent::set_event_handler(Some(move |e: MenuEvent| {
            if let Some(id) = entry_of(e.id().as_ref()) {
                forward(&entries, Click::Entry(id));
            }
        }));
        TrayIconEvent::set_event_handler(Some(move |e: TrayIconEvent| {
            if let TrayIconEvent::Click { button: MouseButton::Left, button_state: MouseButtonState::Up, .. } = e
                && !cfg!(target_os = "macos")
            {
                forward(&clicks, Click::Do(Action::Open { handler: None, session: None }));
            }
        }));
        Ok(TrayUi { icon, status: Status::Passive })
    }

    /// Applies one request; false when the loop is to end.
    pub(crate) fn apply(&mut self, ui: Ui) -> bool {
        let done = match ui {
            Ui::Quit => return false,
            Ui::View(v) => self.show(&v),
            Ui::Entries(entries) => menu(&entries).map(|m| self.icon.set_menu(Some(Box::new(m)))),
        };
        if let Err(e) = done {
            tracing::warn!(error = %e, "cannot update the tray icon");
        }
        true
    }

    fn show(&mut self, v: &View) -> Result<(), NativeError> {
        if v.status != self.status {
            self.icon.set_icon(Some(icon_of(v.status)?))?;
            self.status = v.status;
        }
        self.icon.set_tooltip(Some(format!("{TITLE}\n{}", v.tooltip)))?;
        Ok(())
    }
}

/// Hands a click to the runtime; the event handlers must not block the event loop, so a full queue drops it.
fn forward(clicks: &mpsc::Sender<Click>, click: Click) {
    if clicks.try_send(click).is_err() {
        tracing::warn!("the tray is busy; the click is dropped");
    }
}

/// Hands [`Live`]'s state to the tray's [`Task`] (what `follow` shows it on).
#[derive(Debug)]
pub(crate) struct Feed(pub(crate) watch::Sender<Input>);

impl Show for Feed {
    async fn show(&mut self, live: &Live) {
        let input = Input::of(live);
        self.0.send_if_modified(|old| std::mem::replace(old, input) != input);
    }

    async fn close(&mut self) {}
}

/// The tray's decisions, on the runtime.
#[derive(Debug)]
pub(crate) struct Task {
    pub(crate) client: Client,
    pub(crate) watched: Watched,
    pub(crate) clicks: mpsc::Receiver<Click>,
    pub(crate) ui: UiSender,
    pub(crate) layout: Layout,
    /// The error count the menu's failures were read at.
    pub(crate) failures: Option<u64>,
}

impl Task {
    pub(crate) async fn run(mut self) {
        // The idle view and the latest failures at once, before anything changes.
        self.update(Input::default(), view(Input::default(), false, Estimate::default())).await;
        loop {
            tokio::select! {
                next = self.watched.next() => match next {
                    Some((input, view)) => self.update(input, view).await,
                    None => return,
                },
                click = self.clicks.recv() => match click {
                    Some(Click::Entry(id)) => match self.layout.action(id) {
                        Some(action) => act(&self.client, action).await,
                        None => tracing::debug!(id, "a click on a menu entry that does nothing"),
                    },
                    Some(Click::Do(action)) => act(&self.client, action).await,
                    None => return,
                },
            }
        }
    }

    /// Sends the view and, when the error count changed, the menu with the latest failures.
    async fn update(&mut self, input: Input, view: View) {
        self.ui.send(Ui::View(view));
        if self.failures != Some(input.errors) {
            self.failures = Some(input.errors);
            if let Some(failures) = latest_failures(&self.client).await
                && self.layout.set_failures(failures)
            {
                self.ui.send(Ui::Entries(self.layout.entries()));
            }
        }
    }
}
