//! Counters for `/server-status`, in the spirit of nginx's stub_status.
//!
//! `accepted`, `handled` and `requests` only grow. `active` is the connections open now, split
//! into `reading` (a request is arriving), `writing` (a response is leaving) and `waiting` (idle
//! keep-alive connections between requests).
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

/// Server-wide counters, shared by every worker.
#[derive(Debug, Default)]
pub struct Stats {
    pub accepted: AtomicU64,
    pub handled: AtomicU64,
    pub requests: AtomicU64,
    pub refused: AtomicU64,
    reading: AtomicI64,
    writing: AtomicI64,
    waiting: AtomicI64,
}

/// What a connection is doing, for the gauges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Reading,
    Writing,
    Waiting,
}

impl Stats {
    fn gauge(&self, phase: Phase) -> &AtomicI64 {
        match phase {
            Phase::Reading => &self.reading,
            Phase::Writing => &self.writing,
            Phase::Waiting => &self.waiting,
        }
    }

    /// A connection entered `phase` (it starts in `Reading`).
    pub fn enter(&self, phase: Phase) {
        self.gauge(phase).fetch_add(1, Relaxed);
    }

    /// A connection moved between phases.
    pub fn switch(&self, from: Phase, to: Phase) {
        if from != to {
            self.gauge(from).fetch_sub(1, Relaxed);
            self.gauge(to).fetch_add(1, Relaxed);
        }
    }

    /// A connection in `phase` closed.
    pub fn leave(&self, phase: Phase) {
        self.gauge(phase).fetch_sub(1, Relaxed);
    }

    pub fn snapshot(&self) -> Snapshot {
        let reading = self.reading.load(Relaxed).max(0) as u64;
        let writing = self.writing.load(Relaxed).max(0) as u64;
        let waiting = self.waiting.load(Relaxed).max(0) as u64;
        Snapshot {
            active: reading + writing + waiting,
            accepted: self.accepted.load(Relaxed),
            handled: self.handled.load(Relaxed),
            requests: self.requests.load(Relaxed),
            reading,
            writing,
            waiting,
        }
    }
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    pub active: u64,
    pub accepted: u64,
    pub handled: u64,
    pub requests: u64,
    pub reading: u64,
    pub writing: u64,
    pub waiting: u64,
}

impl Snapshot {
    /// The `/server-status` page, laid out like nginx's stub_status.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = write!(
            s,
            "Active connections: {}\nserver accepts handled requests\n {} {} {}\nReading: {} Writing: {} Waiting: {}\n",
            self.active, self.accepted, self.handled, self.requests, self.reading, self.writing, self.waiting
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_follow_phases() {
        let s = Stats::default();
        s.accepted.fetch_add(2, Relaxed);
        s.handled.fetch_add(2, Relaxed);
        s.enter(Phase::Reading);
        s.enter(Phase::Reading);
        s.switch(Phase::Reading, Phase::Writing);
        s.requests.fetch_add(1, Relaxed);
        let snap = s.snapshot();
        assert_eq!(
            (snap.active, snap.reading, snap.writing, snap.waiting),
            (2, 1, 1, 0)
        );
        s.switch(Phase::Writing, Phase::Waiting);
        s.leave(Phase::Reading);
        assert_eq!(
            s.snapshot().render(),
            "Active connections: 1\nserver accepts handled requests\n 2 2 1\nReading: 0 Writing: 0 Waiting: 1\n"
        );
    }
}
