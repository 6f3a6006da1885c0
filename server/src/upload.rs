//! Atomic uploads (PUT) and deletions (DELETE) inside the document root.
//!
//! An upload is written to a hidden temporary file in the target's own folder (same file
//! system, so the final `rename(2)` is atomic), flushed with `fsync`, and only then renamed over
//! the target. Readers see the old file or the new one, never half of either. If the upload is
//! cut short, or anything fails, the temporary file is removed when the [`Upload`] is dropped,
//! so an interrupted upload leaves nothing behind. That holds on every path that ends one: the
//! client vanishing, a read error or timeout, a failed commit, the server stopping, or the
//! connection being dropped without any cleanup of its own. A graceful stop that gives up on a
//! connection still blocked in a read (the `threads` model, whose connection threads the
//! process does not wait for) removes the temporary files under its root itself
//! ([`remove_unfinished_under`]).
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The temporary files of the uploads in progress, so that a stop that cuts connections short
/// can remove them ([`remove_unfinished_under`]): a thread still blocked in a read when the
/// process exits never drops its [`Upload`].
static UNFINISHED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn unfinished() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    // A panic elsewhere while the list was held leaves a list that is still whole.
    UNFINISHED.lock().unwrap_or_else(|e| e.into_inner())
}

fn forget(temp: &Path) {
    unfinished().retain(|t| t != temp);
}

/// Removes the temporary file of every upload in progress under `root` (a server's document
/// root) and returns how many there were. For the end of a graceful stop that gives up on busy
/// connections: the uploads it cuts short leave nothing behind, and their commit, should one
/// still come, fails (the temporary name is gone) and leaves the target as it was.
pub fn remove_unfinished_under(root: &Path) -> usize {
    let canonical = fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let mut list = unfinished();
    let mut removed = 0;
    list.retain(|temp| {
        if !(temp.starts_with(root) || temp.starts_with(&canonical)) {
            return true;
        }
        if fs::remove_file(temp).is_ok() {
            removed += 1;
        }
        false
    });
    removed
}

/// An upload in progress: bytes go to a temporary file next to the target.
#[derive(Debug)]
pub struct Upload {
    target: PathBuf,
    temp: PathBuf,
    file: Option<File>,
    existed: bool,
    written: u64,
}

/// What a finished upload did, for the status code: 201 Created or 204 No Content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Created,
    Replaced,
}

impl Upload {
    /// Starts an upload to `target`, whose parent folder must exist.
    pub fn begin(target: &Path) -> io::Result<Upload> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let parent = target
            .parent()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no parent folder"))?;
        let name = target
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
        let existed = match fs::symlink_metadata(target) {
            Ok(m) if m.is_dir() => {
                return Err(io::Error::new(
                    io::ErrorKind::IsADirectory,
                    "a folder has that name",
                ))
            }
            Ok(_) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(e),
        };
        let temp = parent.join(format!(
            ".{}.upload-{}-{}",
            name.to_string_lossy(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        unfinished().push(temp.clone());
        Ok(Upload {
            target: target.to_path_buf(),
            temp,
            file: Some(file),
            existed,
            written: 0,
        })
    }

    /// Appends body bytes.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("upload already finished"))?;
        file.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Bytes written so far (the unit tests check it).
    #[cfg(test)]
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Flushes to disk and renames over the target. `modified` sets the file's modification time
    /// (a server with a fixed clock, in tests); `None` keeps the time of the last write. If any
    /// of it fails, the target is untouched and the temporary file is removed (by `drop`).
    pub fn commit(mut self, modified: Option<std::time::SystemTime>) -> io::Result<Stored> {
        let file = self
            .file
            .as_ref()
            .ok_or_else(|| io::Error::other("upload already finished"))?;
        if let Some(t) = modified {
            file.set_modified(t)?;
        }
        file.sync_all()?;
        fs::rename(&self.temp, &self.target)?;
        // The temporary name is gone: from here on nothing is left to remove.
        self.file = None;
        forget(&self.temp);
        // Make the rename itself durable: sync the folder that holds both names.
        if let Some(dir) = self.target.parent() {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(if self.existed {
            Stored::Replaced
        } else {
            Stored::Created
        })
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        // Still holding the file means the upload never committed (cut short, or the commit
        // failed): remove the partial bytes.
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.temp);
            forget(&self.temp);
        }
    }
}

/// Deletes a file (never a folder).
pub fn delete(target: &Path) -> io::Result<()> {
    let meta = fs::symlink_metadata(target)?;
    if meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "folders are not deleted",
        ));
    }
    fs::remove_file(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn create_then_replace() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.txt");
        let mut up = Upload::begin(&target).unwrap();
        up.write(b"hello ").unwrap();
        up.write(b"world").unwrap();
        assert_eq!(up.written(), 11);
        assert_eq!(up.commit(None).unwrap(), Stored::Created);
        assert_eq!(fs::read(&target).unwrap(), b"hello world");
        let mut up = Upload::begin(&target).unwrap();
        up.write(b"second").unwrap();
        assert_eq!(
            fs::read(&target).unwrap(),
            b"hello world",
            "the old file stays until commit"
        );
        assert_eq!(up.commit(None).unwrap(), Stored::Replaced);
        assert_eq!(fs::read(&target).unwrap(), b"second");
        assert_eq!(leftovers(dir.path()), ["a.txt"]);
    }

    #[test]
    fn an_abandoned_upload_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut up = Upload::begin(&dir.path().join("b.bin")).unwrap();
        up.write(&[7; 1000]).unwrap();
        drop(up);
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn folders_are_neither_replaced_nor_deleted() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        assert!(Upload::begin(&dir.path().join("sub")).is_err());
        assert!(delete(&dir.path().join("sub")).is_err());
        fs::write(dir.path().join("f"), b"x").unwrap();
        delete(&dir.path().join("f")).unwrap();
        assert!(leftovers(dir.path()).contains(&"sub".to_string()));
        assert_eq!(
            delete(&dir.path().join("f")).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn a_commit_that_fails_leaves_the_target_alone_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("c.txt");
        let mut up = Upload::begin(&target).unwrap();
        up.write(b"new bytes").unwrap();
        // The name became a folder with something in it meanwhile: rename(2) cannot replace it.
        fs::create_dir(&target).unwrap();
        fs::write(target.join("keep"), b"x").unwrap();
        assert!(up.commit(None).is_err());
        assert_eq!(leftovers(dir.path()), ["c.txt"]);
        assert_eq!(leftovers(&target), ["keep"]);
    }

    #[test]
    fn a_stop_removes_the_unfinished_uploads_under_its_root_only() {
        let mine = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        fs::write(mine.path().join("kept.txt"), b"old").unwrap();
        let mut a = Upload::begin(&mine.path().join("kept.txt")).unwrap();
        a.write(b"new").unwrap();
        let b = Upload::begin(&mine.path().join("b.bin")).unwrap();
        let c = Upload::begin(&other.path().join("c.bin")).unwrap();
        assert_eq!(remove_unfinished_under(mine.path()), 2);
        assert_eq!(leftovers(mine.path()), ["kept.txt"]);
        assert_eq!(
            leftovers(other.path()).len(),
            1,
            "another root's upload goes on"
        );
        // A commit after the stop fails and the old file stays; dropping is harmless.
        assert!(a.commit(None).is_err());
        assert_eq!(fs::read(mine.path().join("kept.txt")).unwrap(), b"old");
        drop(b);
        assert_eq!(remove_unfinished_under(mine.path()), 0);
        assert_eq!(c.commit(None).unwrap(), Stored::Created);
        assert_eq!(leftovers(other.path()), ["c.bin"]);
    }
}
