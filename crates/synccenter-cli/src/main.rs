//! `synccenter`: one binary for the daemon and for every command that talks to it.

mod daemon;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Sync Center for every platform.
#[derive(Debug, Parser)]
#[command(name = "synccenter", version, about)]
struct Cli {
    /// The daemon's socket [default: $XDG_RUNTIME_DIR/synccenter/synccenter.sock].
    #[arg(long, global = true, env = "SYNCCENTER_SOCKET", value_name = "PATH")]
    socket: Option<PathBuf>,
    /// The data directory [default: $XDG_DATA_HOME/synccenter].
    #[arg(long, global = true, env = "SYNCCENTER_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The store, `sqlite://PATH` [default: the SQLite file in the data directory].
    #[arg(long, global = true, env = "SYNCCENTER_DATABASE", value_name = "URL")]
    database: Option<String>,
    /// Machine-readable output: one JSON document, or JSON lines for streams.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the Sync Center service in the foreground.
    Daemon,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let overrides = synccenter_protocol::Overrides {
        socket: cli.socket.clone(),
        data_dir: cli.data_dir.clone(),
        config: None,
        database: cli.database.clone(),
    };
    let env = synccenter_protocol::Env::from_process(rustix::process::getuid().as_raw());
    let result = match cli.command {
        Command::Daemon => daemon::run(&env, &overrides),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln_error(&e);
            ExitCode::from(1)
        }
    }
}

#[allow(clippy::print_stderr)]
fn eprintln_error(e: &anyhow::Error) {
    eprintln!("synccenter: {e:#}");
}
