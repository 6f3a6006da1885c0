//! Recently found files, kept for up to a second, so a busy server does not resolve the same
//! path (canonicalize, stat, open, read) on every request. The same idea as nginx's
//! `open_file_cache`: a file changed on disk is seen within [`VALIDITY`]; a PUT or DELETE
//! through this server is seen at once (every write bumps [`WRITES`], which empties every
//! cache), and so is a reload (the settings generation is part of the check).
//!
//! Each thread has its own cache (no lock on the hot path); small files keep their bytes, and
//! up to [`OPEN_FILES`] larger ones keep their open descriptor, so serving them again costs no
//! `openat` and no `close` (with `sendfile`, a 100 KiB response is then `recvfrom`, `sendto`
//! and `sendfile`). A descriptor is dropped when its entry is replaced, when the cache is
//! emptied, or once the entry has expired ([`drop_expired`], from the loop's sweep); a file replaced on disk (renamed
//! over) is served from the old descriptor for at most [`VALIDITY`], as its size and entity tag
//! are.
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::site::{Contents, Found, FoundFile};

/// How long an entry is trusted.
pub const VALIDITY: Duration = Duration::from_secs(1);
/// Files up to this size keep their bytes in the cache.
pub const SMALL_FILE: u64 = 16 * 1024;
/// Entries per thread; past this the cache is emptied (simple, and rare for a static site).
const CAPACITY: usize = 1024;
/// Entries per thread that may keep a file open.
pub const OPEN_FILES: usize = 64;

/// Bumped by every write through this server.
pub static WRITES: AtomicU64 = AtomicU64::new(0);

/// A found file with what serving it needs, ready to reuse.
#[derive(Clone)]
pub struct CachedFile {
    pub file: FoundFile,
    pub content_type: Arc<str>,
    /// The whole file, for small ones.
    pub bytes: Option<Arc<[u8]>>,
    /// The gzip form, made the first time a client asks for it.
    pub gzipped: Arc<OnceLock<Option<Arc<[u8]>>>>,
}

impl CachedFile {
    /// An entry for a file found without the cache. A small file keeps its bytes instead of
    /// its descriptor.
    pub fn new(mut file: FoundFile, content_type: String) -> CachedFile {
        let bytes = small_bytes(&file);
        if bytes.is_some() {
            close_descriptor(&mut file);
        }
        CachedFile {
            file,
            content_type: content_type.into(),
            bytes,
            gzipped: Arc::default(),
        }
    }

    fn holds_descriptor(&self) -> bool {
        matches!(self.file.contents, Contents::Disk(..))
    }
}

/// Keeps the path, not the descriptor: the file is opened again when it is sent.
fn close_descriptor(file: &mut FoundFile) {
    if let Contents::Disk(_, path) = &file.contents {
        file.contents = Contents::Path(path.clone());
    }
}

fn small_bytes(file: &FoundFile) -> Option<Arc<[u8]>> {
    match &file.contents {
        Contents::Static(b) if file.len <= SMALL_FILE => Some(Arc::from(*b)),
        Contents::Disk(f, _) if file.len <= SMALL_FILE => {
            use std::os::unix::fs::FileExt;
            let mut buf = vec![0; file.len as usize];
            f.read_exact_at(&mut buf, 0).ok().map(|()| Arc::from(buf))
        }
        _ => None,
    }
}

struct Entry {
    at: Instant,
    writes: u64,
    generation: u64,
    value: CachedFile,
}

impl Entry {
    fn is_fresh(&self, writes: u64, generation: u64, now: Instant) -> bool {
        self.writes == writes
            && self.generation == generation
            && now.duration_since(self.at) < VALIDITY
    }
}

/// One thread's entries, and how many of them hold a file open.
struct Cache {
    entries: HashMap<String, Entry>,
    open: usize,
    last_purge: Option<Instant>,
}

impl Cache {
    /// Drops the entries that can no longer be used (and their descriptors).
    fn purge(&mut self, writes: u64, generation: u64, now: Instant) {
        self.entries
            .retain(|_, e| e.is_fresh(writes, generation, now));
        self.open = self
            .entries
            .values()
            .filter(|e| e.value.holds_descriptor())
            .count();
        self.last_purge = Some(now);
    }

    fn insert(&mut self, path: &str, mut entry: Entry) {
        if self.entries.len() >= CAPACITY {
            self.entries.clear();
            self.open = 0;
        }
        let due = self
            .last_purge
            .is_none_or(|at| entry.at.duration_since(at) >= VALIDITY);
        if entry.value.holds_descriptor() && (due || self.open >= OPEN_FILES) {
            self.purge(entry.writes, entry.generation, entry.at);
        }
        if entry.value.holds_descriptor() {
            if self.open < OPEN_FILES {
                self.open += 1;
            } else {
                close_descriptor(&mut entry.value.file);
            }
        }
        if let Some(old) = self.entries.insert(path.to_string(), entry) {
            if old.value.holds_descriptor() {
                self.open -= 1;
            }
        }
    }
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache {
        entries: HashMap::new(),
        open: 0,
        last_purge: None,
    });
}

/// The cached file for `path`, or `lookup()`'s answer (cached when it is a file).
pub fn get_or_find(
    path: &str,
    generation: u64,
    now: Instant,
    lookup: impl FnOnce() -> Found,
    content_type: impl FnOnce(&FoundFile) -> String,
) -> Result<CachedFile, Found> {
    let writes = WRITES.load(Ordering::Acquire);
    let hit = CACHE.with(|c| {
        let c = c.borrow();
        c.entries
            .get(path)
            .filter(|e| e.is_fresh(writes, generation, now))
            .map(|e| e.value.clone())
    });
    if let Some(v) = hit {
        return Ok(v);
    }
    let file = match lookup() {
        Found::File(f) => f,
        other => return Err(other),
    };
    let ty = content_type(&file);
    let value = CachedFile::new(file, ty);
    let entry = Entry {
        at: now,
        writes,
        generation,
        value: value.clone(),
    };
    CACHE.with(|c| c.borrow_mut().insert(path, entry));
    Ok(value)
}

/// Closes the files this thread's cache holds for entries that have expired. The event loops
/// call it from their sweep and idle pool workers between jobs, so a file served once is not
/// held open for long after [`VALIDITY`].
pub fn drop_expired(now: Instant) {
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.open == 0 {
            return;
        }
        c.entries.retain(|_, e| now.duration_since(e.at) < VALIDITY);
        c.open = c
            .entries
            .values()
            .filter(|e| e.value.holds_descriptor())
            .count();
    });
}

/// Records a write through this server: every cached entry is stale now.
pub fn note_write() {
    WRITES.fetch_add(1, Ordering::AcqRel);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::Contents;
    use std::time::SystemTime;
    use wire::http1::conditional::EntityTag;

    /// A found file of `len` bytes, open, as the site lookup makes it.
    fn found(dir: &std::path::Path, name: &str, len: usize) -> Found {
        let real = dir.join(name);
        std::fs::write(&real, vec![b'x'; len]).unwrap();
        Found::File(FoundFile {
            name: format!("/{name}"),
            path: Arc::new(wire::http1::SafePath::from_target_path(&format!("/{name}")).unwrap()),
            contents: Contents::Disk(Arc::new(std::fs::File::open(&real).unwrap()), real),
            len: len as u64,
            modified: SystemTime::now(),
            etag: EntityTag::strong("1").unwrap(),
        })
    }

    fn open_entries() -> usize {
        CACHE.with(|c| c.borrow().open)
    }

    #[test]
    fn large_files_keep_their_descriptor_up_to_the_cap_small_ones_their_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let now = Instant::now();
        // Each test runs on its own thread: this cache starts empty.
        let small = get_or_find("/s", 0, now, || found(dir.path(), "s", 10), |_| "t".into());
        let small = small.ok().unwrap();
        assert!(small.bytes.is_some());
        assert!(matches!(small.file.contents, Contents::Path(_)));

        let big = SMALL_FILE as usize + 1;
        let first = get_or_find(
            "/b0",
            0,
            now,
            || found(dir.path(), "b0", big),
            |_| "t".into(),
        );
        let Contents::Disk(f, _) = &first.ok().unwrap().file.contents else {
            panic!("a large file keeps its descriptor");
        };
        let again = get_or_find("/b0", 0, now, || panic!("a hit"), |_| "t".into());
        let Contents::Disk(g, _) = &again.ok().unwrap().file.contents else {
            panic!("the hit has the descriptor");
        };
        assert!(Arc::ptr_eq(f, g), "the same open file, not opened again");

        for i in 1..OPEN_FILES + 5 {
            let name = format!("b{i}");
            let _ = get_or_find(
                &format!("/{name}"),
                0,
                now,
                || found(dir.path(), &name, big),
                |_| "t".into(),
            );
        }
        assert_eq!(
            open_entries(),
            OPEN_FILES,
            "no more descriptors than the cap"
        );
        // Past the cap, the file found now serves this request, and its entry keeps the path.
        let past = get_or_find(
            "/b70",
            0,
            now,
            || found(dir.path(), "b70", big),
            |_| "t".into(),
        );
        assert!(matches!(
            past.ok().unwrap().file.contents,
            Contents::Disk(..)
        ));
        let hit = get_or_find("/b70", 0, now, || panic!("a hit"), |_| "t".into());
        assert!(matches!(hit.ok().unwrap().file.contents, Contents::Path(_)));
        assert_eq!(open_entries(), OPEN_FILES);

        // Expired entries close their files when the loop's sweep asks.
        drop_expired(now + VALIDITY / 2);
        assert_eq!(open_entries(), OPEN_FILES, "not expired yet");
        drop_expired(now + VALIDITY);
        assert_eq!(open_entries(), 0);
        let _ = get_or_find(
            "/b0",
            0,
            now,
            || found(dir.path(), "b0", big),
            |_| "t".into(),
        );
        assert_eq!(open_entries(), 1);

        // A second later every entry has expired: the next miss drops their descriptors.
        let later = now + VALIDITY;
        let _ = get_or_find(
            "/n",
            0,
            later,
            || found(dir.path(), "n", big),
            |_| "t".into(),
        );
        assert_eq!(open_entries(), 1, "only the new entry holds a file open");
    }
}
