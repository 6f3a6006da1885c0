//! The proxy's clock, injected so tests and replayed traces decide what time it is.
//!
//! Every freshness and age calculation (`wire::cache`) takes the time as an argument; the shell
//! reads it here. [`Clock::System`] is the real clock; [`Clock::Manual`] stands still until a
//! test moves it (a trace's `# now:` sets it, `<wait 2000ms>` advances it).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use wire::http1::date::HttpDate;

/// Where the proxy reads the time.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    /// The system's wall clock.
    #[default]
    System,
    /// A clock that moves only when told to.
    Manual(Arc<ManualClock>),
}

impl Clock {
    /// A manual clock set to `now`, and the handle that moves it.
    pub fn manual(now: SystemTime) -> (Clock, Arc<ManualClock>) {
        let handle = Arc::new(ManualClock {
            now: Mutex::new(now),
        });
        (Clock::Manual(handle.clone()), handle)
    }

    /// The current time.
    pub fn now(&self) -> SystemTime {
        match self {
            Clock::System => SystemTime::now(),
            Clock::Manual(clock) => *clock.now.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// The current time as an HTTP date (whole seconds, as `wire::cache` counts).
    pub fn http_date(&self) -> HttpDate {
        HttpDate::from(self.now())
    }
}

/// The handle of a [`Clock::Manual`].
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
}

impl ManualClock {
    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }

    /// Sets the clock.
    pub fn set(&self, to: SystemTime) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }
}
