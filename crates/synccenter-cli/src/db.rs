//! `synccenter db check|backup|recover`: care of the SQLite file without the daemon (backup also while it
//! runs). They open the database read-only and only ever create new files, so none of them can make a damaged
//! file worse; the daemon's refusal of a damaged file names them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::json;
use synccenter_protocol::{Env, Overrides, Paths};
use synccenter_store_sqlite::maintenance;

use crate::cli::DbCommand;
use crate::exit::Exit;
use crate::output;

/// The database file: the command's FILE, else `--database sqlite://PATH`, else the data directory's.
fn database_file(env: &Env, overrides: &Overrides, file: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(f) = file {
        return Ok(f);
    }
    let paths = Paths::resolve(env, overrides).context("cannot find the data directory")?;
    match paths.database.as_deref() {
        None => Ok(paths.data_dir.join(synccenter_store_sqlite::DB_FILE_NAME)),
        Some(url) => match url.strip_prefix("sqlite://") {
            Some(p) if !p.is_empty() => Ok(PathBuf::from(p)),
            _ => {
                bail!("the database {url:?} is not a SQLite file (sqlite://PATH); the db commands work on SQLite files")
            }
        },
    }
}

pub(crate) fn run(env: &Env, overrides: &Overrides, json: bool, command: DbCommand) -> anyhow::Result<ExitCode> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async {
        match command {
            DbCommand::Check { file } => check(&database_file(env, overrides, file)?, json).await,
            DbCommand::Backup { file, to } => backup(&database_file(env, overrides, file)?, &to, json).await,
            DbCommand::Recover { file, output } => {
                recover(&database_file(env, overrides, file)?, output.as_deref(), json).await
            }
            DbCommand::Compact { file } => compact(&database_file(env, overrides, file)?, json).await,
        }
    })
}

async fn check(path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let r = maintenance::check(path).await?;
    if json {
        output::json(&json!({
            "file": r.path,
            "ok": r.ok(),
            "schema_version": r.schema_version,
            "known_version": r.known_version,
            "problems": r.problems,
        }))?;
    } else {
        let version = r.schema_version.map_or_else(|| "none".to_owned(), |v| v.to_string());
        let mut lines = vec![
            format!("file:            {}", r.path.display()),
            format!("schema version:  {version} (this build: {})", r.known_version),
        ];
        if r.ok() {
            lines.push("integrity:       ok".into());
        } else {
            lines.push(format!("integrity:       {} problem(s)", r.problems.len()));
            lines.extend(r.problems.iter().map(|p| format!("  {p}")));
            lines.push(format!(
                "next: `synccenter db recover {}` copies every readable row into a new file next to it",
                r.path.display()
            ));
        }
        output::lines(&lines)?;
    }
    Ok(if r.ok() { ExitCode::SUCCESS } else { ExitCode::from(Exit::FAILURE) })
}

async fn backup(path: &Path, to: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let r = maintenance::backup(path, to).await?;
    if json {
        output::json(&json!({"file": r.source, "backup": r.target, "bytes": r.bytes}))?;
    } else {
        output::line(&format!("backed up {} to {} ({} bytes)", r.source.display(), r.target.display(), r.bytes))?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn compact(path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let r = maintenance::compact(path).await?;
    if json {
        output::json(&json!({"file": r.path, "bytes_before": r.bytes_before, "bytes_after": r.bytes_after}))?;
    } else {
        output::line(&format!(
            "compacted {}: {} bytes before, {} after; pruned history now returns its space",
            r.path.display(),
            r.bytes_before,
            r.bytes_after
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn recover(path: &Path, to: Option<&Path>, json: bool) -> anyhow::Result<ExitCode> {
    let r = maintenance::recover(path, to).await?;
    let next = format!(
        "stop the daemon, move {0} (and any {0}-wal, {0}-shm) aside, rename {1} to {0}, start the daemon",
        r.source.display(),
        r.target.display()
    );
    if json {
        let tables: Vec<_> =
            r.tables.iter().map(|t| json!({"table": t.table, "copied": t.copied, "damaged": t.damaged})).collect();
        output::json(&json!({
            "file": r.source,
            "recovered": r.target,
            "tables": tables,
            "orphans_removed": r.orphans_removed,
            "ok": r.target_ok,
            "next": next,
        }))?;
    } else {
        let mut lines = vec![format!("recovered {} into {}", r.source.display(), r.target.display())];
        for t in &r.tables {
            let note = if t.damaged { "  (damaged: rows in the damaged part are lost)" } else { "" };
            lines.push(format!("  {:<14} {:>8} rows{note}", t.table, t.copied));
        }
        if r.orphans_removed > 0 {
            lines.push(format!("  {} rows dropped whose parent was lost", r.orphans_removed));
        }
        lines.push(format!(
            "the new file {}",
            if r.target_ok { "passes the integrity check" } else { "FAILS the integrity check" }
        ));
        lines.push(format!("the original was not changed; next: {next}"));
        output::lines(&lines)?;
    }
    Ok(if r.target_ok { ExitCode::SUCCESS } else { ExitCode::from(Exit::FAILURE) })
}
