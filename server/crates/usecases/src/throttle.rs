//! Console sign-in throttling. After a few failures in a row, an account
//! (and, separately, a client address) must wait before its next attempt,
//! and the wait doubles with each further failure up to a ceiling. The
//! ceiling is the point: an attacker can slow the real admin down to one
//! attempt a minute, never lock them out for good. A success clears the
//! account's count. Counts live in each server's memory: several servers
//! each allow their own share.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Failures an account may have in a row before it waits.
pub const FREE_ACCOUNT_FAILURES: u32 = 5;
/// Failures one client address may have in a row before it waits (several
/// admins may share an address, behind a proxy).
pub const FREE_ADDRESS_FAILURES: u32 = 20;
/// The first wait; each further failure doubles it.
pub const FIRST_WAIT: Duration = Duration::from_secs(1);
/// The longest wait.
pub const LONGEST_WAIT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Account(u64),
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    not_before: Instant,
    last: Instant,
}

#[derive(Default)]
pub struct SignInThrottle {
    entries: Mutex<HashMap<Key, Entry>>,
}

fn account(email: &str) -> Key {
    use std::hash::{Hash, Hasher};
    // the email is not kept in memory, only a hash of it
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    email.hash(&mut hasher);
    Key::Account(hasher.finish())
}

impl SignInThrottle {
    fn entries(&self) -> MutexGuard<'_, HashMap<Key, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How long this attempt must still wait, if at all.
    pub fn wait(&self, email: &str, address: Option<IpAddr>, now: Instant) -> Option<Duration> {
        let entries = self.entries();
        let mut keys = vec![account(email)];
        keys.extend(address.map(Key::Address));
        keys.iter()
            .filter_map(|key| entries.get(key))
            .map(|entry| entry.not_before.saturating_duration_since(now))
            .filter(|wait| !wait.is_zero())
            .max()
    }

    /// Counts a failure of the account and of the address.
    pub fn failed(&self, email: &str, address: Option<IpAddr>, now: Instant) {
        let mut entries = self.entries();
        // forget what nobody has touched for a while, so the map stays small
        if entries.len() > 10_000 {
            entries.retain(|_, entry| now.saturating_duration_since(entry.last) < LONGEST_WAIT * 2);
        }
        let mut keys = vec![(account(email), FREE_ACCOUNT_FAILURES)];
        keys.extend(address.map(|address| (Key::Address(address), FREE_ADDRESS_FAILURES)));
        for (key, free) in keys {
            let entry = entries.entry(key).or_insert(Entry {
                failures: 0,
                not_before: now,
                last: now,
            });
            entry.failures = entry.failures.saturating_add(1);
            entry.last = now;
            if entry.failures >= free {
                let doublings = (entry.failures - free).min(16);
                let wait = FIRST_WAIT.saturating_mul(1 << doublings).min(LONGEST_WAIT);
                entry.not_before = now + wait;
            }
        }
    }

    /// A right password clears the account's count (the address's stays:
    /// one good sign-in must not open the door for a guessing neighbour).
    pub fn succeeded(&self, email: &str) {
        self.entries().remove(&account(email));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_to_a_ceiling_and_a_success_clears_them() {
        let throttle = SignInThrottle::default();
        let t0 = Instant::now();
        let at = |secs: u64| t0 + Duration::from_secs(secs);
        for _ in 0..FREE_ACCOUNT_FAILURES - 1 {
            throttle.failed("ops@x", None, t0);
            assert_eq!(throttle.wait("ops@x", None, t0), None);
        }
        throttle.failed("ops@x", None, t0);
        assert_eq!(throttle.wait("ops@x", None, t0), Some(FIRST_WAIT));
        throttle.failed("ops@x", None, at(1));
        assert_eq!(
            throttle.wait("ops@x", None, at(1)),
            Some(Duration::from_secs(2))
        );
        for n in 0..20 {
            throttle.failed("ops@x", None, at(10 + n));
        }
        assert_eq!(throttle.wait("ops@x", None, at(29)), Some(LONGEST_WAIT));
        // never longer than the ceiling: the real admin gets their turn
        assert_eq!(throttle.wait("ops@x", None, at(29) + LONGEST_WAIT), None);
        // another account is not slowed by this one
        assert_eq!(throttle.wait("other@x", None, at(29)), None);
        throttle.succeeded("ops@x");
        assert_eq!(throttle.wait("ops@x", None, at(29)), None);
    }

    #[test]
    fn one_address_guessing_many_accounts_waits_too() {
        let throttle = SignInThrottle::default();
        let t0 = Instant::now();
        let address: IpAddr = [10, 0, 0, 9].into();
        for n in 0..FREE_ADDRESS_FAILURES {
            throttle.failed(&format!("user{n}@x"), Some(address), t0);
        }
        assert_eq!(
            throttle.wait("fresh@x", Some(address), t0),
            Some(FIRST_WAIT)
        );
        assert_eq!(throttle.wait("fresh@x", None, t0), None);
    }
}
