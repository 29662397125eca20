//! Console sign-in throttling. Every attempt is counted before its password
//! is checked (so parallel guesses are throttled too); after a few in a
//! row, an account tried from one client address (and, separately, the
//! address itself) must wait before its next attempt, the wait doubling up
//! to one minute. The account is counted per address, so a guesser
//! elsewhere cannot make the real admin wait; a success forgives the
//! account's count and refunds its attempt to the address; counts idle for
//! two minutes start afresh. Counts live in each server's memory. Behind a
//! proxy every client has the proxy's address (forwarded headers are not
//! trusted), so the address count is shared there.

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

/// Counts idle this long start afresh.
pub const FORGET_AFTER: Duration = Duration::from_secs(120);

fn account(email: &str, address: Option<IpAddr>) -> Key {
    use std::hash::{Hash, Hasher};
    // the email is not kept in memory, only a hash of it
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    email.hash(&mut hasher);
    address.hash(&mut hasher);
    Key::Account(hasher.finish())
}

impl SignInThrottle {
    fn entries(&self) -> MutexGuard<'_, HashMap<Key, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Lets an attempt through and counts it, or says how long it must
    /// still wait: one step, so parallel attempts cannot all slip past.
    pub fn admit(
        &self,
        email: &str,
        address: Option<IpAddr>,
        now: Instant,
    ) -> Result<(), Duration> {
        let mut entries = self.entries();
        if let Some(wait) = Self::wait_in(&entries, email, address, now) {
            return Err(wait);
        }
        Self::count(&mut entries, email, address, now);
        Ok(())
    }

    /// How long this attempt must still wait, if at all.
    pub fn wait(&self, email: &str, address: Option<IpAddr>, now: Instant) -> Option<Duration> {
        Self::wait_in(&self.entries(), email, address, now)
    }

    fn wait_in(
        entries: &HashMap<Key, Entry>,
        email: &str,
        address: Option<IpAddr>,
        now: Instant,
    ) -> Option<Duration> {
        let mut keys = vec![account(email, address)];
        keys.extend(address.map(Key::Address));
        keys.iter()
            .filter_map(|key| entries.get(key))
            .filter(|entry| now.saturating_duration_since(entry.last) < FORGET_AFTER)
            .map(|entry| entry.not_before.saturating_duration_since(now))
            .filter(|wait| !wait.is_zero())
            .max()
    }

    /// Counts an attempt of the account and of the address, before its
    /// password is checked.
    pub fn attempt(&self, email: &str, address: Option<IpAddr>, now: Instant) {
        Self::count(&mut self.entries(), email, address, now);
    }

    fn count(
        entries: &mut HashMap<Key, Entry>,
        email: &str,
        address: Option<IpAddr>,
        now: Instant,
    ) {
        // forget what nobody has touched for a while, so the map stays small
        if entries.len() > 10_000 {
            entries.retain(|_, entry| now.saturating_duration_since(entry.last) < FORGET_AFTER);
        }
        let mut keys = vec![(account(email, address), FREE_ACCOUNT_FAILURES)];
        keys.extend(address.map(|address| (Key::Address(address), FREE_ADDRESS_FAILURES)));
        for (key, free) in keys {
            let entry = entries.entry(key).or_insert(Entry {
                failures: 0,
                not_before: now,
                last: now,
            });
            if now.saturating_duration_since(entry.last) >= FORGET_AFTER {
                entry.failures = 0;
            }
            entry.failures = entry.failures.saturating_add(1);
            entry.last = now;
            if entry.failures >= free {
                let doublings = (entry.failures - free).min(16);
                let wait = FIRST_WAIT.saturating_mul(1 << doublings).min(LONGEST_WAIT);
                entry.not_before = now + wait;
            }
        }
    }

    /// A right password forgives the account's count and refunds its own
    /// attempt to the address (the address's other failures stay: one good
    /// sign-in must not open the door for a guessing neighbour).
    pub fn succeeded(&self, email: &str, address: Option<IpAddr>) {
        let mut entries = self.entries();
        entries.remove(&account(email, address));
        if let Some(entry) = address.and_then(|address| entries.get_mut(&Key::Address(address))) {
            entry.failures = entry.failures.saturating_sub(1);
            if entry.failures < FREE_ADDRESS_FAILURES {
                entry.not_before = entry.last;
            }
        }
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
            throttle.attempt("ops@x", None, t0);
            assert_eq!(throttle.wait("ops@x", None, t0), None);
        }
        throttle.attempt("ops@x", None, t0);
        assert_eq!(throttle.wait("ops@x", None, t0), Some(FIRST_WAIT));
        throttle.attempt("ops@x", None, at(1));
        assert_eq!(
            throttle.wait("ops@x", None, at(1)),
            Some(Duration::from_secs(2))
        );
        for n in 0..20 {
            throttle.attempt("ops@x", None, at(10 + n));
        }
        assert_eq!(throttle.wait("ops@x", None, at(29)), Some(LONGEST_WAIT));
        // never longer than the ceiling, and idle counts start afresh
        assert_eq!(throttle.wait("ops@x", None, at(29) + LONGEST_WAIT), None);
        throttle.attempt("ops@x", None, at(29) + FORGET_AFTER);
        assert_eq!(throttle.wait("ops@x", None, at(29) + FORGET_AFTER), None);
        // another account is not slowed by this one
        assert_eq!(throttle.wait("other@x", None, at(29)), None);
        throttle.succeeded("ops@x", None);
        assert_eq!(throttle.wait("ops@x", None, at(29)), None);
    }

    #[test]
    fn one_address_guessing_many_accounts_waits_too() {
        let throttle = SignInThrottle::default();
        let t0 = Instant::now();
        let address: IpAddr = [10, 0, 0, 9].into();
        for n in 0..FREE_ADDRESS_FAILURES {
            throttle.attempt(&format!("user{n}@x"), Some(address), t0);
        }
        assert_eq!(
            throttle.wait("fresh@x", Some(address), t0),
            Some(FIRST_WAIT)
        );
        assert_eq!(throttle.wait("fresh@x", None, t0), None);
    }
}
