//! Run conditions on the page: a command item whose due run waits for an absent target shows `waiting` with the
//! reason on its handler and its row, and the header counts it; once the target exists the run happens and the
//! badges go.

use crate::harness::{Browser, Setup, http_listener, sel};
use synccenter_test_support::TestDaemon;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_item_shows_why_until_its_target_is_there() {
    let Some(browser) = Browser::start().await else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("usb");
    let config = dir.path().join("config.toml");
    let toml = format!(
        "[[handler]]\nid = \"laptop\"\nname = \"Laptop\"\n\n[[handler.item]]\nid = \"backup\"\nname = \"Backup\"\n\
         kind = \"script\"\ncommand = [\"true\"]\nschedule = {{ every = \"24h\" }}\nrequires = [{:?}]\n",
        target.display().to_string()
    );
    std::fs::write(&config, toml).expect("write config.toml");
    let daemon = TestDaemon::start_with(dir, |c| {
        c.http = Some(http_listener());
        c.config_file = Some(config);
    })
    .await;
    let s = Setup::with(daemon, browser).await;
    s.log_in().await;
    let why = format!("waiting: {} is absent", target.display());
    let text = |id: &str| format!("document.querySelector({})?.textContent", sel(id));
    s.wait_js(&format!("return {} === {why:?}", text("waiting-laptop")), "the handler's waiting badge").await;
    s.wait_js(&format!("return {}?.includes('1 waiting')", text("status-summary")), "the count").await;
    s.click("expand-laptop").await;
    s.wait_js(&format!("return {} === {why:?}", text("waiting-laptop-backup")), "the item's waiting badge").await;
    s.screenshot("waiting").await;

    std::fs::create_dir(&target).expect("the target appears");
    s.wait_gone("waiting-laptop-backup").await;
    s.wait_gone("waiting-laptop").await;
}
