//! What a request path names: a file, a folder, or nothing, in the demo site or under `--root`.
//!
//! Paths arrive as `wire::http1::target::SafePath` (percent-decoded, no dot segments, no way
//! above `/`, no segment holding `/`, `\`, NUL or a control byte: the type cannot hold one).
//! This module adds the file-system rules on top:
//! - a segment starting with `.` (dotfiles, `.git`, upload temporaries) is hidden: 404;
//! - the real path (symlinks resolved with `canonicalize`) must stay inside the canonical root,
//!   so a symlink that leads out of the root is refused with 403.
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use wire::http1::conditional::EntityTag;
use wire::http1::target::SafePath;

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
    /// The site path, decoded, for naming the type and for logs.
    pub name: String,
    /// The same path as a checked value, for finding siblings (`NAME.gz`); shared, because the
    /// file cache hands out a copy of the entry on every hit.
    pub path: Arc<SafePath>,
    pub contents: Contents,
    pub len: u64,
    pub modified: SystemTime,
    /// A strong entity tag.
    pub etag: EntityTag,
}

/// What a path names.
// `NotFound` is the name of the status it is answered with.
#[allow(clippy::enum_variant_names)]
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

/// True when a segment is hidden (starts with `.`: dotfiles, `.git`, upload temporaries).
fn is_hidden(path: &SafePath) -> bool {
    path.segments().iter().any(|s| s.as_str().starts_with('.'))
}

/// True when the path names a folder (it ends in `/`, or it is the root).
fn names_folder(path: &SafePath) -> bool {
    path.has_trailing_slash() || path.is_root()
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

    /// Looks up a request's path.
    pub fn find(&self, path: &SafePath) -> Found {
        if is_hidden(path) {
            return Found::NotFound;
        }
        match self {
            Source::Demo(port) => find_demo(path, *port),
            Source::Folder(root) => find_on_disk(root, path),
        }
    }

    /// The file-system path a write (PUT, DELETE) to `path` would touch, after the same checks as
    /// reads: its parent folder must exist inside the root. `None` for the demo site.
    pub fn write_target(&self, path: &SafePath) -> Result<PathBuf, Found> {
        let Source::Folder(root) = self else {
            return Err(Found::Forbidden);
        };
        if is_hidden(path) {
            return Err(Found::NotFound);
        }
        if names_folder(path) {
            return Err(Found::Forbidden);
        }
        let (name, parents) = path.segments().split_last().ok_or(Found::Forbidden)?;
        let parent: PathBuf = parents.iter().fold(root.clone(), |p, s| p.join(s.as_str()));
        let real_parent = match fs::canonicalize(&parent) {
            Ok(p) if p.starts_with(root) && p.is_dir() => p,
            Ok(_) => return Err(Found::Forbidden),
            Err(_) => return Err(Found::NotFound),
        };
        let target = real_parent.join(name.as_str());
        // A symlink at the target could point anywhere: only replace regular files.
        if let Ok(m) = fs::symlink_metadata(&target) {
            if m.file_type().is_symlink() {
                return Err(Found::Forbidden);
            }
        }
        Ok(target)
    }
}

fn find_demo(safe: &SafePath, port: u16) -> Found {
    let modified = demo::modified();
    let path = &crate::handler::decoded_path(safe);
    if names_folder(safe) {
        if let Some(index) = demo::file_for_port(&format!("{path}index.html"), port) {
            let index_path = safe.child("index.html").unwrap_or_else(|| safe.clone());
            return demo_file(format!("{path}index.html"), Arc::new(index_path), index);
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
        return demo_file(path.to_string(), Arc::new(safe.clone()), bytes);
    }
    if !safe.is_root() && demo::folder(&format!("{path}/")).is_some() {
        return Found::AddSlash;
    }
    Found::NotFound
}

fn demo_file(name: String, path: Arc<SafePath>, bytes: &'static [u8]) -> Found {
    Found::File(FoundFile {
        name,
        path,
        contents: Contents::Static(bytes),
        len: bytes.len() as u64,
        modified: demo::modified(),
        etag: etag_for_bytes(bytes),
    })
}

fn find_on_disk(root: &Path, safe: &SafePath) -> Found {
    let path = &crate::handler::decoded_path(safe);
    let joined = safe.to_path_under(root);
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
        if !names_folder(safe) {
            return Found::AddSlash;
        }
        let index = real.join("index.html");
        if let Ok(m) = fs::metadata(&index) {
            if m.is_file() {
                let index_path = safe.child("index.html").unwrap_or_else(|| safe.clone());
                return open_file(
                    format!("{path}index.html"),
                    Arc::new(index_path),
                    &index,
                    &m,
                );
            }
        }
        return list_folder(root, &real);
    }
    if names_folder(safe) {
        // `/file.txt/` names a folder that is not one.
        return Found::NotFound;
    }
    if !meta.is_file() {
        return Found::Forbidden;
    }
    open_file(path.to_string(), Arc::new(safe.clone()), &real, &meta)
}

fn open_file(name: String, path: Arc<SafePath>, real: &Path, meta: &fs::Metadata) -> Found {
    match File::open(real) {
        Ok(f) => {
            let modified = meta.modified().unwrap_or(UNIX_EPOCH);
            Found::File(FoundFile {
                name,
                path,
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

    /// A request path as the handler has it.
    fn p(path: &str) -> SafePath {
        SafePath::from_target_path(path).unwrap()
    }

    #[test]
    fn hidden_segments() {
        assert!(!is_hidden(&p("/a/b.txt")));
        assert!(!is_hidden(&p("/")));
        assert!(is_hidden(&p("/.git/config")));
        assert!(is_hidden(&p("/a/.env")));
        assert!(is_hidden(&p("/a/%2eenv")), "an encoded dot is a dot");
    }

    #[test]
    fn demo_paths() {
        let s = Source::Demo(8080);
        assert!(matches!(s.find(&p("/")), Found::File(f) if f.name == "/index.html"));
        assert!(matches!(s.find(&p("/files")), Found::AddSlash));
        assert!(matches!(s.find(&p("/files/")), Found::Folder(e) if e.len() >= 5));
        assert!(matches!(s.find(&p("/files/hello.txt")), Found::File(_)));
        assert!(matches!(s.find(&p("/nope")), Found::NotFound));
        assert!(matches!(s.find(&p("/files/.hidden")), Found::NotFound));
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
        assert!(matches!(s.find(&p("/sub/a.txt")), Found::File(f) if f.len == 1));
        assert!(
            matches!(s.find(&p("/inside.txt")), Found::File(_)),
            "a symlink inside the root is fine"
        );
        assert!(matches!(s.find(&p("/leak.txt")), Found::Forbidden));
        assert!(matches!(
            s.find(&p("/leakdir/secret.txt")),
            Found::Forbidden
        ));
        assert!(matches!(s.find(&p("/.env")), Found::NotFound));
        assert!(matches!(s.find(&p("/sub")), Found::AddSlash));
        assert!(matches!(s.find(&p("/sub/a.txt/")), Found::NotFound));
        match s.find(&p("/")) {
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
            s.write_target(&p("/leak.txt")).is_err(),
            "never write through a symlink"
        );
        assert!(s.write_target(&p("/leakdir/x")).is_err());
        assert_eq!(
            s.write_target(&p("/sub/new.txt")).unwrap(),
            fs::canonicalize(root).unwrap().join("sub/new.txt")
        );
        assert!(matches!(
            s.write_target(&p("/missing/new.txt")),
            Err(Found::NotFound)
        ));
    }
}
