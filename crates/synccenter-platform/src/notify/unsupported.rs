//! No `sd_notify` here: no sender credentials arrive with a datagram on macOS or Windows.

use std::io;
use std::path::Path;

use super::Datagram;
use crate::process::ProcessTree;

/// Never constructed.
#[derive(Debug)]
pub(super) enum Socket {}

impl Socket {
    pub(super) fn bind(_base: &Path) -> io::Result<Socket> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "sd_notify is supported on Linux only"))
    }

    pub(super) fn path(&self) -> &Path {
        match *self {}
    }

    pub(super) async fn recv(&self, _buf: &mut [u8], _tree: &ProcessTree) -> io::Result<Datagram> {
        match *self {}
    }
}
