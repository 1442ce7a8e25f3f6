//! The fixture of the browser tests: [`Setup`] holds a daemon serving the dashboard and a browser
//! ([`Browser`]) that owns its chromedriver process, plus helpers to wait on the DOM, click by
//! `data-testid`, take screenshots and send raw HTTP requests.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use synccenter_test_support::{HANG_GUARD, TestDaemon, program, require};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How often the DOM is polled while waiting.
const POLL: Duration = Duration::from_millis(50);

/// The Chromium binary (`CHROME_BIN`, else the first of Debian's and others' names on `PATH`), or why not.
fn chromium() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("CHROME_BIN").map(PathBuf::from).filter(|p| p.is_file()) {
        return Ok(p);
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|n| program(n).ok())
        .ok_or_else(|| "no `chromium` on PATH (install Debian's `chromium`, or set CHROME_BIN)".to_owned())
}

/// A chromedriver child process (in its own process group, so Chromium goes with it) and one session.
#[derive(Debug)]
pub(crate) struct Browser {
    pub(crate) client: Client,
    _driver: Driver,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and opens a fresh headless Chromium profile; `None` to skip.
    pub(crate) async fn start() -> Option<Browser> {
        let chrome = require("Chromium, for the browser tests", chromium())?;
        let driver_bin =
            require("chromedriver, for the browser tests (Debian's `chromium-driver`)", program("chromedriver"))?;
        let mut driver = Driver({
            use std::os::unix::process::CommandExt;
            Command::new(driver_bin)
                .arg("--port=0")
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .stdin(Stdio::null())
                .process_group(0)
                .spawn()
                .expect("start chromedriver")
        });
        let stdout = driver.0.stdout.take().expect("piped stdout");
        // chromedriver prints "... started successfully on port N." once it listens.
        let port = tokio::task::spawn_blocking(move || {
            let mut lines = BufReader::new(stdout).lines();
            let port = lines.by_ref().map_while(Result::ok).find_map(|l| {
                l.split_once("started successfully on port ")
                    .and_then(|(_, rest)| rest.trim_end_matches('.').trim().parse::<u16>().ok())
            });
            // Keep draining so chromedriver never blocks on a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            port
        });
        let port = tokio::time::timeout(HANG_GUARD, port)
            .await
            .expect("chromedriver did not start in time")
            .expect("reader task")
            .expect("chromedriver did not say its port");
        let profile_dir = tempfile::tempdir().expect("tempdir");
        let profile = profile_dir.path().display().to_string();
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chrome,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--hide-scrollbars", format!("--user-data-dir={profile}"),
                    "--window-size=1200,900",
                ],
            }),
        );
        let client = tokio::time::timeout(
            HANG_GUARD,
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps)
                .connect(&format!("http://127.0.0.1:{port}")),
        )
        .await
        .expect("browser session within the hang guard")
        .expect("open a browser session");
        Some(Browser { client, _driver: driver, _profile: profile_dir })
    }
}

/// The chromedriver child; killed with its process group (the browsers it started) on drop.
#[derive(Debug)]
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.0.id().cast_signed()) {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A daemon serving the dashboard, a logged-in browser and the dashboard's address and token.
#[derive(Debug)]
pub(crate) struct Setup {
    pub(crate) daemon: TestDaemon,
    pub(crate) browser: Browser,
    /// `127.0.0.1:PORT`.
    pub(crate) addr: String,
    pub(crate) token: String,
}

/// A loopback listener for a daemon's dashboard (`Config::http`), on a free port.
pub(crate) fn http_listener() -> Arc<std::net::TcpListener> {
    Arc::new(std::net::TcpListener::bind("127.0.0.1:0").expect("bind http"))
}

impl Setup {
    /// Starts the daemon and the browser without logging in; `None` to skip.
    pub(crate) async fn start_logged_out() -> Option<Setup> {
        let browser = Browser::start().await?;
        let daemon = TestDaemon::start_with(tempfile::tempdir().expect("tempdir"), |c| {
            c.http = Some(http_listener());
        })
        .await;
        Some(Self::with(daemon, browser).await)
    }

    /// Starts everything, logs in and waits for the page to be ready; `None` to skip.
    pub(crate) async fn start() -> Option<Setup> {
        let s = Self::start_logged_out().await?;
        s.log_in().await;
        Some(s)
    }

    /// A setup around a daemon started elsewhere with a dashboard listener ([`http_listener`]), not logged in.
    pub(crate) async fn with(daemon: TestDaemon, browser: Browser) -> Setup {
        let mut raw = daemon.raw().await;
        let status = raw.ok("status", json!({})).await;
        let addr = status["http"].as_str().expect("status.http").to_owned();
        let token = std::fs::read_to_string(daemon.data_dir.join("dashboard.token")).expect("token file");
        Setup { daemon, browser, addr, token: token.trim().to_owned() }
    }

    /// Logs in with the token and waits for the page to be ready.
    pub(crate) async fn log_in(&self) {
        self.goto(&format!("/login?token={}", self.token)).await;
        self.wait_js("return document.body.dataset.ready === 'true' && location.pathname === '/'", "page ready").await;
    }

    pub(crate) fn c(&self) -> &Client {
        &self.browser.client
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) async fn goto(&self, path: &str) {
        self.c().goto(&self.url(path)).await.expect("navigate");
    }

    /// Runs a script and returns its value (a returned promise is awaited by WebDriver).
    pub(crate) async fn js(&self, script: &str) -> Value {
        self.c().execute(script, vec![]).await.unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Polls `script` until it returns something truthy (not null/false/""/0) and returns that.
    pub(crate) async fn wait_js(&self, script: &str, what: &str) -> Value {
        let deadline = Instant::now() + HANG_GUARD;
        loop {
            let v = self.js(script).await;
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::String(s) => !s.is_empty(),
                Value::Number(n) => n.as_f64() != Some(0.0),
                _ => true,
            };
            if truthy {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; last value {v}\n{}", self.dump().await);
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the element with this `data-testid` exists.
    pub(crate) async fn wait_testid(&self, id: &str) {
        self.wait_js(&format!("return !!document.querySelector({})", sel(id)), &format!("[data-testid={id}]")).await;
    }

    /// Waits until the element with this `data-testid` is gone.
    pub(crate) async fn wait_gone(&self, id: &str) {
        self.wait_js(&format!("return !document.querySelector({})", sel(id)), &format!("[data-testid={id}] gone"))
            .await;
    }

    /// Waits until the element's attribute has this value.
    pub(crate) async fn wait_attr(&self, id: &str, attr: &str, value: &str) {
        let script = format!(
            "const e = document.querySelector({}); return !!e && e.getAttribute({}) === {};",
            sel(id),
            json!(attr),
            json!(value)
        );
        self.wait_js(&script, &format!("[data-testid={id}] {attr}={value}")).await;
    }

    /// Waits for the element, then clicks it through WebDriver (a real pointer click). The page re-renders
    /// views as updates arrive, so an element found may go stale before the click: then it is found again.
    pub(crate) async fn click(&self, id: &str) {
        let deadline = Instant::now() + HANG_GUARD;
        let css = format!("[data-testid=\"{id}\"]");
        loop {
            self.wait_js(
                &format!(
                    "const e = document.querySelector({}); return !!e && !e.disabled && e.offsetParent !== null",
                    sel(id)
                ),
                &format!("[data-testid={id}] clickable"),
            )
            .await;
            let clicked = match self.c().find(Locator::Css(&css)).await {
                Ok(e) => e.click().await,
                Err(e) => Err(e),
            };
            match clicked {
                Ok(()) => return,
                Err(e) if Instant::now() < deadline && is_retryable(&e) => tokio::time::sleep(POLL).await,
                Err(e) => panic!("click on [data-testid={id}] failed: {e}"),
            }
        }
    }

    /// Opens a tab (`handlers`, `sessions`, `results`, `conflicts`, `fleet`) and waits until it is shown.
    pub(crate) async fn tab(&self, name: &str) {
        self.click(&format!("tab-{name}")).await;
        self.wait_js(
            &format!("return document.getElementById('view-{name}')?.hidden === false && document.getElementById('view-{name}').children.length > 0"),
            &format!("view {name}"),
        )
        .await;
    }

    /// Saves a PNG of the window to `target/dashboard-screenshots/<name>.png`.
    pub(crate) async fn screenshot(&self, name: &str) -> PathBuf {
        // Let finite animations (the progress bars' width transition) finish, at most 2 s, and the last frame
        // paint (rendering is batched per animation frame).
        self.js(
            "const finite = document.getAnimations().filter((a) => a.effect?.getComputedTiming().iterations !== Infinity);
             const done = Promise.all(finite.map((a) => a.finished.catch(() => null)));
             return Promise.race([done, new Promise((r) => setTimeout(r, 2000))])
               .then(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true)))));",
        )
        .await;
        let png = self.c().screenshot().await.expect("screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("create the screenshot directory");
        let path = dir.join(format!("{name}.png"));
        // Write then rename, so parallel tests never leave a half-written file.
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        std::fs::write(&tmp, png).expect("write the screenshot");
        std::fs::rename(&tmp, &path).expect("rename the screenshot");
        path
    }

    /// Page state for failure messages.
    async fn dump(&self) -> String {
        let text = self
            .c()
            .execute("return document.querySelector('main')?.outerHTML.slice(0, 6000) ?? ''", vec![])
            .await
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .unwrap_or_default();
        format!("--- page text ---\n{text}")
    }

    /// Sends one raw HTTP/1.1 request to the dashboard and returns (status, whole response).
    pub(crate) async fn raw_http(&self, head: &str, body: &str) -> (u16, String) {
        let mut s = tokio::net::TcpStream::connect(&self.addr).await.expect("connect to the dashboard");
        let req = format!("{head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        s.write_all(req.as_bytes()).await.expect("write the request");
        let mut out = Vec::new();
        tokio::time::timeout(HANG_GUARD, s.read_to_end(&mut out)).await.expect("response in time").expect("read");
        let text = String::from_utf8_lossy(&out).into_owned();
        let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        (status, text)
    }
}

/// Errors of a click on an element that was re-rendered or briefly covered in the meantime.
fn is_retryable(e: &fantoccini::error::CmdError) -> bool {
    use fantoccini::error::{CmdError, ErrorStatus};
    matches!(
        e,
        CmdError::Standard(w) if matches!(
            w.error,
            ErrorStatus::StaleElementReference
                | ErrorStatus::NoSuchElement
                | ErrorStatus::ElementNotInteractable
                | ErrorStatus::ElementClickIntercepted
        )
    )
}

/// A JS expression selecting `[data-testid="<id>"]`.
pub(crate) fn sel(id: &str) -> String {
    json!(format!("[data-testid=\"{id}\"]")).to_string()
}

/// `<workspace>/target/dashboard-screenshots`.
pub(crate) fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/dashboard-screenshots")
}
