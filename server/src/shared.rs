//! State shared by every worker: the current settings (swapped whole on reload), the counters,
//! the logs, and the stop flag.
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use crate::config::{Config, Level};
use crate::log::Logs;
use crate::site::Source;
use crate::stats::Stats;

/// Everything a reload replaces at once.
pub struct Settings {
    pub config: Config,
    pub source: Source,
    pub logs: Logs,
}

impl Settings {
    /// Opens the root and the logs a config names.
    pub fn open(config: Config) -> io::Result<Settings> {
        let source = Source::new(config.root.as_deref(), config.port).map_err(|e| {
            let root = config
                .root
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            io::Error::new(
                e.kind(),
                format!("cannot open the document root {root}: {e}"),
            )
        })?;
        let logs = Logs::open(&config)?;
        if let Source::Folder(root) = &source {
            if let Err(e) = std::fs::read_dir(root) {
                logs.log(
                    Level::Warn,
                    &format!(
                        "cannot read the document root {}: {e}; every request will be answered \
                         403 until the server may read it (chmod a+rX the folder, or run the \
                         server as a user who can)",
                        root.display()
                    ),
                );
            }
        }
        Ok(Settings {
            config,
            source,
            logs,
        })
    }
}

/// Shared by the acceptors, the workers and the console.
pub struct Shared {
    settings: RwLock<Arc<Settings>>,
    /// Bumped on every reload, so loops can cache the settings and notice a change cheaply.
    generation: AtomicU64,
    pub stats: Stats,
    /// Set when a graceful stop begins: stop accepting, finish what is in flight.
    pub stopping: AtomicBool,
    /// Connections open now, for `max_connections`.
    pub open: AtomicUsize,
    pub started: Instant,
}

impl Shared {
    pub fn new(settings: Settings) -> Shared {
        Shared {
            settings: RwLock::new(Arc::new(settings)),
            generation: AtomicU64::new(0),
            stats: Stats::default(),
            stopping: AtomicBool::new(false),
            open: AtomicUsize::new(0),
            started: Instant::now(),
        }
    }

    /// The settings in force now.
    pub fn settings(&self) -> Arc<Settings> {
        match self.settings.read() {
            Ok(s) => Arc::clone(&s),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Replaces the settings; connections pick the new ones up at their next request.
    pub fn replace(&self, settings: Settings) {
        let new = Arc::new(settings);
        match self.settings.write() {
            Ok(mut s) => *s = new,
            Err(poisoned) => *poisoned.into_inner() = new,
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    pub fn log(&self, level: Level, message: &str) {
        let s = self.settings();
        if s.logs.enabled(level) {
            s.logs.log(level, message);
        }
    }
}
