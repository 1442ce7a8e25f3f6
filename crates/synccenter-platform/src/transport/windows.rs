//! The Windows half of the transport: the named pipe. The daemon creates the pipe's first instance
//! (`FILE_FLAG_FIRST_PIPE_INSTANCE`, so a pipe that already exists, a second daemon's or a squatter's, is
//! refused), every instance with a security descriptor that grants the current user alone (`D:P(A;;GA;;;<SID>)`,
//! protected from inheritance) and `PIPE_REJECT_REMOTE_CLIENTS`, and always keeps one instance waiting so the
//! name stays ours. The peer is identified by the user of its process token; a client checks the server the same
//! way before it sends anything.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::windows::named_pipe::{ClientOptions, NamedPipeClient, NamedPipeServer, ServerOptions};

use super::{SocketError, io_err};
use crate::peer::Identity;
use crate::win32;

/// Longest pipe name (`\\.\pipe\` and 247 more characters); counted in bytes of the name as given.
pub(super) const MAX_ENDPOINT_BYTES: usize = 256;

/// The prefix of a local pipe name.
const PIPE_PREFIX: &str = r"\\.\pipe\";

/// `ERROR_ACCESS_DENIED`: what creating a first instance of an existing pipe fails with.
const ERROR_ACCESS_DENIED: i32 = 5;
/// `ERROR_PIPE_BUSY`: every instance is connected; the daemon is about to create the next one.
const ERROR_PIPE_BUSY: i32 = 231;
/// How long a client waits for a free instance before it gives up.
const BUSY_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub(super) struct Listener {
    name: PathBuf,
    /// The security descriptor as SDDL, NUL-terminated UTF-16, made into a descriptor for each instance.
    sddl: Vec<u16>,
    /// The instance waiting for the next client.
    waiting: NamedPipeServer,
}

/// One end of a pipe connection.
#[derive(Debug)]
pub(super) enum Stream {
    Server(NamedPipeServer),
    Client(NamedPipeClient),
}

pub(super) type ReadHalf = tokio::io::ReadHalf<Stream>;
pub(super) type WriteHalf = tokio::io::WriteHalf<Stream>;

pub(super) fn bind(path: &Path) -> Result<Listener, SocketError> {
    let name = path.to_str().filter(|n| n.len() > PIPE_PREFIX.len() && n.starts_with(PIPE_PREFIX));
    let Some(name) = name else { return Err(SocketError::NotAPipe(path.to_owned())) };
    if name[PIPE_PREFIX.len()..].contains('\\') {
        return Err(SocketError::NotAPipe(path.to_owned()));
    }
    // A pipe that answers already has a server. FILE_FLAG_FIRST_PIPE_INSTANCE below makes this atomic on
    // Windows; the probe also covers systems that ignore the flag (Wine 8.0).
    match ClientOptions::new().open(path.as_os_str()) {
        Ok(_) => return Err(SocketError::AlreadyRunning(path.to_owned())),
        Err(e) if e.raw_os_error() == Some(ERROR_PIPE_BUSY) => {
            return Err(SocketError::AlreadyRunning(path.to_owned()));
        }
        Err(_) => {}
    }
    let me = win32::current_user_sid().map_err(SocketError::Identity)?;
    let sddl: Vec<u16> = format!("D:P(A;;GA;;;{me})").encode_utf16().chain([0]).collect();
    let waiting = create(path.as_os_str(), &sddl, true).map_err(|e| {
        if e.raw_os_error() == Some(ERROR_ACCESS_DENIED) {
            SocketError::AlreadyRunning(path.to_owned())
        } else {
            io_err("cannot create the pipe", path)(e)
        }
    })?;
    Ok(Listener { name: path.to_owned(), sddl, waiting })
}

fn create(name: &OsStr, sddl: &[u16], first: bool) -> io::Result<NamedPipeServer> {
    let mut options = ServerOptions::new();
    options.first_pipe_instance(first).reject_remote_clients(true);
    win32::create_pipe_instance(&options, name, sddl)
}

impl Listener {
    pub(super) async fn accept(&mut self) -> io::Result<Stream> {
        // `connect` is cancel-safe; nothing changes until it has completed.
        let connected = self.waiting.connect().await;
        let next = create(self.name.as_os_str(), &self.sddl, false)?;
        let server = std::mem::replace(&mut self.waiting, next);
        // A client that came and went before `connect` leaves a broken instance: it is dropped, the new one waits.
        connected?;
        Ok(Stream::Server(server))
    }

    pub(super) fn close(self) {}
}

pub(super) fn peer_identity(stream: &Stream) -> io::Result<Identity> {
    match stream {
        Stream::Server(s) => win32::pipe_client_sid(s).map(Identity::Sid),
        Stream::Client(c) => win32::pipe_server_sid(c).map(Identity::Sid),
    }
}

pub(super) async fn connect(path: &Path) -> io::Result<Stream> {
    let deadline = tokio::time::Instant::now() + BUSY_WAIT;
    let client = loop {
        match ClientOptions::new().open(path.as_os_str()) {
            Ok(c) => break c,
            // Every instance is taken for a moment, between a client's arrival and the daemon's next instance.
            // Windows signals no event for a free instance that tokio can await, so this retries.
            Err(e) if e.raw_os_error() == Some(ERROR_PIPE_BUSY) && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err(e) => return Err(e),
        }
    };
    let stream = Stream::Client(client);
    // Whoever created the pipe first owns the name: talk only to a server of our own user.
    let server = peer_identity(&stream)?;
    let me = Identity::current()?;
    if !crate::peer::admits(&me, &server) {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("the pipe is served by {server}, not by this user ({me})"),
        ));
    }
    Ok(stream)
}

pub(super) fn split(stream: Stream) -> (ReadHalf, WriteHalf) {
    tokio::io::split(stream)
}

pub(super) fn endpoint_in(dir: &Path, name: &str) -> PathBuf {
    let unique: String = dir
        .to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' })
        .collect();
    PathBuf::from(format!(r"{PIPE_PREFIX}synccenter-{name}-{unique}"))
}

impl Stream {
    pub(super) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Server(s) => s.try_write(buf),
            Stream::Client(c) => c.try_write(buf),
        }
    }

    pub(super) async fn writable(&self) -> io::Result<()> {
        match self {
            Stream::Server(s) => s.writable().await,
            Stream::Client(c) => c.writable().await,
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Server(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Client(c) => Pin::new(c).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Server(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Client(c) => Pin::new(c).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Server(s) => Pin::new(s).poll_flush(cx),
            Stream::Client(c) => Pin::new(c).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Server(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Client(c) => Pin::new(c).poll_shutdown(cx),
        }
    }
}
