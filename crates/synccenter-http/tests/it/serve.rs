//! The accept loop over real TCP: a slowloris is cut off by the header timeout while others are served.

use std::time::Duration;

use synccenter_http::{ServeOptions, serve_with};
use synccenter_test_support::HANG_GUARD;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::{HOST, setup};

/// The header timeout of the test's server: far longer than a normal request takes even on a loaded machine,
/// so the normal request is answered while the slowloris is still connected (the only bound the test
/// depends on), and far shorter than [`HANG_GUARD`], which bounds every wait.
const HEAD_TIMEOUT: Duration = Duration::from_secs(3);

/// Nothing is asserted about elapsed time: the normal request is answered while the slowloris is still
/// connected, the slowloris is then closed although it keeps sending (a server without the header timeout
/// never closes it: the hang guard fails the test), and the close carries no response (so it is not a
/// refusal of the dribbled header).
#[tokio::test]
async fn a_slowloris_is_cut_off_while_others_are_served() {
    let (_d, _dash, app) = setup().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let options = ServeOptions { header_read_timeout: HEAD_TIMEOUT, ..ServeOptions::default() };
    let server = tokio::spawn(serve_with(listener, app, async move { drop(stop_rx.await) }, options));

    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    let (mut slow_read, mut slow_write) = slow.into_split();
    let dribble = tokio::spawn(async move {
        for b in
            b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter().cycle()
        {
            if slow_write.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });

    // Meanwhile a normal request is answered.
    let mut fast = TcpStream::connect(addr).await.unwrap();
    let req = format!("GET /style.css HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n");
    fast.write_all(req.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(HANG_GUARD, fast.read_to_end(&mut answer))
        .await
        .expect("the normal request was not answered within the hang guard")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("x-frame-options: deny"));
    // ... while the slowloris is still connected: nothing to read yet, and no end of stream.
    let mut probe = [0u8; 1];
    match slow_read.try_read(&mut probe) {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the slowloris was answered or closed before the normal request was served: {other:?}"),
    }

    // The slow one is closed once its head is overdue, although it keeps sending, and without a response.
    let mut sink = Vec::new();
    let closed = tokio::time::timeout(HANG_GUARD, slow_read.read_to_end(&mut sink))
        .await
        .expect("the slowloris connection stayed open past the hang guard");
    // Closed with bytes of the dribble still unread on the server's side, the socket may end with a reset.
    match closed {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the slowloris connection failed otherwise: {e}"),
    }
    assert!(!dribble.is_finished(), "the slowloris stopped sending before it was cut off");
    assert_eq!(String::from_utf8_lossy(&sink), "", "the slowloris was answered instead of cut off");
    dribble.abort();

    stop_tx.send(()).unwrap();
    tokio::time::timeout(HANG_GUARD, server).await.expect("the server stops").unwrap().unwrap();
}
