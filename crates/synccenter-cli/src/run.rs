//! `synccenter run HANDLER ITEM -- CMD…`: a command as a sync session. It registers nothing (the handler and
//! item must exist), supervises one child as the root of its own process tree (a process group; a Job Object
//! on Windows), and turns the child's exit into the item's final status. A stop requested in Sync Center (or
//! SIGINT/SIGTERM to this process; Ctrl+C on Windows) sends SIGTERM to the whole group, then SIGKILL after the
//! grace period (on Windows the tree is terminated at once).
//!
//! On Linux the child gets `NOTIFY_SOCKET` (`sd_notify`): a `STATUS=` from its process tree becomes the
//! item's progress text and an `ERRNO=` goes into the failure event; refused, dropped or malformed messages
//! end in one warning event (see `docs/integrations.md`). There is no watchdog or time limit here.
//!
//! It does not restart, retry or capture output: the child's stdio is inherited.

use std::time::Duration;

use anyhow::Context;
use serde_json::json;
use synccenter_client::{CancelWire, EventLevelWire, Session, StatusWire};
use synccenter_platform::notify::NotifySocket;
use synccenter_platform::process::{self, Console, ProcessTree, StopSignals};
use synccenter_runs::notify::{Intake, MAX_DATAGRAM, NotifyMessage, Sender};

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

/// The command's `sd_notify` socket, when this platform has one.
struct Notify {
    socket: Option<NotifySocket>,
    buf: Vec<u8>,
    intake: Intake,
    started: tokio::time::Instant,
    errno: Option<u32>,
}

impl Notify {
    fn open() -> Notify {
        let socket = if synccenter_platform::notify::SUPPORTED { NotifySocket::bind().ok() } else { None };
        let buf = vec![0u8; MAX_DATAGRAM];
        Notify { socket, buf, intake: Intake::new(), started: tokio::time::Instant::now(), errno: None }
    }

    /// The next datagram's messages that pass the intake; waits forever without a socket.
    async fn next(&mut self, tree: &ProcessTree) -> Vec<NotifyMessage> {
        let Some(socket) = &self.socket else { return std::future::pending().await };
        match socket.recv(&mut self.buf, tree).await {
            Ok(d) => {
                let sender = if d.from_tree { Sender::Run } else { Sender::Outsider };
                let data = &self.buf[..d.len.min(self.buf.len())];
                self.intake.datagram(self.started.elapsed(), sender, data, d.len)
            }
            Err(_) => {
                self.socket = None;
                Vec::new()
            }
        }
    }
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

    let mut notify = Notify::open();
    let mut cmd = tokio::process::Command::new(&args.command[0]);
    cmd.args(&args.command[1..]);
    if let Some(socket) = &notify.socket {
        cmd.env("NOTIFY_SOCKET", socket.path());
    }
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
    let outcome = watch(&session, &args.item, &mut child, &tree, &mut notify).await?;
    if let Some(summary) = notify.intake.summary() {
        session.report_event(Some(&args.item), EventLevelWire::Warning, "sd_notify", &summary).await?;
    }

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
            let mut description = format!("`{cmdline}` {}", describe(status));
            if let Some(errno) = notify.errno {
                description.push_str(&format!("; it reported ERRNO={errno} ({})", errno_text(errno)));
            }
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

/// Waits for the command to end, a stop (the daemon's or a signal) or the daemon's loss, and passes what the
/// command says over `sd_notify` on as progress text. Kills the command when the daemon is lost: nobody could
/// see the sync any more.
async fn watch(
    session: &Session,
    item: &str,
    child: &mut tokio::process::Child,
    tree: &ProcessTree,
    notify: &mut Notify,
) -> anyhow::Result<Outcome> {
    let mut stop_signals = StopSignals::install().context("cannot handle SIGINT and SIGTERM")?;
    Ok(loop {
        tokio::select! {
            status = child.wait() => break Outcome::Exited(status.context("cannot wait for the command")?),
            push = session.cancelled() => match push {
                Ok(p) if p.cancel == CancelWire::None => {}
                Ok(_) => break Outcome::Cancelled,
                Err(e) => {
                    tree.kill();
                    let _ = child.wait().await;
                    return Err(e).context("lost the connection to the daemon; the command was killed");
                }
            },
            _ = stop_signals.recv() => break Outcome::Cancelled,
            messages = notify.next(tree) => {
                for message in messages {
                    match message {
                        NotifyMessage::Status(text) => {
                            session.report_progress(item, StatusWire::UpdatingIndeterminate, Some(&text), 0, 0)?;
                        }
                        NotifyMessage::Errno(errno) => notify.errno = Some(errno),
                        _ => {}
                    }
                }
            }
        }
    })
}

/// The system's words for an `errno`: `Input/output error`.
fn errno_text(errno: u32) -> String {
    let text = i32::try_from(errno).map(|n| std::io::Error::from_raw_os_error(n).to_string()).unwrap_or_default();
    text.split(" (os error").next().unwrap_or_default().to_owned()
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
