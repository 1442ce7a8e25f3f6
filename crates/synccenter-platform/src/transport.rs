//! The local transport: the per-user endpoint the daemon listens on and clients connect to, one byte stream per
//! connection. The rest of the workspace sees only [`Listener`], [`Stream`] and its halves, and a path naming
//! the endpoint (a socket file on Unix, a pipe name such as `\\.\pipe\synccenter-alice` on Windows).
//!
//! - Unix (Linux, macOS): a Unix socket `0600` in a private directory (`0700`, ours, not a symbolic link),
//!   refusal to start beside a live daemon, removal of a stale socket left by a dead one, the path length
//!   checked against the platform's `sun_path`.
//! - Windows: a named pipe whose first instance this daemon creates (`FILE_FLAG_FIRST_PIPE_INSTANCE`: a second
//!   daemon, or a squatter that got there first, is refused), with a security descriptor that grants access to
//!   the current user only (`D:P(A;;GA;;;<SID>)`), remote clients rejected, and one instance always waiting for
//!   the next client. Clients check that the pipe's server runs as their own user before they send anything.
//!
//! Every accepted connection passes the peer check ([`crate::peer`]) before [`Listener::accept`] returns it, so
//! a caller cannot forget it. What this module does not do: framing or anything of the protocol.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::peer::Identity;

#[cfg(unix)]
#[path = "transport/unix.rs"]
mod imp;
#[cfg(windows)]
#[path = "transport/windows.rs"]
mod imp;

/// Longest usable socket path (`sun_path` holds 108 bytes with the NUL on Linux, 104 on macOS); on Windows the
/// longest pipe name.
pub const MAX_ENDPOINT_BYTES: usize = imp::MAX_ENDPOINT_BYTES;

/// Why the endpoint could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    /// The path is too long for the platform.
    #[error("socket path {path} is {len} bytes; this platform allows at most {max}")]
    PathTooLong {
        /// The path.
        path: PathBuf,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The socket's directory is unsafe.
    #[error("refusing to use {path}: {reason}")]
    UnsafeDirectory {
        /// The directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// On Windows: the name is not a local pipe name.
    #[error("{0} is not a local named pipe; use \\\\.\\pipe\\NAME")]
    NotAPipe(PathBuf),
    /// Another daemon answers on the endpoint (on Windows: another process created the pipe first).
    #[error("another synccenter daemon is already serving {0}; stop it first (or pass --socket)")]
    AlreadyRunning(PathBuf),
    /// The user this process runs as could not be read.
    #[error("cannot tell which user this process runs as: {0}")]
    Identity(#[source] io::Error),
    /// An I/O failure.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// On which path.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

/// Why [`Listener::accept`] handed out no connection.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// Accepting failed (the listener goes on).
    #[error("accept failed: {0}")]
    Io(#[from] io::Error),
    /// The peer runs as another user; its connection was closed.
    #[error("refused a connection from {peer}: only {admitted} is served")]
    Foreign {
        /// Who the peer is.
        peer: Identity,
        /// Who is admitted.
        admitted: Identity,
    },
    /// The peer's user could not be read; its connection was closed.
    #[error("refused a connection whose user cannot be read: {0}")]
    Unknown(#[source] io::Error),
}

/// The daemon's endpoint, bound and ready to accept.
#[derive(Debug)]
pub struct Listener {
    inner: imp::Listener,
    admitted: Identity,
}

/// Binds the endpoint at `path` for this user: on Unix, creates (or checks) the private directory and binds the
/// socket owner-only; on Windows, creates the first instance of the pipe. Must be called within a Tokio
/// runtime.
pub fn bind(path: &Path) -> Result<Listener, SocketError> {
    let len = path.as_os_str().len();
    if len > MAX_ENDPOINT_BYTES {
        return Err(SocketError::PathTooLong { path: path.to_owned(), len, max: MAX_ENDPOINT_BYTES });
    }
    let admitted = Identity::current().map_err(SocketError::Identity)?;
    Ok(Listener { inner: imp::bind(path)?, admitted })
}

/// The error of an I/O step `what` on `path`, for `map_err`.
fn io_err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> SocketError + 'a {
    move |source| SocketError::Io { what, path: path.to_owned(), source }
}

impl Listener {
    /// Admits peers of `who` only, instead of this process's user. The socket's permissions and the pipe's
    /// security descriptor still name this process's user; only the peer check changes. Tests use it to see a
    /// real connection refused as foreign where the system has no second user to connect with (Wine).
    pub fn admitting(mut self, who: Identity) -> Listener {
        self.admitted = who;
        self
    }

    /// Who is admitted.
    pub fn admitted(&self) -> &Identity {
        &self.admitted
    }

    /// The next connection from an admitted peer. Cancel-safe: when it loses a `select!`, no connection is
    /// lost. A refused peer is closed and reported as an error; the listener goes on either way.
    pub async fn accept(&mut self) -> Result<Stream, AcceptError> {
        let stream = Stream { inner: self.inner.accept().await? };
        let peer = imp::peer_identity(&stream.inner).map_err(AcceptError::Unknown)?;
        if crate::peer::admits(&self.admitted, &peer) {
            Ok(stream)
        } else {
            Err(AcceptError::Foreign { peer, admitted: self.admitted.clone() })
        }
    }

    /// Stops listening and removes the socket file (a pipe vanishes with its last instance).
    pub fn close(self) {
        self.inner.close();
    }
}

/// Connects to the daemon's endpoint at `path`. On Windows it waits (briefly) while every pipe instance is busy,
/// and refuses a pipe whose server runs as another user.
pub async fn connect(path: &Path) -> io::Result<Stream> {
    Ok(Stream { inner: imp::connect(path).await? })
}

/// An endpoint for a daemon whose files live in `dir` (tests and benchmarks): the socket `dir/run/<name>.sock`
/// on Unix, a pipe named after `dir` and `name` on Windows.
pub fn endpoint_in(dir: &Path, name: &str) -> PathBuf {
    imp::endpoint_in(dir, name)
}

/// One connection, on either side.
#[derive(Debug)]
pub struct Stream {
    inner: imp::Stream,
}

impl Stream {
    /// Splits into halves that can be used from different tasks; the connection closes when both are dropped.
    pub fn into_split(self) -> (ReadHalf, WriteHalf) {
        let (r, w) = imp::split(self.inner);
        (ReadHalf(r), WriteHalf(w))
    }

    /// Writes what fits without waiting; `WouldBlock` until the connection is known to be writable (on
    /// Windows a pipe is not, until [`Stream::writable`] has been awaited once).
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.try_write(buf)
    }

    /// Waits until a write can make progress.
    pub async fn writable(&self) -> io::Result<()> {
        self.inner.writable().await
    }
}

impl AsyncRead for Stream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The reading half of a [`Stream`].
#[derive(Debug)]
pub struct ReadHalf(imp::ReadHalf);

/// The writing half of a [`Stream`]. Shutting it down ends the write direction where the platform can (Unix);
/// a named pipe closes when both halves are gone.
#[derive(Debug)]
pub struct WriteHalf(imp::WriteHalf);

impl AsyncRead for ReadHalf {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteHalf {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// No wait of these tests may take longer, whatever goes wrong.
    const HANG_GUARD: Duration = Duration::from_secs(30);

    /// A user that is not this process's.
    fn foreign() -> Identity {
        match Identity::current().expect("identity") {
            Identity::Uid(uid) => Identity::Uid(uid.wrapping_add(1)),
            Identity::Sid(_) => Identity::Sid("S-1-5-21-1111111111-2222222222-3333333333-4242".parse().expect("sid")),
        }
    }

    #[tokio::test]
    async fn a_client_of_our_user_is_served_and_a_second_listener_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let endpoint = endpoint_in(dir.path(), "t");
        let mut listener = bind(&endpoint).expect("bind");
        for round in 0..3u8 {
            let client = tokio::spawn({
                let endpoint = endpoint.clone();
                async move {
                    let mut c = connect(&endpoint).await.expect("connect");
                    c.write_all(&[round]).await.expect("write");
                    let mut back = [0u8; 1];
                    c.read_exact(&mut back).await.expect("read");
                    back[0]
                }
            });
            let server =
                tokio::time::timeout(HANG_GUARD, listener.accept()).await.expect("accepted").expect("admitted");
            let (mut r, mut w) = server.into_split();
            let mut got = [0u8; 1];
            r.read_exact(&mut got).await.expect("read");
            w.write_all(&[got[0] + 100]).await.expect("write");
            assert_eq!(tokio::time::timeout(HANG_GUARD, client).await.expect("client").expect("task"), round + 100);
        }
        let second = bind(&endpoint);
        assert!(matches!(second, Err(SocketError::AlreadyRunning(_))), "a second listener must be refused: {second:?}");
        listener.close();
    }

    #[tokio::test]
    async fn a_peer_of_another_user_is_refused_at_accept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let endpoint = endpoint_in(dir.path(), "f");
        let mut listener = bind(&endpoint).expect("bind").admitting(foreign());
        let client = tokio::spawn({
            let endpoint = endpoint.clone();
            async move {
                let mut c = connect(&endpoint).await.expect("connect");
                let _ = c.write_all(b"{}\n").await;
                let mut buf = Vec::new();
                // The daemon closes a refused peer without a word: end of stream (or a broken pipe).
                c.read_to_end(&mut buf).await.map(|_| buf)
            }
        });
        match tokio::time::timeout(HANG_GUARD, listener.accept()).await.expect("accept returned") {
            Err(AcceptError::Foreign { peer, admitted }) => {
                assert_eq!(peer, Identity::current().expect("identity"));
                assert_eq!(admitted, foreign());
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        let seen = tokio::time::timeout(HANG_GUARD, client).await.expect("client ended").expect("task");
        assert!(seen.as_ref().map_or(true, Vec::is_empty), "a refused peer read {seen:?}");
        listener.close();
    }

    /// An endpoint path of exactly `len` bytes in a fresh private directory under `root`.
    #[cfg(unix)]
    fn endpoint_of_len(root: &Path, len: usize) -> PathBuf {
        let dir = root.join("r");
        let stem = dir.join("s").as_os_str().len();
        assert!(stem < len, "the temporary directory's path is too long for this test");
        dir.join("s".repeat(len - stem + 1))
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn an_endpoint_of_the_longest_length_binds_and_one_byte_more_is_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let longest = endpoint_of_len(tmp.path(), MAX_ENDPOINT_BYTES);
        assert_eq!(longest.as_os_str().len(), MAX_ENDPOINT_BYTES);
        bind(&longest).expect("the longest endpoint binds").close();
        let over = endpoint_of_len(tmp.path(), MAX_ENDPOINT_BYTES + 1);
        match bind(&over) {
            Err(SocketError::PathTooLong { len, max, .. }) => {
                assert_eq!((len, max), (MAX_ENDPOINT_BYTES + 1, MAX_ENDPOINT_BYTES))
            }
            other => panic!("expected PathTooLong, got {other:?}"),
        }
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_closed_listener_leaves_no_socket_and_serves_no_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let endpoint = endpoint_in(dir.path(), "c");
        bind(&endpoint).expect("bind").close();
        assert!(std::fs::symlink_metadata(&endpoint).is_err(), "the socket file is removed");
        assert!(connect(&endpoint).await.is_err(), "nobody listens");
    }

    #[tokio::test]
    async fn try_write_reaches_the_peer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let endpoint = endpoint_in(dir.path(), "w");
        let mut listener = bind(&endpoint).expect("bind");
        let mut client = connect(&endpoint).await.expect("connect");
        let server = tokio::time::timeout(HANG_GUARD, listener.accept()).await.expect("accepted").expect("admitted");
        tokio::time::timeout(HANG_GUARD, server.writable()).await.expect("writable, no hang").expect("writable");
        assert_eq!(server.try_write(b"hello").expect("room for five bytes"), 5);
        let mut got = [0u8; 5];
        tokio::time::timeout(HANG_GUARD, client.read_exact(&mut got)).await.expect("no hang").expect("read");
        assert_eq!(&got, b"hello");
        // Closing is the end of the stream for the peer.
        drop(server);
        let mut rest = Vec::new();
        tokio::time::timeout(HANG_GUARD, client.read_to_end(&mut rest)).await.expect("EOF, no hang").expect("read");
        assert!(rest.is_empty());
        listener.close();
    }

    /// A shut-down write direction is the end of the stream for the peer, through a half and a whole stream.
    /// Unix only: a named pipe has no half-close (its shutdown only flushes).
    #[cfg(unix)]
    #[tokio::test]
    async fn shutdown_reaches_the_peer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let endpoint = endpoint_in(dir.path(), "h");
        let mut listener = bind(&endpoint).expect("bind");
        let client = connect(&endpoint).await.expect("connect");
        let mut server =
            tokio::time::timeout(HANG_GUARD, listener.accept()).await.expect("accepted").expect("admitted");
        let (_r, mut w) = client.into_split();
        w.shutdown().await.expect("shutdown");
        let mut rest = Vec::new();
        tokio::time::timeout(HANG_GUARD, server.read_to_end(&mut rest)).await.expect("EOF, no hang").expect("read");
        assert!(rest.is_empty());
        let mut client = connect(&endpoint).await.expect("connect");
        let mut server =
            tokio::time::timeout(HANG_GUARD, listener.accept()).await.expect("accepted").expect("admitted");
        client.shutdown().await.expect("shutdown");
        tokio::time::timeout(HANG_GUARD, server.read_to_end(&mut rest)).await.expect("EOF, no hang").expect("read");
        assert!(rest.is_empty());
        listener.close();
    }
}
