//! `synccenter run HANDLER ITEM -- CMD…`: a command as a sync session. It registers nothing (the handler and
//! item must exist), supervises one child as the root of its own process tree (a process group; a Job Object
//! on Windows), and turns the child's exit into the item's final status. A stop requested in Sync Center (or
//! SIGINT/SIGTERM to this process; Ctrl+C on Windows) sends SIGTERM to the whole group, then SIGKILL after the
//! grace period (on Windows the tree is terminated at once).
//!
//! It does not restart, retry or capture output: the child's stdio is inherited.

use std::time::Duration;

use anyhow::Context;
use serde_json::json;
use synccenter_client::{CancelWire, EventLevelWire, StatusWire};
use synccenter_platform::process::{self, Console, ProcessTree, StopSignals};

use crate::cli::RunArgs;
use crate::exit::Exit;
use crate::output;
use crate::verbs::Ctx;

/// How the child finished.
enum Outcome {
    Exited(std::process::ExitStatus),
    Cancelled,
}

/// Quotes `args` for display the way a POSIX shell would read them back.
pub(crate) fn shell_words(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            let plain = !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
            if plain { a.clone() } else { format!("'{}'", a.replace('\'', r"'\''")) }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn describe(status: std::process::ExitStatus) -> String {
    match (status.code(), process::exit_signal(&status)) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        (None, None) => "ended".to_owned(),
    }
}

/// SIGTERM to the group; SIGKILL to whatever is left of it after `grace`.
async fn stop_group(child: &mut tokio::process::Child, tree: &ProcessTree, grace: Duration) -> anyhow::Result<()> {
    tree.terminate();
    let deadline = tokio::time::Instant::now() + grace;
    if tokio::time::timeout_at(deadline, child.wait()).await.is_err() {
        tree.kill();
        child.wait().await.context("cannot wait for the command")?;
        return Ok(());
    }
    // The leader is gone; members that outlive it get what is left of the grace period. There is no event
    // for a group emptying, so this polls.
    while !tree.is_empty() {
        if tokio::time::Instant::now() >= deadline {
            tree.kill();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// `run`.
pub(crate) async fn run(ctx: &Ctx, args: RunArgs) -> anyhow::Result<u8> {
    let client = ctx.connect().await?;
    let what = format!("{}/{}", args.handler, args.item);
    let cmdline = shell_words(&args.command);
    let session = client
        .create_session(&args.handler, [args.item.clone()])
        .await
        .with_context(|| format!("cannot create a session of {what}"))?;
    let id = session.id().to_owned();
    session.report_progress(&args.item, StatusWire::UpdatingIndeterminate, Some(&cmdline), 0, 0)?;

    let mut cmd = tokio::process::Command::new(&args.command[0]);
    cmd.args(&args.command[1..]);
    process::prepare(&mut cmd, Console::Inherit);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            session.report_progress(&args.item, StatusWire::Failed, Some(""), 0, 0)?;
            let description = format!("cannot run `{cmdline}`: {e}");
            session.report_event(Some(&args.item), EventLevelWire::Error, "command failed", &description).await?;
            session.end().await?;
            return Err(e).with_context(|| format!("cannot run `{cmdline}`"));
        }
    };
    let tree = ProcessTree::adopt(&mut child).with_context(|| format!("cannot supervise `{cmdline}`"))?;
    let mut stop_signals = StopSignals::install().context("cannot handle SIGINT and SIGTERM")?;
    let outcome = loop {
        tokio::select! {
            status = child.wait() => break Outcome::Exited(status.context("cannot wait for the command")?),
            push = session.cancelled() => match push {
                Ok(p) if p.cancel == CancelWire::None => {}
                Ok(_) => break Outcome::Cancelled,
                Err(e) => {
                    // The daemon is gone: nobody can see the sync any more, so do not leave the command behind.
                    tree.kill();
                    let _ = child.wait().await;
                    return Err(e).context("lost the connection to the daemon; the command was killed");
                }
            },
            _ = stop_signals.recv() => break Outcome::Cancelled,
        }
    };

    let (code, exit_status) = match outcome {
        Outcome::Cancelled => {
            stop_group(&mut child, &tree, Duration::from_secs(args.grace)).await?;
            session.report_progress(&args.item, StatusWire::Canceled, Some("stopped"), 0, 0)?;
            (Exit::CANCELLED, None)
        }
        Outcome::Exited(status) if status.success() => {
            // What the command left running on purpose after it ended is not ours to stop.
            tree.release();
            session.report_progress(&args.item, StatusWire::Succeeded, Some(""), 0, 0)?;
            (Exit::OK, Some(status))
        }
        Outcome::Exited(status) => {
            tree.release();
            session.report_progress(&args.item, StatusWire::Failed, Some(""), 0, 0)?;
            let description = format!("`{cmdline}` {}", describe(status));
            session
                .report_event(Some(&args.item), EventLevelWire::Error, "command failed", &description)
                .await
                .context("cannot report the failure")?;
            (Exit::SYNC_FAILED, Some(status))
        }
    };
    let end = session.end().await.context("cannot end the session")?;
    if ctx.json {
        output::json(&json!({
            "session": id,
            "status": end.status,
            "errors": end.errors,
            "conflicts": end.conflicts,
            "exit_code": exit_status.and_then(|s| s.code()),
            "signal": exit_status.and_then(|s| process::exit_signal(&s)),
            "cancelled": code == Exit::CANCELLED,
        }))?;
    } else if code != Exit::OK {
        let how = exit_status.map_or_else(|| "stopped".to_owned(), describe);
        output::note(&format!("synccenter: {what}: {} (the command {how})", end.status.name()));
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::shell_words;

    #[test]
    fn command_lines_are_quoted_for_display() {
        let args: Vec<String> = ["sh", "-c", "echo it's $HOME", ""].iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(shell_words(&args), r#"sh -c 'echo it'\''s $HOME' ''"#);
    }
}
