//! Storing received messages in a Maildir: written to `tmp/`, then renamed into `new/`, so a
//! reader never sees half a message. The envelope (what SMTP said, which the message itself does
//! not carry) goes to `envelope/` under the same name.
//!
//! ```text
//! DIR/tmp/            being written
//! DIR/new/NAME        the message exactly as received, after dot-unstuffing
//! DIR/cur/            (for mail readers)
//! DIR/envelope/NAME   from, to, client name, peer, TLS, user, time, size
//! ```
//!
//! Names follow the Maildir convention `SECONDS.MMICROSPPIDQCOUNT.HOST`. Files are not
//! fsynced: this is a sink for tests and labs, not a mail store.

use std::fs::{self, File};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use wire::smtp::ReceivedMessage;

/// A Maildir to deliver into.
#[derive(Debug)]
pub struct Maildir {
    root: PathBuf,
    host: String,
    counter: AtomicU64,
}

impl Maildir {
    /// Opens (creating when missing) `root` with its `tmp`, `new`, `cur` and `envelope` folders.
    pub fn create(root: &Path) -> io::Result<Maildir> {
        for sub in ["tmp", "new", "cur", "envelope"] {
            fs::create_dir_all(root.join(sub)).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "cannot create the Maildir folder {}: {e}",
                        root.join(sub).display()
                    ),
                )
            })?;
        }
        let host = crate::send::local_hostname().replace(['/', ':'], "_");
        Ok(Maildir {
            root: root.to_owned(),
            host,
            counter: AtomicU64::new(0),
        })
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A name no other delivery from any process uses.
    fn unique_name(&self, now: SystemTime) -> String {
        let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let n = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        format!(
            "{}.M{}P{}Q{n}.{}",
            since.as_secs(),
            since.subsec_micros(),
            std::process::id(),
            self.host
        )
    }

    /// Stores a message and its envelope; returns the message's path in `new/`.
    pub fn deliver(
        &self,
        message: &ReceivedMessage,
        peer: SocketAddr,
        now: SystemTime,
    ) -> io::Result<PathBuf> {
        let name = self.unique_name(now);
        let envelope = envelope_text(message, peer, now);
        let tmp_envelope = self.root.join("tmp").join(format!("{name}.envelope"));
        write_new(&tmp_envelope, envelope.as_bytes())?;
        fs::rename(&tmp_envelope, self.root.join("envelope").join(&name))?;
        let tmp = self.root.join("tmp").join(&name);
        write_new(&tmp, &message.data)?;
        let target = self.root.join("new").join(&name);
        fs::rename(&tmp, &target)?;
        Ok(target)
    }
}

fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = File::options().write(true).create_new(true).open(path)?;
    file.write_all(bytes)
}

/// The envelope as `key: value` lines.
pub fn envelope_text(message: &ReceivedMessage, peer: SocketAddr, now: SystemTime) -> String {
    let mut text = String::new();
    text.push_str(&format!("from: {}\n", message.from));
    for to in &message.recipients {
        text.push_str(&format!("to: {to}\n"));
    }
    if !message.parameters.is_empty() {
        let params: Vec<String> = message.parameters.iter().map(ToString::to_string).collect();
        text.push_str(&format!("parameters: {}\n", params.join(" ")));
    }
    text.push_str(&format!("hello: {}\n", message.hello));
    text.push_str(&format!("peer: {peer}\n"));
    text.push_str(&format!(
        "tls: {}\n",
        if message.encrypted { "yes" } else { "no" }
    ));
    if let Some(user) = &message.authenticated {
        text.push_str(&format!("auth: {user}\n"));
    }
    text.push_str(&format!(
        "received: {}\n",
        wire::smtp::message::rfc5322_date(now)
    ));
    text.push_str(&format!("size: {}\n", message.data.len()));
    text
}

/// Where the envelope of a message in `new/` or `cur/` is (`cur/` names carry `:2,FLAGS`).
pub fn envelope_path(message: &Path) -> Option<PathBuf> {
    let name = message.file_name()?.to_string_lossy().into_owned();
    let name = name.split(":2,").next().unwrap_or(&name).to_owned();
    let root = message.parent()?.parent()?;
    let path = root.join("envelope").join(name);
    path.is_file().then_some(path)
}
