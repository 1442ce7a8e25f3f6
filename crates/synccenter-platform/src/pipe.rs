//! What a C program can wait on for a pipe: the read end's file descriptor on Unix, for `poll`, `select` and
//! event loops. Windows has no such number for an anonymous pipe (its handle cannot be waited on with
//! `WaitForSingleObject`), so there is none there. libsynccenter's cancel descriptor is the one user.

use std::io::PipeReader;

/// The descriptor of `reader` that `poll` can watch (Unix), or `None` (Windows). It belongs to `reader`.
pub fn pollable_fd(reader: &PipeReader) -> Option<i32> {
    #[cfg(unix)]
    {
        Some(std::os::fd::AsRawFd::as_raw_fd(reader))
    }
    #[cfg(not(unix))]
    {
        let _ = reader;
        None
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::io::{Read, Write};

    #[test]
    fn the_descriptor_is_the_pipes_read_end() {
        let (reader, mut writer) = std::io::pipe().expect("a pipe");
        let fd = super::pollable_fd(&reader).expect("a descriptor on Unix");
        writer.write_all(b"!").expect("write");
        // Opened again through /dev/fd (no unsafe), the descriptor reads what the writer wrote.
        let mut again = std::fs::File::open(format!("/dev/fd/{fd}")).expect("open the descriptor");
        let mut byte = [0u8; 1];
        assert_eq!(again.read(&mut byte).expect("read"), 1);
        assert_eq!(&byte, b"!");
    }
}
