//! Failed sign-ins slow further tries down, per login and per address: after a few failures
//! each further try must wait twice as long as the one before (up to a minute), and the web
//! answers at once that it must, without asking the database. A login is given fewer free
//! tries than an address, behind which a whole office may sit.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures a login may have before it must wait.
const LOGIN_FREE: u32 = 3;
/// Failures an address may have before it must wait.
const ADDRESS_FREE: u32 = 20;
/// The longest wait.
const LONGEST: Duration = Duration::from_secs(60);
/// A tally nobody added to for this long is forgotten.
const FORGET: Duration = Duration::from_secs(15 * 60);
/// Tallies kept at most (per kind); the oldest go first.
const KEEP: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Tally {
    failures: u32,
    last: Instant,
}

impl Tally {
    fn wait(&self, free: u32, now: Instant) -> Duration {
        if self.failures < free {
            return Duration::ZERO;
        }
        let step = Duration::from_secs(1u64 << (self.failures - free).min(6)).min(LONGEST);
        step.saturating_sub(now.saturating_duration_since(self.last))
    }
}

#[derive(Debug)]
struct Tallies<K> {
    map: HashMap<K, Tally>,
    free: u32,
}

impl<K: Eq + Hash + Clone> Tallies<K> {
    fn new(free: u32) -> Self {
        Self {
            map: HashMap::new(),
            free,
        }
    }

    fn wait(&self, key: &K, now: Instant) -> Duration {
        self.map.get(key).map(|t| t.wait(self.free, now)).unwrap_or_default()
    }

    fn fail(&mut self, key: &K, now: Instant) {
        if self.map.len() >= KEEP {
            self.map.retain(|_, t| now.saturating_duration_since(t.last) < FORGET);
            if self.map.len() >= KEEP {
                if let Some(oldest) = self.map.iter().min_by_key(|(_, t)| t.last).map(|(k, _)| k.clone()) {
                    self.map.remove(&oldest);
                }
            }
        }
        let t = self.map.entry(key.clone()).or_insert(Tally { failures: 0, last: now });
        if now.saturating_duration_since(t.last) >= FORGET {
            t.failures = 0;
        }
        t.failures += 1;
        t.last = now;
    }
}

/// The tallies of failed sign-ins.
#[derive(Debug)]
pub struct Throttle {
    logins: Mutex<Tallies<String>>,
    addresses: Mutex<Tallies<IpAddr>>,
}

impl Default for Throttle {
    fn default() -> Self {
        Self {
            logins: Mutex::new(Tallies::new(LOGIN_FREE)),
            addresses: Mutex::new(Tallies::new(ADDRESS_FREE)),
        }
    }
}

fn key(login: &str) -> String {
    login.trim().to_lowercase()
}

impl Throttle {
    /// How long a sign-in as `login` from `address` must still wait.
    pub fn wait(&self, login: &str, address: IpAddr, now: Instant) -> Duration {
        let by_login = self.logins.lock().map(|t| t.wait(&key(login), now)).unwrap_or_default();
        let by_address = self.addresses.lock().map(|t| t.wait(&address, now)).unwrap_or_default();
        by_login.max(by_address)
    }

    /// A sign-in failed.
    pub fn failed(&self, login: &str, address: IpAddr, now: Instant) {
        if let Ok(mut t) = self.logins.lock() {
            t.fail(&key(login), now);
        }
        if let Ok(mut t) = self.addresses.lock() {
            t.fail(&address, now);
        }
    }

    /// A sign-in succeeded: the login's failures are forgotten (the address's are not, or one
    /// valid account would let its holder guess others' passwords unhindered).
    pub fn succeeded(&self, login: &str) {
        if let Ok(mut t) = self.logins.lock() {
            t.map.remove(&key(login));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_make_the_next_try_wait_longer() {
        let th = Throttle::default();
        let me: IpAddr = [10, 0, 0, 7].into();
        let t0 = Instant::now();
        for _ in 0..LOGIN_FREE {
            assert_eq!(th.wait("ivanova", me, t0), Duration::ZERO);
            th.failed("ivanova", me, t0);
        }
        // Fourth failure onwards: 1 s, then 2 s, 4 s… — for this login, whatever the case.
        assert_eq!(th.wait("Ivanova", me, t0), Duration::from_secs(1));
        assert_eq!(th.wait("ivanova", me, t0 + Duration::from_secs(1)), Duration::ZERO);
        th.failed("ivanova", me, t0 + Duration::from_secs(1));
        assert_eq!(
            th.wait("ivanova", me, t0 + Duration::from_secs(1)),
            Duration::from_secs(2)
        );
        // Another login from the same address is not held up yet…
        assert_eq!(th.wait("petrov", me, t0), Duration::ZERO);
        // …until the address has failed too often.
        for i in 0..ADDRESS_FREE {
            th.failed(&format!("guess{i}"), me, t0 + Duration::from_secs(2));
        }
        assert!(th.wait("petrov", me, t0 + Duration::from_secs(2)) > Duration::ZERO);
        assert_eq!(th.wait("petrov", [10, 0, 0, 8].into(), t0), Duration::ZERO);
        // The longest wait is a minute.
        for _ in 0..30 {
            th.failed("ivanova", me, t0);
        }
        assert_eq!(th.wait("ivanova", [10, 0, 0, 9].into(), t0), LONGEST);
        th.succeeded("ivanova");
        assert_eq!(th.wait("ivanova", [10, 0, 0, 9].into(), t0), Duration::ZERO);
    }

    #[test]
    fn the_tallies_cannot_grow_without_end() {
        let mut t = Tallies::new(1);
        let t0 = Instant::now();
        for i in 0..(KEEP + 50) {
            t.fail(&i, t0 + Duration::from_millis(i as u64));
        }
        assert!(t.map.len() <= KEEP);
        assert!(t.wait(&(KEEP + 49), t0 + Duration::from_secs(1)) > Duration::ZERO);
    }
}
