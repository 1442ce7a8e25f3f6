//! Peer credentials: who this process runs as, who is at the other end of a local connection, and whether the
//! daemon admits them.
//!
//! An [`Identity`] is a user ID on Unix, read from the kernel for a peer (`SO_PEERCRED` on Linux, `getpeereid`
//! on macOS; tokio's `peer_cred` uses the right one), and on Windows the security identifier ([`Sid`]) of the
//! user of the peer process's token (`GetNamedPipeClientProcessId`, `OpenProcessToken`, `TokenUser`). Whether
//! a peer is admitted is [`admits`], a pure function of two identities, so tests can hand it an identity that
//! is not theirs (Wine has one user only). What this does not do: groups, integrity levels, or any
//! administrator exception; only the very same user is admitted.

use std::fmt;

pub use crate::sid::{Sid, SidError};

/// A user, as the operating system identifies it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Identity {
    /// A Unix user ID.
    Uid(u32),
    /// A Windows security identifier.
    Sid(Sid),
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identity::Uid(uid) => write!(f, "uid {uid}"),
            Identity::Sid(sid) => write!(f, "SID {sid}"),
        }
    }
}

impl Identity {
    /// The user this process runs as.
    pub fn current() -> std::io::Result<Identity> {
        #[cfg(unix)]
        {
            Ok(Identity::Uid(rustix::process::getuid().as_raw()))
        }
        #[cfg(windows)]
        {
            crate::win32::current_user_sid().map(Identity::Sid)
        }
    }
}

/// Whether a peer running as `peer` may talk to a daemon that admits `admitted`: only the very same user.
pub fn admits(admitted: &Identity, peer: &Identity) -> bool {
    admitted == peer
}

/// The user ID that `shared/INTERFACE.md`'s Unix paths use (`/tmp/synccenter-$UID`); 0 on Windows, whose paths
/// use the user name instead.
pub fn uid() -> u32 {
    #[cfg(unix)]
    {
        rustix::process::getuid().as_raw()
    }
    #[cfg(windows)]
    {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_user_is_admitted() {
        let ours: Sid = "S-1-5-21-1-2-3-1000".parse().expect("sid");
        let foreign: Sid = "S-1-5-21-1-2-3-1001".parse().expect("sid");
        let other_domain: Sid = "S-1-5-21-9-9-9-1000".parse().expect("sid");
        let ours = Identity::Sid(ours);
        assert!(admits(&ours, &ours.clone()));
        assert!(!admits(&ours, &Identity::Sid(foreign)));
        assert!(!admits(&ours, &Identity::Sid(other_domain)));
        assert!(!admits(&Identity::Uid(1000), &Identity::Uid(0)));
        assert!(admits(&Identity::Uid(1000), &Identity::Uid(1000)));
    }

    #[test]
    fn the_current_identity_is_known() {
        let me = Identity::current().expect("current identity");
        #[cfg(unix)]
        assert_eq!(me, Identity::Uid(uid()));
        #[cfg(windows)]
        assert!(matches!(&me, Identity::Sid(s) if s.to_string().starts_with("S-1-")), "{me}");
    }

    #[test]
    fn identities_read_as_words() {
        assert_eq!(Identity::Uid(1000).to_string(), "uid 1000");
        let system = Identity::Sid("S-1-5-18".parse().expect("sid"));
        assert_eq!(system.to_string(), "SID S-1-5-18");
    }

    /// The environment variable that makes `uid_helper` print `uid()`.
    #[cfg(unix)]
    const UID_HELPER: &str = "SYNCCENTER_TEST_UID_HELPER";

    /// Not a test: prints `uid()` for `uid_is_this_process_s_user`, run as another user.
    #[cfg(unix)]
    #[test]
    #[ignore = "a helper process of uid_is_this_process_s_user"]
    fn uid_helper() {
        if std::env::var_os(UID_HELPER).is_some() {
            #[allow(clippy::print_stdout, reason = "the line the test reads")]
            {
                println!("UID {}", uid());
            }
        }
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn uid_is_this_process_s_user() {
        use std::os::unix::fs::MetadataExt;
        // The kernel makes this process's user the owner of a file it creates.
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("mine"), b"").expect("write");
        let owner = std::fs::metadata(dir.path().join("mine")).expect("metadata").uid();
        assert_eq!(uid(), owner);
        if owner != 0 {
            return;
        }
        // As root 0 is the right answer whatever `uid` does: ask it again in a process of another user.
        let mut cmd = tokio::process::Command::new(std::env::current_exe().expect("test binary"));
        cmd.args(["--exact", "peer::tests::uid_helper", "--ignored", "--nocapture", "--test-threads=1"])
            .env(UID_HELPER, "1")
            .uid(65534)
            .gid(65534)
            .kill_on_drop(true);
        let out = tokio::time::timeout(std::time::Duration::from_secs(30), cmd.output())
            .await
            .expect("the helper finished")
            .expect("the helper ran");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("UID 65534\n"), "stdout {stdout:?}, stderr {:?}", String::from_utf8_lossy(&out.stderr));
    }
}
