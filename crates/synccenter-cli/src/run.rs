//! `synccenter run HANDLER ITEM -- CMD…`: a command as a sync session. It registers nothing (the handler and
//! item must exist), supervises one child in its own process group, and turns the child's exit into the
//! item's final status. A stop requested in Sync Center (or SIGINT/SIGTERM to this process) sends SIGTERM to
//! the whole group, then SIGKILL after the grace period.
//!
//! It does not restart, retry or capture output: the child's stdio is inherited.

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use anyhow::Context;
use rustix::process::{Pid, Signal, kill_process_group, test_kill_process_group};
use serde_json::json;
use synccenter_client::{CancelWire, EventLevelWire, StatusWire};
use tokio::signal::unix::{SignalKind, signal};

use crate::cli::RunArgs;
use crate::commands::Ctx;
use crate::exit::Exit;
use crate::output;

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
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        (None, None) => "ended".to_owned(),
    }
}

/// Sends `sig` to the group; a group that is already gone is fine.
fn signal_group(pgid: Pid, sig: Signal) {
    let _ = kill_process_group(pgid, sig);
}

/// SIGTERM to the group; SIGKILL to whatever is left of it after `grace`.
async fn stop_group(child: &mut tokio::process::Child, pgid: Pid, grace: Duration) -> anyhow::Result<()> {
    signal_group(pgid, Signal::TERM);
    let deadline = tokio::time::Instant::now() + grace;
    if tokio::time::timeout_at(deadline, child.wait()).await.is_err() {
        signal_group(pgid, Signal::KILL);
        child.wait().await.context("cannot wait for the command")?;
        return Ok(());
    }
    // The leader is gone; members that outlive it get what is left of the grace period. There is no event
    // for a group emptying, so this polls.
    while test_kill_process_group(pgid).is_ok() {
        if tokio::time::Instant::now() >= deadline {
            signal_group(pgid, Signal::KILL);
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
    cmd.args(&args.command[1..]).process_group(0);
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
    let pid = child.id().context("the command has no process ID")?;
    let pgid = Pid::from_raw(i32::try_from(pid).context("process ID out of range")?)
        .context("the command has no process ID")?;

    let mut sigint = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut sigterm = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let outcome = loop {
        tokio::select! {
            status = child.wait() => break Outcome::Exited(status.context("cannot wait for the command")?),
            push = session.cancelled() => match push {
                Ok(p) if p.cancel == CancelWire::None => {}
                Ok(_) => break Outcome::Cancelled,
                Err(e) => {
                    // The daemon is gone: nobody can see the sync any more, so do not leave the command behind.
                    signal_group(pgid, Signal::KILL);
                    let _ = child.wait().await;
                    return Err(e).context("lost the connection to the daemon; the command was killed");
                }
            },
            _ = sigint.recv() => break Outcome::Cancelled,
            _ = sigterm.recv() => break Outcome::Cancelled,
        }
    };

    let (code, exit_status) = match outcome {
        Outcome::Cancelled => {
            stop_group(&mut child, pgid, Duration::from_secs(args.grace)).await?;
            session.report_progress(&args.item, StatusWire::Canceled, Some("stopped"), 0, 0)?;
            (Exit::CANCELLED, None)
        }
        Outcome::Exited(status) if status.success() => {
            session.report_progress(&args.item, StatusWire::Succeeded, Some(""), 0, 0)?;
            (Exit::OK, Some(status))
        }
        Outcome::Exited(status) => {
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
            "signal": exit_status.and_then(|s| s.signal()),
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
