//! Recently found files, kept for up to a second, so a busy server does not resolve the same
//! path (canonicalize, stat, open, read) on every request. The same idea as nginx's
//! `open_file_cache`: a file changed on disk is seen within [`VALIDITY`]; a PUT or DELETE
//! through this server is seen at once (every write bumps [`WRITES`], which empties every
//! cache), and so is a reload (the settings generation is part of the check).
//!
//! Each thread has its own cache (no lock on the hot path); small files keep their bytes.
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
    /// An entry for a file found without the cache.
    pub fn new(mut file: FoundFile, content_type: String) -> CachedFile {
        let bytes = small_bytes(&file);
        // Keep the path, not the descriptor: a cache must not hold files open.
        if let Contents::Disk(_, path) = &file.contents {
            file.contents = Contents::Path(path.clone());
        }
        CachedFile {
            file,
            content_type: content_type.into(),
            bytes,
            gzipped: Arc::default(),
        }
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

thread_local! {
    static CACHE: RefCell<HashMap<String, Entry>> = RefCell::new(HashMap::new());
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
        c.get(path)
            .filter(|e| {
                e.writes == writes
                    && e.generation == generation
                    && now.duration_since(e.at) < VALIDITY
            })
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
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CAPACITY {
            c.clear();
        }
        c.insert(
            path.to_string(),
            Entry {
                at: now,
                writes,
                generation,
                value: value.clone(),
            },
        );
    });
    Ok(value)
}

/// Records a write through this server: every cached entry is stale now.
pub fn note_write() {
    WRITES.fetch_add(1, Ordering::AcqRel);
}
