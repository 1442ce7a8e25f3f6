//! `synccenter com register|unregister`: synccenter's COM in-process server (`synccenter_com.dll`) in the
//! Windows registry, per user unless `--machine`, and the opt-in `--take-over` of Windows' own session creator
//! class (`docs/com.md`). The registry work is `synccenter_platform::com_registration`; this is its command line.
//! It needs no daemon; on Linux and macOS it answers that COM exists only on Windows.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;
use synccenter_platform::com_registration::{self, Registration, Scope};

use crate::cli::ComCommand;
use crate::output;

/// The DLL's file name, as cargo builds it beside `synccenter.exe`.
const DLL_NAME: &str = "synccenter_com.dll";

fn scope(machine: bool) -> Scope {
    if machine { Scope::Machine } else { Scope::User }
}

fn scope_name(scope: Scope) -> &'static str {
    match scope {
        Scope::User => "user",
        Scope::Machine => "machine",
    }
}

/// `--dll`, else `synccenter_com.dll` in the directory of the running `synccenter` executable.
fn dll_path(dll: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let path = match dll {
        Some(p) => p,
        None => std::env::current_exe().context("cannot find this executable's directory")?.with_file_name(DLL_NAME),
    };
    Ok(std::path::absolute(&path).unwrap_or(path))
}

pub(crate) fn run(json: bool, command: ComCommand) -> anyhow::Result<ExitCode> {
    match command {
        ComCommand::Register { take_over, machine, dll } => {
            let registration = Registration { scope: scope(machine), dll: dll_path(dll)?, take_over };
            let r = com_registration::register(&registration).context("cannot register the COM server")?;
            if json {
                output::json(&json!({
                    "scope": scope_name(registration.scope),
                    "key": r.key,
                    "dll": registration.dll,
                    "take_over": r.took_over,
                    "replaced": r.replaced,
                }))?;
            } else {
                let mut lines = vec![format!("registered {} as {}", registration.dll.display(), r.key)];
                if r.took_over {
                    lines.push(
                        "CLSID_SyncMgrClient now treats as synccenter's class (undo: synccenter com unregister)".into(),
                    );
                }
                output::lines(&lines)?;
            }
        }
        ComCommand::Unregister { machine } => {
            let scope = scope(machine);
            let r = com_registration::unregister(scope).context("cannot unregister the COM server")?;
            if json {
                output::json(&json!({
                    "scope": scope_name(scope),
                    "removed": r.removed,
                    "take_over_undone": r.take_over_undone,
                }))?;
            } else if !r.removed {
                output::line(&format!("nothing was registered in {}", scope.hive()))?;
            } else {
                let undone = if r.take_over_undone { "; CLSID_SyncMgrClient is Windows' own again" } else { "" };
                output::line(&format!("unregistered synccenter's COM server from {}{undone}", scope.hive()))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
