//! Collapsing concurrent misses: while one request for a URL is at the origin, the others for
//! the same URL wait for it and are then answered from the cache.
//!
//! The first request to miss becomes the *leader* and holds a [`Lead`]; requests that miss on
//! the same key meanwhile become *followers* and [`Flight::wait`]. The leader lets them go as
//! soon as it knows the answer will not be stored (they then go to the origin themselves), or
//! once it is stored (they then find it in the cache). A follower never waits longer than the
//! upstream timeout.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Requests at the origin, by cache key.
#[derive(Debug, Default)]
pub struct InFlight {
    flights: Mutex<HashMap<String, Arc<Flight>>>,
}

/// One request at the origin that others wait for.
#[derive(Debug, Default)]
pub struct Flight {
    landed: Mutex<bool>,
    cv: Condvar,
}

impl Flight {
    /// Waits until the leader lands or `limit` passes.
    pub fn wait(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut landed = self.landed.lock().unwrap_or_else(|e| e.into_inner());
        while !*landed {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            landed = self
                .cv
                .wait_timeout(landed, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// What [`InFlight::join`] made of a request.
#[derive(Debug)]
pub enum Joined<'a> {
    /// The first: go to the origin, and drop the [`Lead`] when the others may look again.
    Leader(Lead<'a>),
    /// Another request is already at the origin: wait for it.
    Follower(Arc<Flight>),
}

impl InFlight {
    /// Joins the flight for `key`, or starts it.
    pub fn join(&self, key: &str) -> Joined<'_> {
        let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(flight) = flights.get(key) {
            return Joined::Follower(flight.clone());
        }
        flights.insert(key.to_owned(), Arc::new(Flight::default()));
        Joined::Leader(Lead {
            table: self,
            key: key.to_owned(),
        })
    }
}

/// The leader's hold on a flight; dropping it releases the followers.
#[derive(Debug)]
pub struct Lead<'a> {
    table: &'a InFlight,
    key: String,
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        let flight = self
            .table
            .flights
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.key);
        if let Some(flight) = flight {
            *flight.landed.lock().unwrap_or_else(|e| e.into_inner()) = true;
            flight.cv.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn followers_wait_for_the_leader_and_a_new_flight_starts_after() {
        let table = InFlight::default();
        let lead = match table.join("k") {
            Joined::Leader(lead) => lead,
            Joined::Follower(_) => panic!("the first request leads"),
        };
        let Joined::Follower(flight) = table.join("k") else {
            panic!("the second request follows");
        };
        std::thread::scope(|s| {
            let waiter = s.spawn(|| flight.wait(Duration::from_secs(30)));
            drop(lead);
            waiter.join().unwrap();
        });
        assert!(matches!(table.join("k"), Joined::Leader(_)));
    }
}
