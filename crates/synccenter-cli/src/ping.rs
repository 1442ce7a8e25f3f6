//! `synccenter ping-url HANDLER ITEM`: where a job that speaks only HTTP sends its Healthchecks-style pings for
//! one item (`ping.url`). The URL is derived by the daemon from its ping secret; this only prints it.

use anyhow::Context;

use crate::exit::Exit;
use crate::output;
use crate::verbs::Ctx;

/// `ping-url HANDLER ITEM`.
pub(crate) async fn ping_url(ctx: &Ctx, handler: &str, item: &str) -> anyhow::Result<u8> {
    let client = ctx.connect().await?;
    let r = client.ping_url(handler, item).await.with_context(|| format!("no ping URL for {handler}/{item}"))?;
    if ctx.json {
        output::json(&r)?;
        return Ok(Exit::OK);
    }
    match (&r.url, &r.slug_url, &r.push_url) {
        (Some(url), Some(slug_url), Some(push_url)) => {
            output::lines(&[url.clone(), format!("by slug:     {slug_url}"), format!("Uptime Kuma: {push_url}")])?
        }
        _ => {
            output::line(&r.path)?;
            output::note("the dashboard is off, so there is no URL yet: start the daemon with --http ADDR");
        }
    }
    Ok(Exit::OK)
}
