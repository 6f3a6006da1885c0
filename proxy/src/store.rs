//! Where cached responses live: a memory index over one file per response in `--cache-dir`,
//! evicted least-recently-used first to stay under `--cache-size`.
//!
//! The rules (what may be stored, when it is fresh) are `wire::cache`'s; this module only keeps
//! what those rules decided to keep, and makes sure that what it hands back is what was stored.
//!
//! # One file per stored response
//!
//! ```text
//! +-------------------+---------------------------------------------+------------------------+
//! | body (N bytes)    | meta: "key URI\n" "request-time S\n"        | trailer, 32 bytes:     |
//! | as received,      |       "response-time S\n"                   | meta length  (u64 LE)  |
//! | decoded from its  |       response head (status line + fields)  | meta FNV-1a  (u64 LE)  |
//! | transfer coding   |       request head with the Vary'd fields   | body FNV-1a  (u64 LE)  |
//! |                   |                                             | "plcache1"             |
//! +-------------------+---------------------------------------------+------------------------+
//! ```
//!
//! The body comes first so a response is written to disk as it streams through, without knowing
//! its length in advance; the meta and the fixed trailer follow once it is complete. Every file
//! is written under a temporary name (`tmp-...`) and renamed into place (`<id>.entry`) only when
//! complete, so a crash leaves at most a temporary file, which the next start deletes; a reader
//! never sees half an entry. Freshening after a 304 writes a new file the same way (the body is
//! copied by the kernel) and renames it over the old one.
//!
//! On start the index is rebuilt from the `*.entry` files: the trailer and meta are read and
//! checked (magic, lengths that add up to the file size, the meta checksum); a file that fails
//! is deleted. The body checksum is checked when the body is read: at once for a small body
//! (kept in memory afterwards), while streaming for a large one (the stream is cut and the entry
//! dropped on a mismatch).
//!
//! # Memory
//!
//! The index holds each response's head and, for bodies up to [`HOT_BODY_LIMIT`], the body
//! itself (up to [`HOT_TOTAL_LIMIT`] in all), so a hit on a small object costs no file system
//! call. Larger bodies are read from disk in 64 KiB pieces.
//!
//! # The fast path of a hit
//!
//! Every entry keeps, beside its stored response, what `wire::cache`'s decision reads from it
//! worked out once ([`wire::cache::Prepared`]: the freshness lifetime, §4.2.1, and the corrected
//! initial age, §4.2.3, so the current age is one addition), prepared again whenever the stored
//! response changes. Both paths decide with `wire::cache::lookup_prepared` on it.
//!
//! An entry whose body is in memory also keeps a [`ReadyReply`]: the response head as it is
//! served ([`StoredResponse::reply_head`]) and the body. [`Store::fresh_hit`] answers a request
//! that [asks nothing of the cache](wire::cache::asks_nothing_of_the_cache) with one lock and no
//! allocation: find, decide, mark as used. Anything else goes the long way ([`Store::select`]).

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use wire::cache::vary::{self, VaryMatch};
use wire::cache::{lookup_prepared, Decision, FreshnessConfig, Prepared, StoredResponse};
use wire::http1::date::HttpDate;
use wire::http1::{Headers, Method, ParseOptions, RequestHead, ResponseHead, StatusCode};
use wire::Status;

/// Bodies up to this size are kept in memory besides on disk.
pub const HOT_BODY_LIMIT: u64 = 64 * 1024;
/// The most memory all in-memory bodies take together.
pub const HOT_TOTAL_LIMIT: u64 = 32 * 1024 * 1024;

const MAGIC: &[u8; 8] = b"plcache1";
const TRAILER_LEN: u64 = 32;

/// A FNV-1a 64-bit hash, fed piece by piece (a check against truncation and bit rot, not an
/// adversary).
#[derive(Debug, Clone, Copy)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    /// Adds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }

    /// The hash so far.
    pub fn value(&self) -> u64 {
        self.0
    }

    fn of(bytes: &[u8]) -> u64 {
        let mut h = Fnv1a::default();
        h.update(bytes);
        h.value()
    }
}

/// One stored response in the index.
#[derive(Debug)]
struct Entry {
    key: String,
    stored: StoredResponse,
    /// `wire::cache`'s inputs from `stored`, kept in step with it by [`Entry::new`] and
    /// [`Entry::set_stored`].
    prepared: Prepared,
    body_len: u64,
    body_checksum: u64,
    file_len: u64,
    hot: Option<Arc<Vec<u8>>>,
    /// The body on disk was read whole and matched its checksum since the index was built
    /// (so spans of it may be sent without reading it all again).
    verified: bool,
    /// Ready to serve as a fresh hit (only with `hot`, see [`ReadyReply::new`]).
    reply: Option<Arc<ReadyReply>>,
    tick: u64,
}

impl Entry {
    fn new(
        key: String,
        stored: StoredResponse,
        body_len: u64,
        body_checksum: u64,
        file_len: u64,
    ) -> Entry {
        Entry {
            key,
            prepared: Prepared::new(&stored, &FreshnessConfig::default()),
            stored,
            body_len,
            body_checksum,
            file_len,
            hot: None,
            verified: false,
            reply: None,
            tick: 0,
        }
    }

    /// Replaces the stored response (freshened after a 304), and what is worked out from it.
    fn set_stored(&mut self, stored: StoredResponse) {
        self.prepared = Prepared::new(&stored, &FreshnessConfig::default());
        self.stored = stored;
        if let Some(hot) = self.hot.take() {
            self.set_hot(hot);
        }
    }

    /// Sets the in-memory body and the ready reply that goes with it.
    fn set_hot(&mut self, body: Arc<Vec<u8>>) {
        self.reply = ReadyReply::new(&self.stored, &self.prepared, &body).map(Arc::new);
        self.hot = Some(body);
    }
}

/// A stored response ready to be served whole as a fresh hit, without re-reading its header
/// section.
#[derive(Debug)]
pub struct ReadyReply {
    /// The head as served, before the proxy's own fields: [`StoredResponse::reply_head`], with
    /// `Age` set per hit.
    pub head: ResponseHead,
    /// The body.
    pub body: Arc<Vec<u8>>,
}

impl ReadyReply {
    /// `None` for what the fast path never serves: a response that varies (its secondary key
    /// must be matched, which takes allocations), one that must always be validated
    /// (`no-cache`), one without a body by its status.
    fn new(stored: &StoredResponse, prepared: &Prepared, body: &Arc<Vec<u8>>) -> Option<Self> {
        let bodiless = matches!(stored.status, 100..=199 | 204 | 304);
        if bodiless
            || prepared.varies
            || !stored.varying_request_fields.is_empty()
            || prepared.requires_validation
        {
            return None;
        }
        Some(ReadyReply {
            head: stored.reply_head(prepared.corrected_initial_age, body.len() as u64),
            body: body.clone(),
        })
    }
}

/// What [`Store::fresh_hit`] found.
#[derive(Debug, Clone)]
pub struct FreshHit {
    /// The entry's id.
    pub id: u64,
    /// The reply to send.
    pub reply: Arc<ReadyReply>,
    /// Its current age, for the `Age` field.
    pub age: u64,
}

#[derive(Debug, Default)]
struct Index {
    by_key: HashMap<String, Vec<u64>>,
    entries: HashMap<u64, Entry>,
    lru: BTreeMap<u64, u64>,
    tick: u64,
    bytes: u64,
    hot_bytes: u64,
}

impl Index {
    fn touch(&mut self, id: u64) {
        self.tick += 1;
        let tick = self.tick;
        if let Some(entry) = self.entries.get_mut(&id) {
            self.lru.remove(&entry.tick);
            entry.tick = tick;
            self.lru.insert(tick, id);
        }
    }

    fn remove(&mut self, id: u64) -> Option<Entry> {
        let entry = self.entries.remove(&id)?;
        self.lru.remove(&entry.tick);
        self.bytes -= entry.file_len;
        if let Some(hot) = &entry.hot {
            self.hot_bytes -= hot.len() as u64;
        }
        if let Some(ids) = self.by_key.get_mut(&entry.key) {
            ids.retain(|&i| i != id);
            if ids.is_empty() {
                self.by_key.remove(&entry.key);
            }
        }
        Some(entry)
    }

    fn insert(&mut self, id: u64, mut entry: Entry) {
        self.tick += 1;
        entry.tick = self.tick;
        self.lru.insert(entry.tick, id);
        self.bytes += entry.file_len;
        if let Some(hot) = &entry.hot {
            self.hot_bytes += hot.len() as u64;
        }
        self.by_key
            .entry(entry.key.clone())
            .or_default()
            .insert(0, id);
        self.entries.insert(id, entry);
    }
}

/// Where a stored body is read from.
#[derive(Debug, Clone)]
pub enum BodySource {
    /// In memory (checked when it was loaded).
    Memory(Arc<Vec<u8>>),
    /// On disk: read `len` bytes from the start of the file and compare the checksum at the end.
    File {
        /// The entry file.
        path: PathBuf,
        /// Body length.
        len: u64,
        /// FNV-1a of the body.
        checksum: u64,
    },
}

impl BodySource {
    /// The body's length.
    pub fn len(&self) -> u64 {
        match self {
            BodySource::Memory(body) => body.len() as u64,
            BodySource::File { len, .. } => *len,
        }
    }

    /// True for an empty body.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What [`Store::select`] found for a request.
#[derive(Debug, Clone)]
pub struct Selected<D> {
    /// The entry's id, for [`Store::body`], [`Store::freshen`] and [`Store::remove`].
    pub id: u64,
    /// A copy of the stored response.
    pub stored: StoredResponse,
    /// What the caller decided about it.
    pub decision: D,
}

/// Counts from opening a cache folder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rebuilt {
    /// Entries read back into the index.
    pub loaded: usize,
    /// Entry files that were truncated or corrupt, and deleted.
    pub dropped: usize,
    /// Leftover temporary files (from a crash mid-write), deleted.
    pub leftovers: usize,
}

/// The cache's storage. Shared by every connection thread.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    capacity: u64,
    index: Mutex<Index>,
    next_id: AtomicU64,
}

impl Store {
    /// Opens (creating it if needed) the cache folder and rebuilds the index from its files.
    pub fn open(dir: &Path, capacity: u64) -> io::Result<(Store, Rebuilt)> {
        fs::create_dir_all(dir)?;
        let mut report = Rebuilt::default();
        let mut found: Vec<(std::time::SystemTime, u64, Entry)> = Vec::new();
        let mut max_id = 0;
        for item in fs::read_dir(dir)? {
            let item = item?;
            let name = item.file_name().to_string_lossy().into_owned();
            let path = item.path();
            if name.starts_with("tmp-") {
                let _ = fs::remove_file(&path);
                report.leftovers += 1;
                continue;
            }
            let Some(id) = name
                .strip_suffix(".entry")
                .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            else {
                continue;
            };
            max_id = max_id.max(id);
            match read_entry_meta(&path) {
                Ok(entry) => {
                    let modified = item
                        .metadata()
                        .and_then(|m| m.modified())
                        .unwrap_or(std::time::UNIX_EPOCH);
                    found.push((modified, id, entry));
                }
                Err(_) => {
                    let _ = fs::remove_file(&path);
                    report.dropped += 1;
                }
            }
        }
        found.sort_by_key(|(modified, id, _)| (*modified, *id));
        let mut index = Index::default();
        for (_, id, entry) in found {
            index.insert(id, entry);
            report.loaded += 1;
        }
        let store = Store {
            dir: dir.to_path_buf(),
            capacity,
            index: Mutex::new(index),
            next_id: AtomicU64::new(max_id + 1),
        };
        store.evict(&mut store.lock());
        Ok((store, report))
    }

    fn lock(&self) -> MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The largest body worth storing: a quarter of the capacity, so one object never empties
    /// the cache.
    pub fn max_body(&self) -> u64 {
        self.capacity / 4
    }

    /// Bytes on disk and entries.
    pub fn usage(&self) -> (u64, usize) {
        let index = self.lock();
        (index.bytes, index.entries.len())
    }

    /// The configured capacity in bytes.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Finds the stored response for `key` whose secondary key (`Vary`) matches the request,
    /// and lets `decide` judge it (usually with `wire::cache::lookup_prepared`, given what is
    /// prepared from it). `None` when nothing stored for `key` matches.
    pub fn select<D>(
        &self,
        key: &str,
        request_headers: &Headers,
        decide: impl FnOnce(&StoredResponse, &Prepared) -> D,
    ) -> Option<Selected<D>> {
        let index = self.lock();
        let ids = index.by_key.get(key)?;
        let id = *ids.iter().find(|id| {
            let entry = &index.entries[id];
            vary::matches(
                &entry.stored.headers,
                &entry.stored.varying_request_fields,
                request_headers,
            ) == VaryMatch::Match
        })?;
        let entry = &index.entries[&id];
        let (stored, prepared) = (entry.stored.clone(), entry.prepared);
        drop(index);
        let decision = decide(&stored, &prepared);
        Some(Selected {
            id,
            stored,
            decision,
        })
    }

    /// The stored response for `key`, when `wire::cache::lookup_prepared` finds it a fresh hit
    /// for `method` with `request_headers` at `now` and it has a `ReadyReply` (one response
    /// stored for the key, its body in memory). The caller makes sure the request [asks nothing
    /// of the cache](wire::cache::asks_nothing_of_the_cache), so the reply is the stored response
    /// whole. Marks it as used. `None` sends the caller the long way ([`Store::select`]).
    pub fn fresh_hit(
        &self,
        key: &str,
        method: &Method,
        request_headers: &Headers,
        now: HttpDate,
    ) -> Option<FreshHit> {
        let mut index = self.lock();
        let id = match index.by_key.get(key)?.as_slice() {
            [id] => *id,
            _ => return None,
        };
        let entry = index.entries.get(&id)?;
        let reply = entry.reply.clone()?;
        let decision = lookup_prepared(
            method,
            request_headers,
            Some((&entry.stored, &entry.prepared)),
            now,
        );
        let Decision::Fresh { age, .. } = decision else {
            return None;
        };
        index.touch(id);
        Some(FreshHit { id, reply, age })
    }

    /// True when something is stored for `key` (whatever its secondary key).
    pub fn contains_key(&self, key: &str) -> bool {
        self.lock().by_key.contains_key(key)
    }

    /// The body of entry `id`, marking the entry as just used. A small body is loaded (and its
    /// checksum checked) the first time; a corrupt one drops the entry and answers `None`.
    pub fn body(&self, id: u64) -> Option<BodySource> {
        let mut index = self.lock();
        index.touch(id);
        let entry = index.entries.get(&id)?;
        if let Some(hot) = &entry.hot {
            return Some(BodySource::Memory(hot.clone()));
        }
        let path = self.entry_path(id);
        let (len, checksum) = (entry.body_len, entry.body_checksum);
        if len > HOT_BODY_LIMIT || index.hot_bytes + len > HOT_TOTAL_LIMIT {
            return Some(BodySource::File {
                path,
                len,
                checksum,
            });
        }
        drop(index);
        let loaded = read_body(&path, len)
            .ok()
            .filter(|b| Fnv1a::of(b) == checksum);
        let mut index = self.lock();
        match loaded {
            Some(body) => {
                let body = Arc::new(body);
                if let Some(entry) = index.entries.get_mut(&id) {
                    if entry.hot.is_none() {
                        entry.set_hot(body.clone());
                        index.hot_bytes += len;
                    }
                }
                Some(BodySource::Memory(body))
            }
            None => {
                if index.remove(id).is_some() {
                    let _ = fs::remove_file(self.entry_path(id));
                }
                None
            }
        }
    }

    /// True when the body of entry `id` matches its checksum, read whole once (a body in memory
    /// was checked when it was loaded). A corrupt body drops the entry and answers false. For
    /// sending spans of a large body: a span cannot be checked by itself.
    pub fn verify_file_body(&self, id: u64) -> bool {
        let (path, len, checksum) = {
            let index = self.lock();
            let Some(entry) = index.entries.get(&id) else {
                return false;
            };
            if entry.verified || entry.hot.is_some() {
                return true;
            }
            (self.entry_path(id), entry.body_len, entry.body_checksum)
        };
        let matches = File::open(&path).and_then(|file| {
            let mut hash = Fnv1a::default();
            let mut reader = io::BufReader::with_capacity(64 * 1024, file.take(len));
            let mut read = 0;
            loop {
                let piece = reader.fill_buf()?;
                if piece.is_empty() {
                    break;
                }
                hash.update(piece);
                read += piece.len() as u64;
                let n = piece.len();
                reader.consume(n);
            }
            Ok(read == len && hash.value() == checksum)
        });
        let mut index = self.lock();
        if matches.unwrap_or(false) {
            if let Some(entry) = index.entries.get_mut(&id) {
                entry.verified = true;
            }
            return true;
        }
        if index.remove(id).is_some() {
            let _ = fs::remove_file(&path);
        }
        false
    }

    /// Forgets entry `id` (its body turned out corrupt while being read).
    pub fn remove(&self, id: u64) {
        let mut index = self.lock();
        if index.remove(id).is_some() {
            let _ = fs::remove_file(self.entry_path(id));
        }
    }

    /// Forgets everything stored for `key` (invalidation, RFC 9111 §4.4). Returns how many
    /// responses were dropped.
    pub fn remove_key(&self, key: &str) -> usize {
        let mut index = self.lock();
        let ids = index.by_key.get(key).cloned().unwrap_or_default();
        for &id in &ids {
            index.remove(id);
            let _ = fs::remove_file(self.entry_path(id));
        }
        ids.len()
    }

    /// Starts writing a new entry's body to a temporary file.
    pub fn begin(&self, key: &str) -> io::Result<PendingEntry> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let temp = self.dir.join(format!("tmp-{id:016x}"));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        Ok(PendingEntry {
            id,
            key: key.to_owned(),
            temp,
            file: Some(io::BufWriter::with_capacity(64 * 1024, file)),
            len: 0,
            checksum: Fnv1a::default(),
            hot: Some(Vec::new()),
            max_len: self.max_body(),
        })
    }

    /// Completes `pending` with its response head: writes the meta and trailer, renames the file
    /// into place and puts it in the index, replacing the stored responses this request would
    /// have selected (same key, matching secondary key), then evicts down to the capacity.
    pub fn commit(
        &self,
        mut pending: PendingEntry,
        stored: StoredResponse,
        request_headers: &Headers,
    ) -> io::Result<()> {
        let mut file = pending.file.take().expect("a pending entry has its file");
        let meta = encode_meta(&pending.key, &stored);
        file.write_all(&meta)?;
        file.write_all(&trailer(
            meta.len() as u64,
            Fnv1a::of(&meta),
            pending.checksum.value(),
        ))?;
        file.flush()?;
        drop(file);
        let final_path = self.entry_path(pending.id);
        fs::rename(&pending.temp, &final_path)?;
        let hot = pending
            .hot
            .take()
            .filter(|b| b.len() as u64 == pending.len)
            .map(Arc::new);
        let entry = Entry::new(
            pending.key.clone(),
            stored,
            pending.len,
            pending.checksum.value(),
            pending.len + meta.len() as u64 + TRAILER_LEN,
        );
        let mut index = self.lock();
        self.drop_selected(&mut index, &pending.key, request_headers);
        let mut entry = entry;
        if let Some(hot) = hot {
            if index.hot_bytes + hot.len() as u64 <= HOT_TOTAL_LIMIT {
                entry.set_hot(hot);
            }
        }
        index.insert(pending.id, entry);
        self.evict(&mut index);
        Ok(())
    }

    fn drop_selected(&self, index: &mut Index, key: &str, request_headers: &Headers) {
        let replaced: Vec<u64> = index
            .by_key
            .get(key)
            .map(|ids| {
                ids.iter()
                    .copied()
                    .filter(|id| {
                        let stored = &index.entries[id].stored;
                        vary::matches(
                            &stored.headers,
                            &stored.varying_request_fields,
                            request_headers,
                        ) == VaryMatch::Match
                    })
                    .collect()
            })
            .unwrap_or_default();
        for id in replaced {
            index.remove(id);
            let _ = fs::remove_file(self.entry_path(id));
        }
    }

    /// Replaces the stored head of entry `id` (after a 304 freshened it): a new file with the
    /// same body and the new meta, renamed over the old one.
    pub fn freshen(&self, id: u64, stored: StoredResponse) -> io::Result<()> {
        let (key, body_len, body_checksum) = {
            let index = self.lock();
            let Some(entry) = index.entries.get(&id) else {
                return Ok(());
            };
            (entry.key.clone(), entry.body_len, entry.body_checksum)
        };
        let path = self.entry_path(id);
        let temp = self.dir.join(format!(
            "tmp-{:016x}",
            self.next_id.fetch_add(1, Ordering::Relaxed)
        ));
        let result = (|| {
            let mut source = File::open(&path)?;
            let mut out = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)?;
            let copied = io::copy(&mut (&mut source).take(body_len), &mut out)?;
            if copied != body_len {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the stored body is shorter than its index entry",
                ));
            }
            let meta = encode_meta(&key, &stored);
            out.write_all(&meta)?;
            out.write_all(&trailer(meta.len() as u64, Fnv1a::of(&meta), body_checksum))?;
            out.flush()?;
            fs::rename(&temp, &path)?;
            Ok(meta.len() as u64)
        })();
        let mut index = self.lock();
        match result {
            Ok(meta_len) => {
                if let Some(entry) = index.entries.get_mut(&id) {
                    let new_len = body_len + meta_len + TRAILER_LEN;
                    let old_len = std::mem::replace(&mut entry.file_len, new_len);
                    entry.set_stored(stored);
                    index.bytes = index.bytes - old_len + new_len;
                }
                index.touch(id);
                Ok(())
            }
            Err(e) => {
                let _ = fs::remove_file(&temp);
                if index.remove(id).is_some() {
                    let _ = fs::remove_file(&path);
                }
                Err(e)
            }
        }
    }

    fn evict(&self, index: &mut Index) {
        while index.bytes > self.capacity {
            let Some((_, &id)) = index.lru.iter().next() else {
                break;
            };
            index.remove(id);
            let _ = fs::remove_file(self.entry_path(id));
        }
    }

    fn entry_path(&self, id: u64) -> PathBuf {
        self.dir.join(format!("{id:016x}.entry"))
    }
}

/// A body being written to a temporary file as it streams through the proxy.
#[derive(Debug)]
pub struct PendingEntry {
    id: u64,
    key: String,
    temp: PathBuf,
    file: Option<io::BufWriter<File>>,
    len: u64,
    checksum: Fnv1a,
    hot: Option<Vec<u8>>,
    max_len: u64,
}

impl PendingEntry {
    /// Appends body bytes. `Ok(false)` when the body has grown past what the cache stores: the
    /// caller drops the pending entry.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<bool> {
        self.len += bytes.len() as u64;
        if self.len > self.max_len {
            return Ok(false);
        }
        self.checksum.update(bytes);
        if let Some(hot) = &mut self.hot {
            if self.len <= HOT_BODY_LIMIT {
                hot.extend_from_slice(bytes);
            } else {
                self.hot = None;
            }
        }
        self.file
            .as_mut()
            .expect("a pending entry has its file")
            .write_all(bytes)?;
        Ok(true)
    }
}

impl Drop for PendingEntry {
    /// A pending entry that is dropped without [`Store::commit`] deletes its temporary file.
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

fn trailer(meta_len: u64, meta_checksum: u64, body_checksum: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[..8].copy_from_slice(&meta_len.to_le_bytes());
    out[8..16].copy_from_slice(&meta_checksum.to_le_bytes());
    out[16..24].copy_from_slice(&body_checksum.to_le_bytes());
    out[24..].copy_from_slice(MAGIC);
    out
}

fn encode_meta(key: &str, stored: &StoredResponse) -> Vec<u8> {
    let mut meta = format!(
        "key {key}\nrequest-time {}\nresponse-time {}\n",
        stored.request_time.unix_seconds(),
        stored.response_time.unix_seconds()
    )
    .into_bytes();
    let mut head = ResponseHead::new(
        StatusCode::new(stored.status)
            .unwrap_or_else(|_| StatusCode::new(200).expect("200 is a status code")),
    );
    head.headers = stored.headers.clone();
    // The stored status may be unregistered; keep the exact code in the meta line too.
    meta.extend_from_slice(format!("status {}\n", stored.status).as_bytes());
    head.write_to(&mut meta);
    // HTTP/1.0, which needs no Host: only the field lines matter.
    let mut request = RequestHead::new(
        wire::http1::Method::Get,
        wire::http1::Target::origin("/", None).expect("/ is a target"),
        wire::http1::Version::Http10,
    );
    request.headers = stored.varying_request_fields.clone();
    request.write_to(&mut meta);
    meta
}

fn corrupt(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.to_owned())
}

/// Reads and checks an entry file's trailer and meta (not its body).
fn read_entry_meta(path: &Path) -> io::Result<Entry> {
    let mut file = File::open(path)?;
    let file_len = file.metadata()?.len();
    if file_len < TRAILER_LEN {
        return Err(corrupt("shorter than a trailer"));
    }
    file.seek(SeekFrom::End(-(TRAILER_LEN as i64)))?;
    let mut trailer = [0u8; 32];
    file.read_exact(&mut trailer)?;
    if &trailer[24..] != MAGIC {
        return Err(corrupt("no trailer magic (truncated?)"));
    }
    let word =
        |i: usize| u64::from_le_bytes(trailer[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
    let (meta_len, meta_checksum, body_checksum) = (word(0), word(1), word(2));
    let body_len = file_len
        .checked_sub(TRAILER_LEN)
        .and_then(|n| n.checked_sub(meta_len))
        .ok_or_else(|| corrupt("meta longer than the file"))?;
    if meta_len > 1024 * 1024 {
        return Err(corrupt("meta too long"));
    }
    file.seek(SeekFrom::Start(body_len))?;
    let mut meta = vec![0u8; meta_len as usize];
    file.read_exact(&mut meta)?;
    if Fnv1a::of(&meta) != meta_checksum {
        return Err(corrupt("meta checksum mismatch"));
    }
    let (key, stored) = decode_meta(&meta).ok_or_else(|| corrupt("unreadable meta"))?;
    Ok(Entry::new(key, stored, body_len, body_checksum, file_len))
}

fn decode_meta(meta: &[u8]) -> Option<(String, StoredResponse)> {
    let mut rest = meta;
    let mut line = || {
        let end = rest.iter().position(|&b| b == b'\n')?;
        let text = std::str::from_utf8(&rest[..end]).ok()?.to_owned();
        rest = &rest[end + 1..];
        Some(text)
    };
    let key = line()?.strip_prefix("key ")?.to_owned();
    let request_time: i64 = line()?.strip_prefix("request-time ")?.parse().ok()?;
    let response_time: i64 = line()?.strip_prefix("response-time ")?.parse().ok()?;
    let status: u16 = line()?.strip_prefix("status ")?.parse().ok()?;
    let options = ParseOptions::LENIENT;
    let Ok(Status::Complete((used, response))) = ResponseHead::parse(rest, &options) else {
        return None;
    };
    let Ok(Status::Complete((used2, request))) = RequestHead::parse(&rest[used..], &options) else {
        return None;
    };
    if used + used2 != rest.len() {
        return None;
    }
    Some((
        key,
        StoredResponse {
            status,
            headers: response.headers,
            varying_request_fields: request.headers,
            request_time: HttpDate::from_unix_seconds(request_time)?,
            response_time: HttpDate::from_unix_seconds(response_time)?,
        },
    ))
}

fn read_body(path: &Path, len: u64) -> io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    let mut body = vec![0u8; len as usize];
    file.read_exact(&mut body)?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn at(s: i64) -> HttpDate {
        HttpDate::from_unix_seconds(1_767_225_600 + s).unwrap()
    }

    fn response(fields: &[(&str, &str)]) -> Headers {
        let mut h = Headers::new();
        for (n, v) in fields {
            h.append(n, v).unwrap();
        }
        h
    }

    fn store_one(store: &Store, key: &str, body: &[u8], fields: &[(&str, &str)]) {
        let request = response(&[("Accept", "text/html")]);
        let mut pending = store.begin(key).unwrap();
        assert!(pending.write(body).unwrap());
        let stored = StoredResponse::new(200, &response(fields), &request, at(0), at(1));
        store.commit(pending, stored, &request).unwrap();
    }

    fn body_of(store: &Store, key: &str) -> Option<Vec<u8>> {
        let selected = store.select(key, &response(&[("Accept", "text/html")]), |_, _| ())?;
        match store.body(selected.id)? {
            BodySource::Memory(b) => Some(b.to_vec()),
            BodySource::File { path, len, .. } => Some(read_body(&path, len).unwrap()),
        }
    }

    #[test]
    fn an_entry_survives_a_restart_with_its_head_and_body() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path(), 1 << 20).unwrap();
        store_one(
            &store,
            "http://a.test/x",
            b"hello",
            &[("Cache-Control", "max-age=60"), ("ETag", "\"v1\"")],
        );
        drop(store);
        let (store, report) = Store::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(
            report,
            Rebuilt {
                loaded: 1,
                dropped: 0,
                leftovers: 0
            }
        );
        let selected = store
            .select("http://a.test/x", &Headers::new(), |s, _| s.status)
            .unwrap();
        assert_eq!(selected.decision, 200);
        assert_eq!(selected.stored.headers.get("etag"), Some(&b"\"v1\""[..]));
        assert_eq!(selected.stored.response_time, at(1));
        assert_eq!(body_of(&store, "http://a.test/x").unwrap(), b"hello");
    }

    #[test]
    fn truncated_and_corrupt_entries_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path(), 1 << 20).unwrap();
        store_one(&store, "http://a.test/1", b"one", &[]);
        store_one(&store, "http://a.test/2", b"two", &[]);
        store_one(&store, "http://a.test/3", b"three", &[]);
        drop(store);
        let mut files: Vec<PathBuf> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        // Truncate the first, flip a meta byte in the second, flip a body byte in the third.
        let len = fs::metadata(&files[0]).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&files[0])
            .unwrap()
            .set_len(len - 5)
            .unwrap();
        let mut bytes = fs::read(&files[1]).unwrap();
        bytes[5] ^= 0x20;
        fs::write(&files[1], &bytes).unwrap();
        let mut bytes = fs::read(&files[2]).unwrap();
        bytes[0] ^= 0x01;
        fs::write(&files[2], &bytes).unwrap();
        fs::write(dir.path().join("tmp-00000000000000aa"), b"half an entry").unwrap();

        let (store, report) = Store::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(
            report,
            Rebuilt {
                loaded: 1,
                dropped: 2,
                leftovers: 1
            }
        );
        // The body corruption is found when the body is read, and the entry goes.
        assert_eq!(body_of(&store, "http://a.test/3"), None);
        assert!(!store.contains_key("http://a.test/3"));
        assert_eq!(store.usage(), (0, 0));
    }

    #[test]
    fn least_recently_used_entries_go_first() {
        let dir = tempfile::tempdir().unwrap();
        let body = vec![b'x'; 400];
        let (store, _) = Store::open(dir.path(), 1 << 20).unwrap();
        store_one(&store, "http://a.test/0", &body, &[]);
        let one_entry = store.usage().0;
        assert!(store.remove_key("http://a.test/0") == 1);
        // Room for three entries, not four.
        let capacity = one_entry * 3 + one_entry / 2;
        let (store, _) = Store::open(dir.path(), capacity).unwrap();
        store_one(&store, "http://a.test/1", &body, &[]);
        store_one(&store, "http://a.test/2", &body, &[]);
        store_one(&store, "http://a.test/3", &body, &[]);
        assert!(body_of(&store, "http://a.test/1").is_some());
        store_one(&store, "http://a.test/4", &body, &[]);
        assert!(store.contains_key("http://a.test/1"));
        assert!(!store.contains_key("http://a.test/2"));
        assert!(store.contains_key("http://a.test/3"));
        assert!(store.contains_key("http://a.test/4"));
        assert!(store.usage().0 <= capacity);
    }

    #[test]
    fn a_body_over_the_limit_is_refused_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path(), 4000).unwrap();
        let mut pending = store.begin("http://a.test/big").unwrap();
        assert!(pending.write(&[0; 900]).unwrap());
        assert!(!pending.write(&[0; 200]).unwrap());
        drop(pending);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn freshening_keeps_the_body_and_replaces_the_head() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path(), 1 << 20).unwrap();
        store_one(&store, "http://a.test/x", b"body", &[("ETag", "\"v1\"")]);
        let selected = store
            .select("http://a.test/x", &Headers::new(), |_, _| ())
            .unwrap();
        let mut stored = selected.stored.clone();
        stored.headers.insert("X-New", "yes").unwrap();
        store.freshen(selected.id, stored).unwrap();
        drop(store);
        let (store, _) = Store::open(dir.path(), 1 << 20).unwrap();
        let selected = store
            .select("http://a.test/x", &Headers::new(), |_, _| ())
            .unwrap();
        assert_eq!(selected.stored.headers.get("x-new"), Some(&b"yes"[..]));
        assert_eq!(body_of(&store, "http://a.test/x").unwrap(), b"body");
    }

    /// The fast path and `wire::cache::lookup` agree on every stored response and moment: a
    /// fast hit is a fresh hit with the same age, served with the head the long path builds,
    /// and a fresh hit the fast path declines is one it does not prepare (Vary, no-cache).
    #[test]
    fn the_fast_path_agrees_with_lookup() {
        use wire::cache::{lookup, Decision};
        use wire::http1::Method;
        let date = "Thu, 01 Jan 2026 00:00:00 GMT";
        let cases: Vec<Vec<(&str, &str)>> = vec![
            vec![("Date", date), ("Cache-Control", "max-age=60")],
            vec![
                ("Date", date),
                ("Cache-Control", "s-maxage=30, max-age=600"),
            ],
            vec![
                ("Date", date),
                ("Cache-Control", "max-age=60"),
                ("Age", "50"),
            ],
            vec![
                ("Date", date),
                ("Cache-Control", "max-age=60"),
                ("Age", "1, 2"),
            ],
            vec![("Date", date), ("Expires", "Thu, 01 Jan 2026 00:00:20 GMT")],
            vec![("Date", date), ("Expires", "0")],
            vec![
                ("Date", date),
                ("Last-Modified", "Mon, 01 Dec 2025 00:00:00 GMT"),
            ],
            vec![("Last-Modified", "Mon, 01 Dec 2025 00:00:00 GMT")],
            vec![
                ("Date", "Wed, 31 Dec 2025 23:59:00 GMT"),
                ("Cache-Control", "max-age=90"),
            ],
            vec![("Date", date), ("Cache-Control", "no-cache, max-age=60")],
            vec![
                ("Date", date),
                ("Cache-Control", "max-age=60, must-revalidate"),
            ],
            vec![
                ("Date", date),
                ("Cache-Control", "max-age=60"),
                ("Vary", "Accept"),
            ],
            vec![("Date", date)],
        ];
        let request = Headers::new();
        let mut fast_hits = 0;
        for (n, fields) in cases.iter().enumerate() {
            let dir = tempfile::tempdir().unwrap();
            let (store, _) = Store::open(dir.path(), 1 << 20).unwrap();
            let key = format!("http://a.test/{n}");
            let mut pending = store.begin(&key).unwrap();
            pending.write(b"body").unwrap();
            let stored = StoredResponse::new(200, &response(fields), &request, at(-2), at(1));
            store.commit(pending, stored, &request).unwrap();
            for later in [
                -5, 0, 1, 10, 19, 20, 21, 29, 30, 59, 60, 61, 89, 3000, 400_000,
            ] {
                let now = at(later);
                let fast = store.fresh_hit(&key, &Method::Get, &request, now);
                let selected = store
                    .select(&key, &request, |s, _| {
                        lookup(
                            &Method::Get,
                            &request,
                            Some(s),
                            now,
                            &FreshnessConfig::default(),
                        )
                    })
                    .unwrap();
                let what = format!("{fields:?} at {later}");
                match (&fast, &selected.decision) {
                    (Some(hit), Decision::Fresh { age, .. }) => {
                        fast_hits += 1;
                        assert_eq!(hit.age, *age, "{what}");
                        let mut long = selected.stored.headers_for_reply(now);
                        long.remove("content-length");
                        long.remove("transfer-encoding");
                        long.remove("trailer");
                        long.insert("Content-Length", "4").unwrap();
                        let mut short = hit.reply.head.headers.clone();
                        short.insert("Age", hit.age.to_string()).unwrap();
                        assert_eq!(short, long, "{what}");
                    }
                    (None, Decision::Fresh { .. }) => assert!(
                        fields
                            .iter()
                            .any(|(n, v)| *n == "Vary" || v.contains("no-cache")),
                        "{what}: fresh, yet not served by the fast path"
                    ),
                    (Some(_), other) => panic!("{what}: fast hit, but lookup says {other:?}"),
                    (None, _) => {}
                }
            }
        }
        assert!(
            fast_hits >= 20,
            "only {fast_hits} fast hits: the cases test too little"
        );
    }

    #[test]
    fn vary_keeps_one_response_per_secondary_key() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(dir.path(), 1 << 20).unwrap();
        let key = "http://a.test/v";
        for (lang, body) in [("en", "hello"), ("fr", "bonjour"), ("en", "hi")] {
            let request = response(&[("Accept-Language", lang)]);
            let mut pending = store.begin(key).unwrap();
            pending.write(body.as_bytes()).unwrap();
            let stored = StoredResponse::new(
                200,
                &response(&[("Vary", "Accept-Language")]),
                &request,
                at(0),
                at(0),
            );
            store.commit(pending, stored, &request).unwrap();
        }
        assert_eq!(store.usage().1, 2);
        let en = store
            .select(key, &response(&[("Accept-Language", "en")]), |_, _| ())
            .unwrap();
        match store.body(en.id).unwrap() {
            BodySource::Memory(b) => assert_eq!(&b[..], b"hi"),
            other => panic!("a small body is in memory, not {other:?}"),
        }
        assert!(store
            .select(key, &response(&[("Accept-Language", "de")]), |_, _| ())
            .is_none());
        assert_eq!(store.remove_key(key), 2);
        assert_eq!(store.usage(), (0, 0));
    }
}
