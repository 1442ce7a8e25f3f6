//! The socket against real senders: this process (outside any run) and a child run as its own tree.

use std::io::Read;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use tokio::process::Command;

use super::*;
use crate::process::{Console, prepare};

/// No wait of these tests may take longer, whatever goes wrong.
const HANG_GUARD: Duration = Duration::from_secs(30);

async fn next(socket: &NotifySocket, buf: &mut [u8], tree: &ProcessTree) -> Datagram {
    tokio::time::timeout(HANG_GUARD, socket.recv(buf, tree)).await.expect("a datagram").expect("recv")
}

/// A child of this process that sends one datagram to `NOTIFY_SOCKET` and exits, as its own tree.
async fn sending_child(socket: &NotifySocket, text: &str) -> (tokio::process::Child, ProcessTree) {
    let mut cmd = Command::new(std::env::current_exe().expect("test binary"));
    cmd.args(["--exact", "notify::tests::sender_helper", "--ignored", "--nocapture", "--test-threads=1"])
        .env("NOTIFY_SOCKET", socket.path())
        .env("SENDER_TEXT", text)
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true);
    prepare(&mut cmd, Console::Detached);
    let mut child = cmd.spawn().expect("spawn");
    let tree = ProcessTree::adopt(&mut child).expect("adopt");
    (child, tree)
}

/// Not a test: sends `$SENDER_TEXT` to `$NOTIFY_SOCKET` (see `sending_child`).
#[test]
#[ignore = "a helper process of the notify tests"]
fn sender_helper() {
    if let (Some(path), Some(text)) = (std::env::var_os("NOTIFY_SOCKET"), std::env::var_os("SENDER_TEXT")) {
        let s = UnixDatagram::unbound().expect("socket");
        s.send_to(text.as_encoded_bytes(), path).expect("send");
    }
}

#[tokio::test]
async fn a_datagram_of_the_runs_tree_is_its_own_and_one_from_outside_is_not() {
    let socket = NotifySocket::bind().expect("bind");
    let mut buf = [0u8; 64];
    let (mut child, tree) = sending_child(&socket, "STATUS=from the run").await;
    let d = next(&socket, &mut buf, &tree).await;
    assert_eq!(&buf[..d.len], b"STATUS=from the run");
    assert!(d.from_tree, "{d:?}");
    assert_eq!(d.sender, child.id());
    let _ = child.wait().await;

    // This process is outside the child's tree.
    let outsider = UnixDatagram::unbound().expect("socket");
    outsider.send_to(b"STATUS=forged", socket.path()).expect("send");
    let d = next(&socket, &mut buf, &tree).await;
    assert_eq!(&buf[..d.len], b"STATUS=forged");
    assert!(!d.from_tree, "{d:?}");
    assert_eq!(d.sender, Some(std::process::id()));
}

#[tokio::test]
async fn passed_descriptors_are_closed_and_long_datagrams_cut() {
    let socket = NotifySocket::bind().expect("bind");
    let (mut child, tree) = sending_child(&socket, "READY=1").await;
    let mut buf = [0u8; 16];
    let _ = next(&socket, &mut buf, &tree).await;
    let _ = child.wait().await;
    // BARRIER=1 as sd_notify_barrier sends it: the write end of a pipe, which the receiver must close.
    let (mut read_end, write_end) = std::io::pipe().expect("pipe");
    let sender = UnixDatagram::unbound().expect("socket");
    sender.connect(socket.path()).expect("connect");
    {
        use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags, sendmsg};
        use std::os::fd::AsFd;
        let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        let fds = [write_end.as_fd()];
        assert!(control.push(SendAncillaryMessage::ScmRights(&fds)));
        sendmsg(&sender, &[std::io::IoSlice::new(b"BARRIER=1")], &mut control, SendFlags::empty()).expect("sendmsg");
    }
    drop(write_end);
    let d = next(&socket, &mut buf, &tree).await;
    assert_eq!((d.len, d.descriptors), (9, 1));
    // End of file only once every write end is closed: the receiver's copy too.
    let eof = tokio::task::spawn_blocking(move || read_end.read(&mut [0u8; 1]).expect("read"));
    assert_eq!(tokio::time::timeout(HANG_GUARD, eof).await.expect("the barrier was released").expect("join"), 0);

    sender.send(&[b'A'; 100]).expect("send");
    let d = next(&socket, &mut buf, &tree).await;
    assert_eq!(d.len, 100, "the length as sent, though the buffer holds 16");

    let path = socket.path().to_owned();
    let dir = path.parent().expect("dir").to_owned();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&dir).expect("dir").permissions()) & 0o777,
        0o700
    );
    drop(socket);
    assert!(!path.exists() && !dir.exists(), "the socket and its directory are removed");
}
