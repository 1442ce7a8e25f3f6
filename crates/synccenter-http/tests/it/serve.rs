//! The accept loop over real TCP: a slowloris is cut off by the header timeout while others are served.

use std::time::{Duration, Instant};

use synccenter_http::{ServeOptions, serve_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::{HOST, setup};

#[tokio::test]
async fn a_slowloris_is_cut_off_while_others_are_served() {
    let (_d, _dash, app) = setup().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let options = ServeOptions { header_read_timeout: Duration::from_millis(600), ..ServeOptions::default() };
    let server = tokio::spawn(serve_with(listener, app, async move { drop(stop_rx.await) }, options));

    let started = Instant::now();
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
    tokio::time::timeout(Duration::from_secs(10), fast.read_to_end(&mut answer)).await.unwrap().unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("x-frame-options: deny"));

    // The slow one is closed once its head is overdue, although it keeps sending.
    let mut sink = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), slow_read.read_to_end(&mut sink)).await;
    assert!(closed.is_ok(), "the slowloris connection stayed open");
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(500) && elapsed < Duration::from_secs(5), "{elapsed:?}");
    dribble.abort();

    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server).await.unwrap().unwrap().unwrap();
}
