//! What a request path names: a file, a folder, or nothing, in the demo site or under `--root`.
//!
//! Paths arrive already normalised by `wire::http1::target` (percent-decoded, no dot segments,
//! no way above `/`). This module adds the file-system rules on top:
//! - a segment starting with `.` (dotfiles, `.git`, upload temporaries) is hidden: 404;
//! - a segment holding NUL or a backslash is refused: 403, whatever the normaliser let through;
//! - the real path (symlinks resolved with `canonicalize`) must stay inside the canonical root,
//!   so a symlink that leads out of the root is refused with 403.
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use wire::http1::conditional::EntityTag;

use crate::demo;
use crate::listing::ListEntry;

/// Where files come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// The site compiled into the binary; its pages name this port in their examples.
    Demo(u16),
    /// A folder on disk, canonicalised once at start.
    Folder(PathBuf),
}

/// The bytes of a file found for a request.
#[derive(Debug, Clone)]
pub enum Contents {
    Static(&'static [u8]),
    /// An open file, and its real path.
    Disk(Arc<File>, PathBuf),
    /// A file known by its real path, opened when it is sent (what the lookup cache keeps, so
    /// it holds no descriptor).
    Path(PathBuf),
}

/// A file found for a request, with its validators.
#[derive(Debug, Clone)]
pub struct FoundFile {
    /// The site path, for naming the type and for logs.
    pub name: String,
    pub contents: Contents,
    pub len: u64,
    pub modified: SystemTime,
    /// A strong entity tag.
    pub etag: EntityTag,
}

/// What a path names.
#[derive(Debug)]
pub enum Found {
    File(FoundFile),
    /// A folder, asked for with its trailing slash: its entries.
    Folder(Vec<ListEntry>),
    /// A folder asked for without the trailing slash: redirect to `path/`.
    AddSlash,
    NotFound,
    Forbidden,
    /// There, but the server may not read it (permissions): answered 403, and the reason
    /// (the path and the system's error) goes to the error log.
    Unreadable(String),
}

/// Why a path cannot be used as a file-system path at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A hidden (dot) segment: answered 404, as if it did not exist.
    Hidden,
    /// A byte no file name here may hold: answered 403.
    Forbidden,
}

/// Splits a normalised path into segments, refusing hidden and impossible ones.
pub fn segments(path: &str) -> Result<Vec<&str>, Refusal> {
    let mut out = Vec::new();
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        if seg.contains(['\0', '\\']) || seg == ".." || seg == "." {
            return Err(Refusal::Forbidden);
        }
        if seg.starts_with('.') {
            return Err(Refusal::Hidden);
        }
        out.push(seg);
    }
    Ok(out)
}

/// A strong ETag from a file's size and modification time (`wire`'s recipe).
pub fn etag_for(len: u64, modified: SystemTime) -> EntityTag {
    EntityTag::from_length_and_modified(len, modified)
}

/// A strong ETag for embedded bytes: FNV-1a over the content.
fn etag_for_bytes(bytes: &[u8]) -> EntityTag {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    EntityTag::strong(format!("{:x}-{h:016x}", bytes.len()))
        .expect("hex digits and a dash are etagc")
}

impl Source {
    /// Opens the source for a config's root: the canonical folder, or the demo site whose
    /// pages name `port` (the one the server listens on) in their `curl` and `client` examples.
    pub fn new(root: Option<&Path>, port: u16) -> io::Result<Source> {
        match root {
            None => Ok(Source::Demo(port)),
            Some(r) => Ok(Source::Folder(fs::canonicalize(r)?)),
        }
    }

    pub fn is_demo(&self) -> bool {
        matches!(self, Source::Demo(_))
    }

    /// Looks up a normalised path (starting with `/`).
    pub fn find(&self, path: &str) -> Found {
        let segs = match segments(path) {
            Ok(s) => s,
            Err(Refusal::Hidden) => return Found::NotFound,
            Err(Refusal::Forbidden) => return Found::Forbidden,
        };
        match self {
            Source::Demo(port) => find_demo(path, &segs, *port),
            Source::Folder(root) => find_on_disk(root, path, &segs),
        }
    }

    /// The file-system path a write (PUT, DELETE) to `path` would touch, after the same checks as
    /// reads: its parent folder must exist inside the root. `None` for the demo site.
    pub fn write_target(&self, path: &str) -> Result<PathBuf, Found> {
        let Source::Folder(root) = self else {
            return Err(Found::Forbidden);
        };
        let segs = match segments(path) {
            Ok(s) if !s.is_empty() && !path.ends_with('/') => s,
            Ok(_) => return Err(Found::Forbidden),
            Err(Refusal::Hidden) => return Err(Found::NotFound),
            Err(Refusal::Forbidden) => return Err(Found::Forbidden),
        };
        let (name, parents) = segs.split_last().ok_or(Found::Forbidden)?;
        let parent: PathBuf = parents.iter().fold(root.clone(), |p, s| p.join(s));
        let real_parent = match fs::canonicalize(&parent) {
            Ok(p) if p.starts_with(root) && p.is_dir() => p,
            Ok(_) => return Err(Found::Forbidden),
            Err(_) => return Err(Found::NotFound),
        };
        let target = real_parent.join(name);
        // A symlink at the target could point anywhere: only replace regular files.
        if let Ok(m) = fs::symlink_metadata(&target) {
            if m.file_type().is_symlink() {
                return Err(Found::Forbidden);
            }
        }
        Ok(target)
    }
}

fn find_demo(path: &str, segs: &[&str], port: u16) -> Found {
    let modified = demo::modified();
    if path.ends_with('/') {
        if let Some(index) = demo::file_for_port(&format!("{path}index.html"), port) {
            return demo_file(format!("{path}index.html"), index);
        }
        return match demo::folder(path) {
            Some(entries) => Found::Folder(
                entries
                    .into_iter()
                    .map(|e| ListEntry {
                        name: e.name,
                        is_dir: e.is_dir,
                        len: e.len,
                        modified,
                    })
                    .collect(),
            ),
            None => Found::NotFound,
        };
    }
    if let Some(bytes) = demo::file_for_port(path, port) {
        return demo_file(path.to_string(), bytes);
    }
    if !segs.is_empty() && demo::folder(&format!("{path}/")).is_some() {
        return Found::AddSlash;
    }
    Found::NotFound
}

fn demo_file(name: String, bytes: &'static [u8]) -> Found {
    Found::File(FoundFile {
        name,
        contents: Contents::Static(bytes),
        len: bytes.len() as u64,
        modified: demo::modified(),
        etag: etag_for_bytes(bytes),
    })
}

fn find_on_disk(root: &Path, path: &str, segs: &[&str]) -> Found {
    let joined: PathBuf = segs.iter().fold(root.to_path_buf(), |p, s| p.join(s));
    let real = match fs::canonicalize(&joined) {
        Ok(r) => r,
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            return Found::Unreadable(format!("cannot reach {}: {e}", joined.display()))
        }
        Err(_) => return Found::NotFound,
    };
    if !real.starts_with(root) {
        return Found::Forbidden;
    }
    let meta = match fs::metadata(&real) {
        Ok(m) => m,
        Err(_) => return Found::NotFound,
    };
    if meta.is_dir() {
        if !path.ends_with('/') {
            return Found::AddSlash;
        }
        let index = real.join("index.html");
        if let Ok(m) = fs::metadata(&index) {
            if m.is_file() {
                return open_file(format!("{path}index.html"), &index, &m);
            }
        }
        return list_folder(root, &real);
    }
    if path.ends_with('/') {
        // `/file.txt/` names a folder that is not one.
        return Found::NotFound;
    }
    if !meta.is_file() {
        return Found::Forbidden;
    }
    open_file(path.to_string(), &real, &meta)
}

fn open_file(name: String, real: &Path, meta: &fs::Metadata) -> Found {
    match File::open(real) {
        Ok(f) => {
            let modified = meta.modified().unwrap_or(UNIX_EPOCH);
            Found::File(FoundFile {
                name,
                contents: Contents::Disk(Arc::new(f), real.to_path_buf()),
                len: meta.len(),
                modified,
                etag: etag_for(meta.len(), modified),
            })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Found::NotFound,
        Err(e) => Found::Unreadable(format!("cannot open {}: {e}", real.display())),
    }
}

fn list_folder(root: &Path, real: &Path) -> Found {
    let read = match fs::read_dir(real) {
        Ok(read) => read,
        Err(e) => return Found::Unreadable(format!("cannot list {}: {e}", real.display())),
    };
    let mut entries = Vec::new();
    for entry in read.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        // Follow symlinks for the size and kind, but never list what leads outside the root.
        if entry.file_type().is_ok_and(|t| t.is_symlink())
            && !fs::canonicalize(entry.path()).is_ok_and(|p| p.starts_with(root))
        {
            continue;
        }
        let Ok(meta) = fs::metadata(entry.path()) else {
            continue;
        };
        entries.push(ListEntry {
            name,
            is_dir: meta.is_dir(),
            len: if meta.is_dir() { 0 } else { meta.len() },
            modified: meta.modified().unwrap_or(UNIX_EPOCH),
        });
    }
    Found::Folder(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_and_impossible_segments() {
        assert_eq!(segments("/a/b.txt"), Ok(vec!["a", "b.txt"]));
        assert_eq!(segments("/"), Ok(vec![]));
        assert_eq!(segments("/.git/config"), Err(Refusal::Hidden));
        assert_eq!(segments("/a/.env"), Err(Refusal::Hidden));
        assert_eq!(segments("/a\\..\\b"), Err(Refusal::Forbidden));
        assert_eq!(segments("/a\0b"), Err(Refusal::Forbidden));
        assert_eq!(segments("/a/../b"), Err(Refusal::Forbidden));
    }

    #[test]
    fn demo_paths() {
        let s = Source::Demo(8080);
        assert!(matches!(s.find("/"), Found::File(f) if f.name == "/index.html"));
        assert!(matches!(s.find("/files"), Found::AddSlash));
        assert!(matches!(s.find("/files/"), Found::Folder(e) if e.len() >= 5));
        assert!(matches!(s.find("/files/hello.txt"), Found::File(_)));
        assert!(matches!(s.find("/nope"), Found::NotFound));
        assert!(matches!(s.find("/files/.hidden"), Found::NotFound));
    }

    #[test]
    fn disk_paths_stay_inside_the_root() {
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret.txt"), b"secret").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir(root.join("sub")).unwrap();
        fs::write(root.join("sub/a.txt"), b"a").unwrap();
        fs::write(root.join(".env"), b"x").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.txt"), root.join("leak.txt"))
            .unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("leakdir")).unwrap();
        std::os::unix::fs::symlink(root.join("sub/a.txt"), root.join("inside.txt")).unwrap();
        let s = Source::new(Some(root), 0).unwrap();
        assert!(matches!(s.find("/sub/a.txt"), Found::File(f) if f.len == 1));
        assert!(
            matches!(s.find("/inside.txt"), Found::File(_)),
            "a symlink inside the root is fine"
        );
        assert!(matches!(s.find("/leak.txt"), Found::Forbidden));
        assert!(matches!(s.find("/leakdir/secret.txt"), Found::Forbidden));
        assert!(matches!(s.find("/.env"), Found::NotFound));
        assert!(matches!(s.find("/sub"), Found::AddSlash));
        assert!(matches!(s.find("/sub/a.txt/"), Found::NotFound));
        match s.find("/") {
            Found::Folder(entries) => {
                let mut names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
                names.sort();
                assert_eq!(
                    names,
                    ["inside.txt", "sub"],
                    "links leading out are not listed"
                );
            }
            other => panic!("expected a listing, got {other:?}"),
        }
        assert!(
            s.write_target("/leak.txt").is_err(),
            "never write through a symlink"
        );
        assert!(s.write_target("/leakdir/x").is_err());
        assert_eq!(
            s.write_target("/sub/new.txt").unwrap(),
            fs::canonicalize(root).unwrap().join("sub/new.txt")
        );
        assert!(matches!(
            s.write_target("/missing/new.txt"),
            Err(Found::NotFound)
        ));
    }
}
