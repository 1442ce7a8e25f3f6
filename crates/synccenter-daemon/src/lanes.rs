//! Two lanes for the daemon's work, so that control never waits behind progress. The *control lane* is a
//! thread of its own with a single-threaded runtime: it accepts connections (so their sockets are registered
//! with its I/O driver, which it polls whenever it has nothing to run), reads every quiet connection, writes
//! every reply and push, and runs the hub. The *bulk lane* is the runtime `run` was called on: a connection
//! whose reads come back full (a flood) or carry nothing but running progress (a chatty reporter) parses
//! there, and goes back to the control lane with a read that drained the socket and brought a call. A stop or a
//! `status` from a quiet connection is therefore read, applied and answered by a thread that never parses a
//! flood, whatever other connections send; the operating system's scheduler shares the cores between that
//! thread and the bulk lane's.

use std::future::Future;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

/// Where a connection's reading runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lane {
    Control,
    Bulk,
}

/// The control lane's thread and runtime; stops (its remaining tasks dropped) when dropped.
#[derive(Debug)]
pub(crate) struct ControlLane {
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
}

impl ControlLane {
    /// Starts the lane's thread.
    pub(crate) fn start() -> std::io::Result<ControlLane> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        // The runtime lives and is dropped on its own thread (a runtime may not be dropped inside another).
        std::thread::Builder::new().name("synccenter-control".into()).spawn(move || {
            runtime.block_on(async {
                let _ = stopped.await;
            });
        })?;
        Ok(ControlLane { handle, stop: Some(stop) })
    }

    /// Runs `task` on the lane.
    pub(crate) fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(task)
    }
}

impl Drop for ControlLane {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_run_on_the_lanes_thread_and_are_dropped_with_the_lane() {
        let here = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let lane = ControlLane::start().expect("the control lane");
        let name = here.block_on(lane.spawn(async { std::thread::current().name().map(str::to_owned) }));
        assert_eq!(name.expect("ran").as_deref(), Some("synccenter-control"));
        let waiting = lane.spawn(std::future::pending::<()>());
        drop(lane);
        let ended = here.block_on(waiting).expect_err("a task left on a stopped lane ends");
        assert!(ended.is_cancelled(), "{ended}");
    }
}
