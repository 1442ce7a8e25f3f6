//! Where things live (`shared/INTERFACE.md`): the socket, the data directory and the configuration file,
//! resolved once from an injectable [`Env`] so that nothing else reads the process environment and tests
//! never mutate it. An empty `XDG_*` variable counts as unset.

use std::collections::HashMap;
use std::path::PathBuf;

/// The socket's file name inside its directory.
pub const SOCKET_FILE_NAME: &str = "synccenter.sock";

/// Longest usable Unix socket path on Linux (`sun_path` is 108 bytes with the NUL).
pub const MAX_SOCKET_PATH_BYTES: usize = 107;

/// The environment the paths are resolved from.
#[derive(Clone, Debug, Default)]
pub struct Env {
    vars: HashMap<String, String>,
    uid: u32,
}

impl Env {
    /// From explicit variables and a user ID (tests).
    pub fn new(vars: impl IntoIterator<Item = (String, String)>, uid: u32) -> Self {
        Self { vars: vars.into_iter().collect(), uid }
    }

    /// From this process. The only place that reads the process environment.
    #[allow(clippy::disallowed_methods)]
    pub fn from_process(uid: u32) -> Self {
        Self { vars: std::env::vars().collect(), uid }
    }

    /// A variable, with empty counted as unset.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// The user ID.
    pub fn uid(&self) -> u32 {
        self.uid
    }
}

/// Explicit choices that win over the environment (command-line flags).
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--socket`.
    pub socket: Option<PathBuf>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--database`.
    pub database: Option<String>,
}

/// The resolved locations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    /// The socket.
    pub socket: PathBuf,
    /// The data directory (SQLite file, logs).
    pub data_dir: PathBuf,
    /// The configuration file.
    pub config: PathBuf,
    /// A database URL, when one was given.
    pub database: Option<String>,
}

/// The environment gave nothing to resolve a path from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathsError {
    /// Neither the variable nor `HOME` is set.
    #[error("cannot find the {what}: set {var} or HOME, or pass {flag}")]
    NoHome {
        /// What was being resolved.
        what: &'static str,
        /// The variable that would have named it.
        var: &'static str,
        /// The flag that overrides it.
        flag: &'static str,
    },
}

impl Paths {
    /// Flags first, then `SYNCCENTER_*`, then XDG, then the defaults of `shared/INTERFACE.md`.
    pub fn resolve(env: &Env, o: &Overrides) -> Result<Paths, PathsError> {
        let home = env.var("HOME").map(PathBuf::from);
        let socket = match o.socket.clone().or_else(|| env.var("SYNCCENTER_SOCKET").map(PathBuf::from)) {
            Some(p) => p,
            None => match env.var("XDG_RUNTIME_DIR") {
                Some(dir) => PathBuf::from(dir).join("synccenter").join(SOCKET_FILE_NAME),
                None => PathBuf::from(format!("/tmp/synccenter-{}", env.uid())).join(SOCKET_FILE_NAME),
            },
        };
        let data_dir = match o.data_dir.clone().or_else(|| env.var("SYNCCENTER_DATA_DIR").map(PathBuf::from)) {
            Some(p) => p,
            None => match env.var("XDG_DATA_HOME") {
                Some(dir) => PathBuf::from(dir).join("synccenter"),
                None => home
                    .clone()
                    .ok_or(PathsError::NoHome { what: "data directory", var: "XDG_DATA_HOME", flag: "--data-dir" })?
                    .join(".local/share/synccenter"),
            },
        };
        let config = match o.config.clone().or_else(|| env.var("SYNCCENTER_CONFIG").map(PathBuf::from)) {
            Some(p) => p,
            None => match env.var("XDG_CONFIG_HOME") {
                Some(dir) => PathBuf::from(dir).join("synccenter/config.toml"),
                None => home
                    .ok_or(PathsError::NoHome { what: "configuration file", var: "XDG_CONFIG_HOME", flag: "--config" })?
                    .join(".config/synccenter/config.toml"),
            },
        };
        let database = o.database.clone().or_else(|| env.var("SYNCCENTER_DATABASE").map(str::to_owned));
        Ok(Paths { socket, data_dir, config, database })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Env {
        Env::new(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())), 1000)
    }

    #[test]
    fn follows_interface_defaults() {
        let p =
            Paths::resolve(&env(&[("HOME", "/home/u"), ("XDG_RUNTIME_DIR", "/run/user/1000")]), &Overrides::default())
                .expect("resolve");
        assert_eq!(p.socket, PathBuf::from("/run/user/1000/synccenter/synccenter.sock"));
        assert_eq!(p.data_dir, PathBuf::from("/home/u/.local/share/synccenter"));
        assert_eq!(p.config, PathBuf::from("/home/u/.config/synccenter/config.toml"));
        assert_eq!(p.database, None);
    }

    #[test]
    fn empty_xdg_counts_as_unset_and_flags_win() {
        let e =
            env(&[("HOME", "/h"), ("XDG_RUNTIME_DIR", ""), ("XDG_DATA_HOME", ""), ("SYNCCENTER_SOCKET", "/s.sock")]);
        let p = Paths::resolve(&e, &Overrides::default()).expect("resolve");
        assert_eq!(p.socket, PathBuf::from("/s.sock"));
        assert_eq!(p.data_dir, PathBuf::from("/h/.local/share/synccenter"));
        let e = env(&[("HOME", "/h")]);
        let p = Paths::resolve(&e, &Overrides { socket: Some("/x".into()), ..Default::default() }).expect("resolve");
        assert_eq!(p.socket, PathBuf::from("/x"));
        let p = Paths::resolve(
            &env(&[]),
            &Overrides { data_dir: Some("/d".into()), config: Some("/c".into()), ..Default::default() },
        )
        .expect("resolve");
        assert_eq!(p.socket, PathBuf::from("/tmp/synccenter-1000/synccenter.sock"));
        assert!(Paths::resolve(&env(&[]), &Overrides::default()).is_err());
    }
}
