//! Issue 20: progress in people's units on the dashboard (bytes in GiB, files as files, a rate and a time left
//! that stays `unknown` until it can be known), and a layout that uses a 1400 px desktop screen and reads on a
//! 375 px phone without sideways scrolling. The screenshots `dashboard-1400.png` and `dashboard-375.png` (and
//! the Sync Center view's `handlers-1400.png`, `handlers-375.png`) are copied into `docs/images/` for
//! `docs/dashboard.md`.

use serde_json::{Value, json};

use crate::harness::{Setup, sel};

const GIB: u64 = 1024 * 1024 * 1024;

/// Nothing is wider than the viewport: no sideways scrolling, and no element's right edge beyond it.
const OVERFLOW: &str = "const w = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll('main *, header *')].filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > w + 0.5);
    return { inner: window.innerWidth, scroll: document.documentElement.scrollWidth, client: w,
             wide: wide.slice(0, 5).map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`) };";

/// How many columns the first cards of a grid fill (distinct left edges among those on the first row).
fn columns(grid: &str) -> String {
    format!(
        "const cards = [...document.querySelector({}).children];
         const top = Math.min(...cards.map((c) => c.getBoundingClientRect().top));
         return new Set(cards.filter((c) => Math.abs(c.getBoundingClientRect().top - top) < 2).map((c) => Math.round(c.getBoundingClientRect().left))).size;",
        sel(grid)
    )
}

async fn fits(s: &Setup, view: &str) {
    let o = s.js(OVERFLOW).await;
    assert_eq!(o["inner"], 375, "the viewport is a phone's: {o}");
    assert!(o["scroll"].as_u64() <= o["client"].as_u64(), "{view} scrolls sideways at 375 px: {o}");
    assert_eq!(o["wide"], json!([]), "{view}: elements beyond the right edge at 375 px: {o}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_reads_in_units_and_the_layout_fits_a_desktop_and_a_phone() {
    let Some(s) = Setup::start().await else { return };
    let mut owner = s.daemon.raw().await;
    for h in ["nas", "laptop", "camera", "music"] {
        owner.setup(h, &["docs", "photos"], json!({})).await;
    }
    let sid = owner.session("nas", &["docs", "photos"]).await;
    let report = |item: &str, extra: Value| {
        let mut p = json!({"session": sid, "item": item, "status": "updating"});
        if let (Some(p), Some(e)) = (p.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        p
    };
    owner
        .ok(
            "session.report_progress",
            report("docs", json!({"unit": "bytes", "done": 2 * GIB, "total": 8 * GIB, "text": "Copying photos.zip"})),
        )
        .await;
    owner.ok("session.report_progress", report("photos", json!({"unit": "files", "step": 120, "max_step": 400}))).await;
    s.tab("sessions").await;
    let docs = format!("steps-{sid}-docs");
    let text = |id: &str| format!("(document.querySelector({})?.textContent ?? '')", sel(id));
    s.wait_js(&format!("return {}.startsWith('2.0 GiB of 8.0 GiB')", text(&docs)), "bytes in GiB").await;
    s.wait_js(
        &format!("return {}.startsWith('120 of 400 files')", text(&format!("steps-{sid}-photos"))),
        "files as files",
    )
    .await;
    // A second report: now the page has a rate; the time left is said (known or `unknown`), never a bare number.
    owner
        .ok("session.report_progress", report("docs", json!({"unit": "bytes", "done": 3 * GIB, "total": 8 * GIB})))
        .await;
    let line = s.wait_js(&format!("const t = {}; return t.includes('GiB/s') ? t : false", text(&docs)), "a rate").await;
    let line = line.as_str().unwrap_or_default().to_owned();
    assert!(line.starts_with("3.0 GiB of 8.0 GiB, "), "{line}");
    assert!(line.ends_with(" left") || line.ends_with("time left unknown"), "{line}");
    // The bar's accessible text says the same in words.
    let aria = s
        .js(&format!(
            "return document.querySelector({}).getAttribute('aria-valuetext')",
            sel(&format!("progress-{sid}-docs"))
        ))
        .await;
    assert_eq!(aria, "3.0 GiB of 8.0 GiB");

    // A desktop: the page uses the screen's width, and the cards sit side by side.
    s.c().set_window_size(1400, 900).await.expect("resize");
    s.wait_js("return window.innerWidth === 1400", "a 1400 px viewport").await;
    let main = s.js("return document.querySelector('main').getBoundingClientRect().width").await;
    assert!(main.as_f64().unwrap_or(0.0) >= 1300.0, "main is {main} px wide on a 1400 px screen");
    s.screenshot("dashboard-1400").await;
    s.tab("handlers").await;
    s.wait_testid("handler-list").await;
    let cols = s.js(&columns("handler-list")).await;
    assert!(cols.as_u64() >= Some(3), "{cols} columns of cards at 1400 px");
    s.screenshot("handlers-1400").await;

    // A phone: one column, nothing wider than the screen.
    s.c().set_window_size(375, 812).await.expect("resize");
    s.wait_js("return window.innerWidth === 375", "a 375 px viewport").await;
    fits(&s, "the Sync Center view").await;
    assert_eq!(s.js(&columns("handler-list")).await, 1);
    s.screenshot("handlers-375").await;
    s.tab("sessions").await;
    fits(&s, "the live sessions").await;
    s.screenshot("dashboard-375").await;
    s.c().set_window_size(1200, 900).await.expect("resize");
}
