//! Where things live (`shared/INTERFACE.md`): the socket, the data directory and the configuration file,
//! resolved once from an injectable [`Env`] so that nothing else reads the process environment and tests
//! never mutate it. An empty variable counts as unset.
//!
//! Each platform has its own defaults ([`Platform`]); the resolution is pure, so every platform's is tested on
//! any platform. Flags win, then `SYNCCENTER_*`, then:
//!
//! | | socket | data directory | configuration |
//! |---|---|---|---|
//! | Linux and other Unix | `$XDG_RUNTIME_DIR/synccenter/synccenter.sock`, else `/tmp/synccenter-$UID/…` | `$XDG_DATA_HOME/synccenter`, else `~/.local/share/synccenter` | `$XDG_CONFIG_HOME/synccenter/config.toml`, else `~/.config/…` |
//! | macOS | as on Linux | `~/Library/Application Support/synccenter` | `~/Library/Application Support/synccenter/config.toml` |
//! | Windows | the named pipe `\\.\pipe\synccenter-%USERNAME%` | `%LOCALAPPDATA%\synccenter` | `%APPDATA%\synccenter\config.toml` |

use std::collections::HashMap;
use std::path::PathBuf;

/// The socket's file name inside its directory.
pub const SOCKET_FILE_NAME: &str = "synccenter.sock";

/// The prefix of the Windows pipe name; the user name follows.
pub const PIPE_NAME_PREFIX: &str = r"\\.\pipe\synccenter-";

/// Whose conventions the default paths follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    /// Linux and other Unix systems: the XDG base directories.
    Unix,
    /// macOS: `~/Library/Application Support`, and the socket as on Linux.
    MacOs,
    /// Windows: `%LOCALAPPDATA%`, `%APPDATA%` and a named pipe.
    Windows,
}

impl Platform {
    /// The platform this was built for.
    pub const CURRENT: Platform = if cfg!(windows) {
        Platform::Windows
    } else if cfg!(target_os = "macos") {
        Platform::MacOs
    } else {
        Platform::Unix
    };
}

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
    /// On Windows: `USERNAME`, which names the pipe, is not set.
    #[error("cannot name the pipe: set USERNAME, or pass --socket")]
    NoUser,
    /// Neither the variable nor `HOME` is set (on Windows: the variable).
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
    /// Flags first, then `SYNCCENTER_*`, then the defaults of this platform (`shared/INTERFACE.md`).
    pub fn resolve(env: &Env, o: &Overrides) -> Result<Paths, PathsError> {
        Paths::resolve_for(Platform::CURRENT, env, o)
    }

    /// [`Paths::resolve`] with the defaults of `platform`.
    pub fn resolve_for(platform: Platform, env: &Env, o: &Overrides) -> Result<Paths, PathsError> {
        let socket = match o.socket.clone().or_else(|| env.var("SYNCCENTER_SOCKET").map(PathBuf::from)) {
            Some(p) => p,
            None => default_socket(platform, env)?,
        };
        let data_dir = match o.data_dir.clone().or_else(|| env.var("SYNCCENTER_DATA_DIR").map(PathBuf::from)) {
            Some(p) => p,
            None => default_data_dir(platform, env)?,
        };
        let config = match o.config.clone().or_else(|| env.var("SYNCCENTER_CONFIG").map(PathBuf::from)) {
            Some(p) => p,
            None => default_config(platform, env)?,
        };
        let database = o.database.clone().or_else(|| env.var("SYNCCENTER_DATABASE").map(str::to_owned));
        Ok(Paths { socket, data_dir, config, database })
    }
}

/// `dir\name` in Windows' spelling, whatever platform this runs on.
fn windows_join(dir: &str, name: &str) -> PathBuf {
    PathBuf::from(format!("{}\\{name}", dir.trim_end_matches(['\\', '/'])))
}

fn home(env: &Env, what: &'static str, var: &'static str, flag: &'static str) -> Result<PathBuf, PathsError> {
    env.var("HOME").map(PathBuf::from).ok_or(PathsError::NoHome { what, var, flag })
}

fn default_socket(platform: Platform, env: &Env) -> Result<PathBuf, PathsError> {
    match platform {
        Platform::Windows => {
            // Backslashes separate pipe names from the namespace; a user name never has one, but make sure.
            let user = env.var("USERNAME").ok_or(PathsError::NoUser)?.replace('\\', "_");
            Ok(PathBuf::from(format!("{PIPE_NAME_PREFIX}{user}")))
        }
        Platform::Unix | Platform::MacOs => Ok(match env.var("XDG_RUNTIME_DIR") {
            Some(dir) => PathBuf::from(dir).join("synccenter").join(SOCKET_FILE_NAME),
            None => PathBuf::from(format!("/tmp/synccenter-{}", env.uid())).join(SOCKET_FILE_NAME),
        }),
    }
}

fn default_data_dir(platform: Platform, env: &Env) -> Result<PathBuf, PathsError> {
    const FLAG: &str = "--data-dir";
    match platform {
        Platform::Unix => match env.var("XDG_DATA_HOME") {
            Some(dir) => Ok(PathBuf::from(dir).join("synccenter")),
            None => Ok(home(env, "data directory", "XDG_DATA_HOME", FLAG)?.join(".local/share/synccenter")),
        },
        Platform::MacOs => {
            Ok(home(env, "data directory", "HOME", FLAG)?.join("Library/Application Support/synccenter"))
        }
        Platform::Windows => match env.var("LOCALAPPDATA") {
            Some(dir) => Ok(windows_join(dir, "synccenter")),
            None => Err(PathsError::NoHome { what: "data directory", var: "LOCALAPPDATA", flag: FLAG }),
        },
    }
}

fn default_config(platform: Platform, env: &Env) -> Result<PathBuf, PathsError> {
    const FLAG: &str = "--config";
    match platform {
        Platform::Unix => match env.var("XDG_CONFIG_HOME") {
            Some(dir) => Ok(PathBuf::from(dir).join("synccenter/config.toml")),
            None => {
                Ok(home(env, "configuration file", "XDG_CONFIG_HOME", FLAG)?.join(".config/synccenter/config.toml"))
            }
        },
        Platform::MacOs => {
            Ok(home(env, "configuration file", "HOME", FLAG)?
                .join("Library/Application Support/synccenter/config.toml"))
        }
        Platform::Windows => match env.var("APPDATA") {
            Some(dir) => Ok(windows_join(&format!("{}\\synccenter", dir.trim_end_matches(['\\', '/'])), "config.toml")),
            None => Err(PathsError::NoHome { what: "configuration file", var: "APPDATA", flag: FLAG }),
        },
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
        let p = Paths::resolve_for(
            Platform::Unix,
            &env(&[("HOME", "/home/u"), ("XDG_RUNTIME_DIR", "/run/user/1000")]),
            &Overrides::default(),
        )
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
        let p = Paths::resolve_for(Platform::Unix, &e, &Overrides::default()).expect("resolve");
        assert_eq!(p.socket, PathBuf::from("/s.sock"));
        assert_eq!(p.data_dir, PathBuf::from("/h/.local/share/synccenter"));
        let e = env(&[("HOME", "/h")]);
        let p = Paths::resolve_for(Platform::Unix, &e, &Overrides { socket: Some("/x".into()), ..Default::default() })
            .expect("resolve");
        assert_eq!(p.socket, PathBuf::from("/x"));
        let p = Paths::resolve_for(
            Platform::Unix,
            &env(&[]),
            &Overrides { data_dir: Some("/d".into()), config: Some("/c".into()), ..Default::default() },
        )
        .expect("resolve");
        assert_eq!(p.socket, PathBuf::from("/tmp/synccenter-1000/synccenter.sock"));
        assert!(Paths::resolve_for(Platform::Unix, &env(&[]), &Overrides::default()).is_err());
    }

    #[test]
    fn macos_uses_application_support_and_the_unix_socket() {
        let e = env(&[("HOME", "/Users/u"), ("XDG_DATA_HOME", "/ignored"), ("XDG_CONFIG_HOME", "/ignored")]);
        let p = Paths::resolve_for(Platform::MacOs, &e, &Overrides::default()).expect("resolve");
        assert_eq!(p.socket, PathBuf::from("/tmp/synccenter-1000/synccenter.sock"));
        assert_eq!(p.data_dir, PathBuf::from("/Users/u/Library/Application Support/synccenter"));
        assert_eq!(p.config, PathBuf::from("/Users/u/Library/Application Support/synccenter/config.toml"));
        assert!(Paths::resolve_for(Platform::MacOs, &env(&[]), &Overrides::default()).is_err());
    }

    #[test]
    fn windows_uses_the_pipe_of_the_user_and_the_app_data_folders() {
        let e = env(&[
            ("USERNAME", "Alice"),
            ("LOCALAPPDATA", r"C:\Users\Alice\AppData\Local"),
            ("APPDATA", r"C:\Users\Alice\AppData\Roaming\"),
            ("HOME", "/ignored"),
        ]);
        let p = Paths::resolve_for(Platform::Windows, &e, &Overrides::default()).expect("resolve");
        assert_eq!(p.socket, PathBuf::from(r"\\.\pipe\synccenter-Alice"));
        assert_eq!(p.data_dir, PathBuf::from(r"C:\Users\Alice\AppData\Local\synccenter"));
        assert_eq!(p.config, PathBuf::from(r"C:\Users\Alice\AppData\Roaming\synccenter\config.toml"));
        let p = Paths::resolve_for(
            Platform::Windows,
            &env(&[("SYNCCENTER_SOCKET", r"\\.\pipe\mine"), ("LOCALAPPDATA", "L"), ("APPDATA", "R")]),
            &Overrides::default(),
        )
        .expect("resolve");
        assert_eq!(p.socket, PathBuf::from(r"\\.\pipe\mine"));
        let no_user = env(&[("LOCALAPPDATA", "L"), ("APPDATA", "R")]);
        assert_eq!(Paths::resolve_for(Platform::Windows, &no_user, &Overrides::default()), Err(PathsError::NoUser));
    }
}
