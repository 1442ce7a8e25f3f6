//! A hostile page on another loopback origin (another port of 127.0.0.1, which browsers treat as the same
//! *site*, so the dashboard's `SameSite=Strict` cookie goes along) tries everything a page can: credentialed
//! reads of the API with `fetch` and `XMLHttpRequest`, the live stream with `EventSource`, state changes
//! with simple and preflighted POSTs and a form. The page writes what it got into its DOM; the test asserts
//! that nothing was readable and that the daemon did not change.

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::Setup;

/// The attack page; `@DASHBOARD@` is replaced by the dashboard's origin.
const PAGE: &str = r#"<!doctype html>
<html><body>
<iframe name="sink" style="display:none"></iframe>
<form id="f" method="post" target="sink" action="@DASHBOARD@/api/v1/control/pause" enctype="text/plain">
  <input name='{"handler":"nas","x":"' value='"}'>
</form>
<script>
window.onerror = (m) => { document.body.dataset.error = String(m); };
const dash = "@DASHBOARD@";
var results = {};
const settle = (name, p) => p.then((v) => { results[name] = v; }, (e) => { results[name] = "error: " + e; })
  .then(() => { document.body.dataset.partial = JSON.stringify(results); });
const read = (r) => r.text().then((t) => ({status: r.status, type: r.type, body: t}));
const stream = () => new Promise((resolve) => {
  const got = [];
  const es = new EventSource(dash + "/api/v1/stream", {withCredentials: true});
  es.onmessage = (e) => got.push(e.data);
  es.addEventListener("snapshot", (e) => got.push(e.data));
  es.addEventListener("update", (e) => got.push(e.data));
  es.onerror = () => { es.close(); resolve({error: true, got}); };
  setTimeout(() => { es.close(); resolve({error: false, got}); }, 3000);
});
const xhr = () => new Promise((resolve) => {
  const x = new XMLHttpRequest();
  x.withCredentials = true;
  x.open("GET", dash + "/api/v1/handlers");
  x.onload = () => resolve({status: x.status, body: x.responseText});
  x.onerror = () => resolve({status: x.status, body: x.responseText, error: true});
  x.send();
});
document.getElementById("f").submit();
Promise.all([
  settle("cors_get", fetch(dash + "/api/v1/handlers", {credentials: "include"}).then(read)),
  settle("no_cors_get", fetch(dash + "/api/v1/handlers", {credentials: "include", mode: "no-cors"}).then(read)),
  settle("metrics", fetch(dash + "/metrics", {credentials: "include"}).then(read)),
  settle("simple_post", fetch(dash + "/api/v1/control/stop", {method: "POST", credentials: "include", mode: "no-cors",
    headers: {"Content-Type": "text/plain"}, body: '{"handler":"nas"}'}).then(read)),
  settle("json_post", fetch(dash + "/api/v1/control/pause", {method: "POST", credentials: "include",
    headers: {"Content-Type": "application/json"}, body: '{"handler":"nas"}'}).then(read)),
  settle("xhr", xhr()),
  settle("stream", stream()),
]).then(() => {
  document.body.dataset.results = JSON.stringify(results);
  document.body.dataset.done = "true";
});
</script>
</body></html>"#;

/// Serves `page` to every request on a fresh loopback port; returns its origin.
async fn serve_attack_page(page: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the attack page");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let page = page.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                    page.len()
                );
                let _ = s.write_all(response.as_bytes()).await;
            });
        }
    });
    origin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_another_origin_can_neither_read_nor_change_anything() {
    let Some(s) = Setup::start().await else { return };
    let mut owner = s.daemon.raw().await;
    owner.setup("nas", &["docs"], json!({})).await;
    let session = owner.session("nas", &["docs"]).await;
    // The browser holds the dashboard's cookie: the logged-in page reads the API.
    let own = s.js("return fetch('/api/v1/handlers').then((r) => r.text())").await;
    assert!(own.as_str().is_some_and(|t| t.contains("\"nas\"")), "{own}");

    let origin = serve_attack_page(PAGE.replace("@DASHBOARD@", &format!("http://{}", s.addr))).await;
    s.c().goto(&format!("{origin}/")).await.expect("open the attack page");
    s.wait_js("return document.body.dataset.done === 'true'", "the attack page finished").await;
    let results: Value =
        serde_json::from_str(s.js("return document.body.dataset.results").await.as_str().expect("results"))
            .expect("JSON");

    // Nothing came back: every credentialed read failed or was opaque, the stream delivered nothing.
    let text = results.to_string();
    assert!(!text.contains("nas") && !text.contains(&s.token), "the attack page read something: {results}");
    // A failed fetch, or an opaque response with nothing in it (Cross-Origin-Resource-Policy makes even
    // no-cors reads fail in Chromium).
    for name in ["cors_get", "no_cors_get", "metrics", "simple_post", "json_post"] {
        let r = &results[name];
        let nothing = r.as_str().is_some_and(|e| e.starts_with("error")) || (r["type"] == "opaque" && r["body"] == "");
        assert!(nothing, "{name}: {results}");
    }
    assert_eq!(results["xhr"]["status"], 0, "{results}");
    assert_eq!(results["stream"]["got"], json!([]), "{results}");

    // And nothing changed: no pause, no stop reached the owner.
    let handlers = owner.ok("handler.list", json!({})).await;
    assert_eq!(handlers["handlers"][0]["paused"], false, "{handlers}");
    let live = owner.ok("sessions.list", json!({})).await;
    assert_eq!(live["sessions"][0]["session"], session.as_str());
    assert_eq!(live["sessions"][0]["stop_all"], false, "{live}");
}
