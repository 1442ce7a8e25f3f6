//! `synccenter`: one binary for the daemon and for every command that talks to it. This module parses the
//! command line, runs the verb on a small runtime, and turns the outcome into the documented exit code and the
//! one-line error message (`synccenter: <message> (<HRESULT name>)`); it is, with `output`, the only place
//! that prints.

mod cli;
mod com;
mod daemon;
mod db;
mod desktop;
mod exit;
mod fleet;
mod logs;
mod output;
mod ping;
mod progress;
mod results;
mod run;
mod service;
mod verbs;
mod watch;

use std::io;
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser};
use synccenter_client::ClientError;

use crate::cli::{Cli, Command};
use crate::exit::Exit;
use crate::verbs::Ctx;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let overrides = synccenter_protocol::Overrides {
        socket: cli.socket.clone(),
        data_dir: cli.data_dir.clone(),
        config: cli.config.clone(),
        database: cli.database.clone(),
    };
    let env = synccenter_protocol::Env::from_process(synccenter_platform::peer::uid());
    let result = match cli.command {
        Command::Daemon { check_config: true, .. } => {
            daemon::check_config(&env, &overrides, cli.json).map(|c| (c, None))
        }
        Command::Daemon { check_config: false, fleet } => {
            daemon::run(&env, &overrides, cli.http.as_deref(), cli.host.clone(), &fleet).map(|c| (c, None))
        }
        Command::Db(command) => db::run(&env, &overrides, cli.json, command).map(|c| (c, None)),
        Command::Com(command) => com::run(cli.json, command).map(|c| (c, None)),
        Command::Completions { shell } => output::raw(|w| {
            clap_complete::generate(shell, &mut Cli::command(), "synccenter", w);
        })
        .map(|()| (ExitCode::SUCCESS, None))
        .map_err(anyhow::Error::from),
        command => {
            run_client(&env, &overrides, cli.json, cli.host.clone(), command).map(|c| (ExitCode::from(c), Some(c)))
        }
    };
    match result {
        Ok((code, _)) => code,
        Err(e) => {
            let (code, message) = failure(&e);
            if let Some(m) = message {
                eprintln_error(&m);
            }
            ExitCode::from(code)
        }
    }
}

fn run_client(
    env: &synccenter_protocol::Env,
    overrides: &synccenter_protocol::Overrides,
    json: bool,
    host: Option<String>,
    command: Command,
) -> anyhow::Result<u8> {
    let paths = synccenter_protocol::Paths::resolve(env, overrides).context("cannot find the daemon's socket")?;
    let ctx = Ctx { socket: paths.socket, json, host };
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async {
        match command {
            Command::Daemon { .. } | Command::Db(_) | Command::Com(_) | Command::Completions { .. } => {
                unreachable!("handled in main")
            }
            Command::Reload => verbs::reload(&ctx).await,
            Command::Desktop => desktop::run(&ctx).await,
            Command::Dashboard { open } => verbs::dashboard(&ctx, open).await,
            Command::Status { all_hosts } if all_hosts || ctx.host.is_some() => fleet::status(&ctx).await,
            Command::Status { .. } => verbs::status(&ctx).await,
            Command::Handlers { all, all_hosts } if all_hosts || ctx.host.is_some() => fleet::handlers(&ctx, all).await,
            Command::Handlers { all, .. } => verbs::handlers(&ctx, all).await,
            Command::Items { handler, all } => verbs::items(&ctx, &handler, all).await,
            Command::Sessions(args) if args.all_hosts || ctx.host.is_some() => fleet::sessions(&ctx, args).await,
            Command::Sessions(args) => verbs::sessions(&ctx, args).await,
            Command::Watch { exit_when_idle } => watch::run(&ctx, exit_when_idle).await,
            Command::Start { handler, items, wait, ignore_if_syncing } => {
                verbs::start(&ctx, handler, items, wait, ignore_if_syncing).await
            }
            Command::Stop { handler, items } => verbs::stop(&ctx, handler, items).await,
            Command::Enable(a) => verbs::enable(&ctx, a.handler, a.item, true).await,
            Command::Disable(a) => verbs::enable(&ctx, a.handler, a.item, false).await,
            Command::Activate { handler } => verbs::activate(&ctx, handler, true).await,
            Command::Deactivate { handler } => verbs::activate(&ctx, handler, false).await,
            Command::Pause { handler, all: _, until } => verbs::pause(&ctx, handler, until).await,
            Command::Resume { handler, all: _ } => verbs::resume(&ctx, handler).await,
            Command::Results(args) if args.command.is_none() && (args.all_hosts || ctx.host.is_some()) => {
                fleet::results(&ctx, args).await
            }
            Command::Results(args) => results::results(&ctx, args).await,
            Command::Conflicts(args) if args.command.is_none() && (args.all_hosts || ctx.host.is_some()) => {
                fleet::conflicts(&ctx, args).await
            }
            Command::Conflicts(args) => results::conflicts(&ctx, args).await,
            Command::Session(cmd) => verbs::session(&ctx, cmd).await,
            Command::Run(args) => run::run(&ctx, args).await,
            Command::Register(args) => verbs::register(&ctx, args).await,
            Command::PingUrl { handler, item } => ping::ping_url(&ctx, &handler, &item).await,
            Command::Logs { session, item, follow } => logs::logs(&ctx, session, item, follow).await,
        }
    })
}

/// The exit code of a failure and the message to print (none for a closed stdout).
fn failure(e: &anyhow::Error) -> (u8, Option<String>) {
    let mut parts = Vec::new();
    for cause in e.chain() {
        if let Some(io) = cause.downcast_ref::<io::Error>()
            && io.kind() == io::ErrorKind::BrokenPipe
        {
            // `synccenter … | head`: the reader has all it wanted.
            return (Exit::OK, None);
        }
        match cause.downcast_ref::<ClientError>() {
            Some(ClientError::Connect { path, source }) => {
                let m = format!(
                    "cannot connect to the daemon at {}: {source}; is the daemon running? start it with `synccenter daemon`",
                    path.display()
                );
                parts.push(m);
                return (Exit::DAEMON_UNREACHABLE, Some(parts.join(": ")));
            }
            Some(err @ ClientError::Rpc { message, .. }) => {
                let name = err.hresult_name().unwrap_or("E_FAIL");
                parts.push(format!("{message} ({name})"));
                return (Exit::FAILURE, Some(parts.join(": ")));
            }
            Some(other) => {
                parts.push(other.to_string());
                return (Exit::FAILURE, Some(parts.join(": ")));
            }
            None => parts.push(cause.to_string()),
        }
    }
    (Exit::FAILURE, Some(parts.join(": ")))
}

#[allow(clippy::print_stderr, reason = "main reports the one error line of a failed command")]
fn eprintln_error(message: &str) {
    eprintln!("synccenter: {message}");
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn rpc_errors_name_their_hresult() {
        let e = anyhow::Error::from(ClientError::Rpc {
            method: "item.list".into(),
            code: -32000,
            message: "no such handler".into(),
            hresult: 0x8007_0057,
            name: "E_INVALIDARG".into(),
        })
        .context("cannot list the items of x");
        assert_eq!(
            failure(&e),
            (Exit::FAILURE, Some("cannot list the items of x: no such handler (E_INVALIDARG)".into()))
        );
    }

    #[test]
    fn a_closed_stdout_is_success() {
        let e = anyhow::Error::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(failure(&e), (Exit::OK, None));
    }
}
