//! A private D-Bus session bus for a test (`dbus-daemon --session`), so that no test ever touches the machine's
//! own bus; it stops when dropped.

use std::process::Stdio;

use synccenter_test_support::HANG_GUARD;
use synccenter_test_support::component::{program, require};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub(super) struct PrivateBus {
    _child: Child,
    /// For `DBUS_SESSION_BUS_ADDRESS`.
    pub(super) address: String,
}

impl PrivateBus {
    /// Starts one, or `None` where `dbus-daemon` is missing outside CI.
    pub(super) async fn start() -> Option<PrivateBus> {
        let dbus = require("dbus-daemon", program("dbus-daemon"))?;
        let mut child = Command::new(dbus)
            .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start dbus-daemon");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let address = tokio::time::timeout(HANG_GUARD, lines.next_line()).await.expect("bus address").expect("read");
        let address = address.expect("dbus-daemon printed its address").trim().to_owned();
        Some(PrivateBus { _child: child, address })
    }
}
