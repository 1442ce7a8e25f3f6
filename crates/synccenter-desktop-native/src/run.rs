//! The native desktop's two halves: the system's event loop on the calling (main) thread, which owns the tray
//! icon, and a tokio runtime on a thread of its own, which talks to the daemon (the live state followed as on
//! Linux, the tray's decisions, the notifications) and hands the event loop what to show. The runtime ends the
//! loop when the daemon's connection closes or `shutdown` completes; a loop that ends first (the session ends)
//! stops the runtime.

use std::future::Future;
use std::path::PathBuf;
use std::sync::mpsc as std_mpsc;

use synccenter_client::Client;
use synccenter_client::methods::DesktopReportParams;
use synccenter_desktop::portable::{Input, Layout, Watched, follow};
use synccenter_protocol::api;
use tokio::sync::{mpsc, oneshot, watch};

use crate::error::NativeError;
use crate::pump;
use crate::toast::Toasts;
use crate::tray::{Click, Feed, Task, TrayUi, Ui, UiSender};

/// What the status line says of the tray.
const TRAY: &str = if cfg!(windows) { "in the notification area" } else { "in the menu bar" };

/// Runs the tray icon and the notifications for the daemon at `socket` until its connection closes or
/// `shutdown` completes. Call it on the main thread (macOS requires it; on Windows the thread's message loop
/// serves the icon): it runs the system's event loop there and the daemon's client on a runtime beside it.
pub fn run(socket: PathBuf, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), NativeError> {
    let events = pump::EventLoop::prepare()?;
    let (clicks_tx, clicks) = mpsc::channel(16);
    let mut tray = TrayUi::new(clicks_tx.clone())?;
    let (ui_tx, ui_rx) = std_mpsc::channel();
    let ui = UiSender::new(ui_tx, events.waker());
    let (stop_tx, stop) = oneshot::channel::<()>();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(NativeError::Runtime)?;
    let beside = std::thread::Builder::new()
        .name("synccenter-desktop".to_owned())
        .spawn(move || {
            let quit = ui.clone();
            let result = runtime.block_on(async move {
                tokio::select! {
                    r = serve(socket, ui, clicks, clicks_tx) => r,
                    () = shutdown => Ok(()),
                    _ = stop => Ok(()),
                }
            });
            quit.send(Ui::Quit);
            result
        })
        .map_err(NativeError::Runtime)?;
    events.run(|| {
        loop {
            match ui_rx.try_recv() {
                Ok(request) => {
                    if !tray.apply(request) {
                        return false;
                    }
                }
                Err(std_mpsc::TryRecvError::Disconnected) => return false,
                Err(std_mpsc::TryRecvError::Empty) => return true,
            }
        }
    });
    drop(stop_tx);
    beside.join().map_err(|_| NativeError::Panicked)?
}

/// The runtime's half: follows the live state for the tray, runs the tray's task and the notifications, until
/// the daemon's connection closes.
async fn serve(
    socket: PathBuf,
    ui: UiSender,
    clicks: mpsc::Receiver<Click>,
    clicks_tx: mpsc::Sender<Click>,
) -> Result<(), NativeError> {
    let client = Client::connect(&socket).await?;
    let live_feed = client.subscribe().await?;
    let ends = client.subscribe().await?;
    let toasts = Toasts::start(clicks_tx);
    let state = format!("tray: {}; {}", TRAY, toasts.state());
    tracing::info!(%state, "synccenter desktop");
    client.request::<api::DesktopReport>(&DesktopReportParams { state }).await?;
    let (input_tx, input) = watch::channel(Input::default());
    let task = Task {
        client: client.clone(),
        watched: Watched::new(input),
        clicks,
        ui,
        layout: Layout::default(),
        failures: None,
    };
    tokio::spawn(task.run());
    tokio::spawn(crate::notify::run(client.clone(), ends, toasts));
    follow(client, live_feed, Feed(input_tx)).await;
    tracing::info!("the daemon's connection closed");
    Ok(())
}
