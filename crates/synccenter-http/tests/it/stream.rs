//! The live stream: snapshot, updates with ids, and resuming with `Last-Event-ID` or `?since=`.

use axum::body::Body;
use axum::http::{StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use synccenter_test_support::HANG_GUARD;

use crate::{call, get, setup};

#[derive(Debug)]
struct SseEvent {
    event: String,
    id: Option<String>,
    data: String,
}

struct SseReader {
    body: Body,
    buf: String,
}

impl SseReader {
    fn new(body: Body) -> SseReader {
        SseReader { body, buf: String::new() }
    }

    /// The next event (comments skipped); `None` when the stream ended.
    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut ev = SseEvent { event: "message".into(), id: None, data: String::new() };
                let mut any = false;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        ev.event = v.trim().to_owned();
                        any = true;
                    } else if let Some(v) = line.strip_prefix("id:") {
                        ev.id = Some(v.trim().to_owned());
                        any = true;
                    } else if let Some(v) = line.strip_prefix("data:") {
                        ev.data.push_str(v.trim_start());
                        any = true;
                    }
                }
                if any {
                    return Some(ev);
                }
                continue;
            }
            let frame = tokio::time::timeout(HANG_GUARD, self.body.frame()).await.expect("hang guard")?;
            if let Ok(data) = frame.expect("frame").into_data() {
                self.buf.push_str(std::str::from_utf8(&data).expect("utf-8"));
            }
        }
    }

    async fn next_update(&mut self) -> (String, Value) {
        let ev = self.next().await.expect("stream open");
        assert_eq!(ev.event, "update", "{ev:?}");
        (ev.id.expect("update id"), serde_json::from_str(&ev.data).expect("JSON data"))
    }

    /// Updates until one names `handler`; returns their ids.
    async fn updates_until_handler(&mut self, handler: &str) -> Vec<String> {
        let mut ids = Vec::new();
        loop {
            let (id, data) = self.next_update().await;
            ids.push(id);
            if data["handler"] == handler {
                return ids;
            }
        }
    }
}

async fn open(app: &axum::Router, last_event_id: Option<&str>) -> SseReader {
    let mut req = get("/api/v1/stream");
    if let Some(id) = last_event_id {
        req.headers_mut().insert("last-event-id", id.parse().unwrap());
    }
    let resp = call(app, req).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/event-stream"));
    SseReader::new(resp.into_body())
}

#[tokio::test]
async fn snapshot_then_updates_with_ids_and_exact_resume() {
    let (d, dash, app) = setup().await;
    let mut raw = d.raw().await;
    raw.setup("first", &["a"], json!({})).await;

    let mut s1 = open(&app, None).await;
    let snap = s1.next().await.expect("snapshot");
    assert_eq!(snap.event, "snapshot");
    let snap_id = snap.id.expect("snapshot id");
    assert!(snap_id.starts_with(&format!("{}-", dash.epoch())), "{snap_id}");
    let data: Value = serde_json::from_str(&snap.data).unwrap();
    assert!(data["handlers"].as_array().unwrap().iter().any(|h| h["handler"] == "first"), "{data}");
    assert!(data["sessions"].is_array());

    raw.setup("second", &["b"], json!({})).await;
    let before = s1.updates_until_handler("second").await;
    raw.setup("third", &["c"], json!({})).await;
    let missed = s1.updates_until_handler("third").await;
    let seqs: Vec<u64> =
        before.iter().chain(&missed).map(|id| id.rsplit_once('-').unwrap().1.parse().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "ids increase: {seqs:?}");

    // Reconnect after the last update of "second": exactly the "third" updates, then live ones.
    let resume_from = before.last().unwrap().clone();
    let mut s2 = open(&app, Some(&resume_from)).await;
    let mut got = Vec::new();
    for _ in 0..missed.len() {
        got.push(s2.next_update().await.0);
    }
    assert_eq!(got, missed);
    raw.setup("fourth", &["d"], json!({})).await;
    let (next_id, data) = s2.next_update().await;
    assert!(!missed.contains(&next_id), "no duplicate: {next_id}");
    assert_eq!(data["seq"].as_u64(), next_id.rsplit_once('-').unwrap().1.parse().ok());

    // `?since=` does the same.
    let mut s3 = SseReader::new(call(&app, get(&format!("/api/v1/stream?since={resume_from}"))).await.into_body());
    assert_eq!(s3.next_update().await.0, missed[0]);

    // An id of another epoch (or garbage) gets a fresh snapshot.
    let mut s4 = open(&app, Some("19990101.0-3")).await;
    assert_eq!(s4.next().await.unwrap().event, "snapshot");
}

#[tokio::test]
async fn a_daemon_restart_resets_live_streams_and_starts_a_new_epoch() {
    let (d, dash, app) = setup().await;
    let epoch = dash.epoch();
    let mut s = open(&app, None).await;
    assert_eq!(s.next().await.unwrap().event, "snapshot");

    let dir = d.stop().await;
    let ev = s.next().await.expect("daemon event");
    assert_eq!(ev.event, "daemon", "{ev:?}");
    let d2 = synccenter_test_support::TestDaemon::start_in(dir).await;
    let ev = s.next().await.expect("reset event");
    assert_eq!(ev.event, "reset", "{ev:?}");
    assert!(s.next().await.is_none(), "the stream ends after a reset");
    assert_ne!(dash.epoch(), epoch);

    let mut s2 = open(&app, Some(&format!("{epoch}-1"))).await;
    let ev = s2.next().await.unwrap();
    assert_eq!(ev.event, "snapshot");
    assert!(ev.id.unwrap().starts_with(&dash.epoch()));
    let status = call(&app, get("/api/v1/status")).await;
    assert_eq!(status.status(), StatusCode::OK);
    drop(d2);
}
