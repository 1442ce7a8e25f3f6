//! The outage buffer: durable changes that could not reach the shared database, kept on local disk in the
//! order they were acknowledged, until the database returns.
//!
//! One file of JSON lines, one line per batch, each line written and `fdatasync`ed before the batch counts as
//! stored, so an acknowledged change survives a crash of the daemon during the outage. Replaying is safe more
//! than once (the PostgreSQL store applies a batch idempotently), so the file is cleared only after every batch
//! in it was written. A torn last line (a crash mid-write) was never acknowledged and is dropped on reading.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use synccenter_core::Change;

/// The buffer's file name inside the data directory.
pub(crate) const FILE_NAME: &str = "fleet-buffer.jsonl";

/// Why the buffer could not take or give back changes.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BufferError {
    #[error(
        "the local buffer {path} is full ({bytes} of {cap} bytes); durable changes are refused until the database returns"
    )]
    Full { path: PathBuf, bytes: u64, cap: u64 },
    #[error("the local buffer {path} cannot be written: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the local buffer {path} holds an unreadable batch on line {line}: {detail}")]
    Unreadable { path: PathBuf, line: usize, detail: String },
}

/// The file and what it holds.
#[derive(Debug)]
pub(crate) struct OutageBuffer {
    path: PathBuf,
    file: File,
    batches: u64,
    bytes: u64,
    cap: u64,
}

impl OutageBuffer {
    /// Opens (creating) the buffer in `dir`, holding at most `cap` bytes.
    pub(crate) fn open(dir: &Path, cap: u64) -> Result<Self, BufferError> {
        let path = dir.join(FILE_NAME);
        let file = match OpenOptions::new().create(true).read(true).append(true).open(&path) {
            Ok(f) => f,
            Err(source) => return Err(BufferError::Io { path, source }),
        };
        let mut buffer = Self { path, file, batches: 0, bytes: 0, cap };
        let complete = buffer.read_all()?;
        buffer.batches = complete.len() as u64;
        buffer.bytes =
            buffer.file.metadata().map_err(|source| BufferError::Io { path: buffer.path.clone(), source })?.len();
        Ok(buffer)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.batches == 0
    }

    pub(crate) fn batches(&self) -> u64 {
        self.batches
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Appends one batch and syncs it to disk.
    pub(crate) fn append(&mut self, changes: &[Change]) -> Result<(), BufferError> {
        let mut line = serde_json::to_vec(changes)
            .map_err(|e| BufferError::Io { path: self.path.clone(), source: std::io::Error::other(e) })?;
        line.push(b'\n');
        if self.bytes + line.len() as u64 > self.cap {
            return Err(BufferError::Full { path: self.path.clone(), bytes: self.bytes, cap: self.cap });
        }
        let io = |source| BufferError::Io { path: self.path.clone(), source };
        self.file.write_all(&line).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.batches += 1;
        self.bytes += line.len() as u64;
        Ok(())
    }

    /// Every complete batch, oldest first.
    pub(crate) fn read_all(&mut self) -> Result<Vec<Vec<Change>>, BufferError> {
        let io = |source| BufferError::Io { path: self.path.clone(), source };
        self.file.seek(SeekFrom::Start(0)).map_err(io)?;
        let mut reader = BufReader::new(&self.file);
        let mut out = Vec::new();
        let mut line = Vec::new();
        let mut number = 0;
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line).map_err(io)?;
            if n == 0 {
                break;
            }
            number += 1;
            if line.last() != Some(&b'\n') {
                tracing::warn!(path = %self.path.display(), line = number, "dropping a torn last batch (never acknowledged)");
                break;
            }
            let batch: Vec<Change> = serde_json::from_slice(&line).map_err(|e| BufferError::Unreadable {
                path: self.path.clone(),
                line: number,
                detail: e.to_string(),
            })?;
            out.push(batch);
        }
        Ok(out)
    }

    /// Drops the `n` oldest batches once they were written elsewhere, keeping any appended since. The rest is
    /// written to a new file that replaces the old one atomically, so a crash leaves either file whole.
    pub(crate) fn drop_first(&mut self, n: usize) -> Result<(), BufferError> {
        let rest: Vec<Vec<Change>> = self.read_all()?.into_iter().skip(n).collect();
        let path = self.path.clone();
        let io = |source| BufferError::Io { path: path.clone(), source };
        if rest.is_empty() {
            self.file.set_len(0).map_err(io)?;
            self.file.sync_all().map_err(io)?;
            self.batches = 0;
            self.bytes = 0;
            return Ok(());
        }
        let tmp = self.path.with_extension("jsonl.tmp");
        let mut bytes = Vec::new();
        for batch in &rest {
            serde_json::to_writer(&mut bytes, batch).map_err(|e| io(std::io::Error::other(e)))?;
            bytes.push(b'\n');
        }
        let mut file = File::create(&tmp).map_err(io)?;
        file.write_all(&bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
        // Windows cannot replace a file that is open: ours is closed (the new one stands in) for the move, and
        // the buffer is opened again after it, whether the move happened or not (the old file is then whole).
        self.file = file;
        let replaced = synccenter_platform::fs::replace_durably(&tmp, &self.path);
        self.file = OpenOptions::new().read(true).append(true).open(&self.path).map_err(io)?;
        replaced.map_err(io)?;
        self.batches = rest.len() as u64;
        self.bytes = bytes.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use synccenter_core::{HandlerId, SessionId, Timestamp};

    use super::*;

    fn batch(n: u128) -> Vec<Change> {
        vec![
            Change::SessionMarkedManual(SessionId(uuid_v4::Uuid::from_u128(n))),
            Change::EventsPurged { handler: HandlerId::new("h").unwrap(), before: Timestamp::from_micros(n as i64) },
        ]
    }

    #[test]
    fn batches_survive_reopening_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = OutageBuffer::open(dir.path(), 1 << 20).unwrap();
        assert!(b.is_empty());
        b.append(&batch(1)).unwrap();
        b.append(&batch(2)).unwrap();
        drop(b);
        let mut b = OutageBuffer::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(b.batches(), 2);
        assert_eq!(b.read_all().unwrap(), vec![batch(1), batch(2)]);
        b.drop_first(1).unwrap();
        b.append(&batch(3)).unwrap();
        assert_eq!(b.batches(), 2);
        assert_eq!(OutageBuffer::open(dir.path(), 1 << 20).unwrap().read_all().unwrap(), vec![batch(2), batch(3)]);
        b.drop_first(2).unwrap();
        assert!(b.is_empty());
        assert_eq!(OutageBuffer::open(dir.path(), 1 << 20).unwrap().batches(), 0);
    }

    #[test]
    fn a_torn_last_line_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = OutageBuffer::open(dir.path(), 1 << 20).unwrap();
        b.append(&batch(1)).unwrap();
        drop(b);
        let mut f = OpenOptions::new().append(true).open(dir.path().join(FILE_NAME)).unwrap();
        f.write_all(b"[{\"SessionMarkedMan").unwrap();
        let mut b = OutageBuffer::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(b.read_all().unwrap(), vec![batch(1)]);
    }

    #[test]
    fn a_full_buffer_refuses_and_keeps_what_it_has() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = OutageBuffer::open(dir.path(), 200).unwrap();
        let mut stored = 0;
        let err = loop {
            match b.append(&batch(stored + 1)) {
                Ok(()) => stored += 1,
                Err(e) => break e,
            }
        };
        assert!(matches!(err, BufferError::Full { .. }), "{err}");
        assert!(err.to_string().contains(FILE_NAME), "{err}");
        assert_eq!(b.read_all().unwrap().len() as u128, stored);
    }

    #[test]
    fn garbage_in_the_middle_is_an_error_naming_the_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), "not json\n").unwrap();
        let err = OutageBuffer::open(dir.path(), 1 << 20).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
