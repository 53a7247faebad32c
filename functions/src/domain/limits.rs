//! Rate limits: how many times one subject (an account, a source address, a user) may do an
//! action in a fixed window. Counted in DynamoDB (an atomic ADD, the item expiring with its
//! window by TTL), so every Lambda instance and both surfaces (HTTP and socket frames) share
//! one count: one ADD per attempt, or for sends one per batch tallied in the warm instance
//! ([`Tallies`]). docs/SECURITY.md lists them.

use super::refusal::Refusal;
use std::collections::HashMap;

/// At most `max` of `action` per `window_secs`, per subject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub action: &'static str,
    pub max: u64,
    pub window_secs: u64,
}

/// Failed password checks per account, whichever name (phone or email) reached it, logins and
/// password changes together: a guesser gets 20 tries per quarter hour and argon2 never runs
/// past them; a right password gives its attempt back, so a client that logs in at every
/// reconnect never locks itself out.
pub const LOGINS_PER_ACCOUNT: Limit = Limit { action: "login-account", max: 20, window_secs: 900 };
/// Logins per source address, across accounts (spraying one password over many accounts).
/// Generous: phones behind a carrier's NAT share addresses.
pub const LOGINS_PER_SOURCE: Limit = Limit { action: "login-source", max: 300, window_secs: 900 };
/// Sign-ups per source address.
pub const SIGN_UPS_PER_SOURCE: Limit = Limit { action: "sign-up-source", max: 30, window_secs: 3600 };
/// Messages per sender (both surfaces, text and audio).
pub const SENDS_PER_USER: Limit = Limit { action: "send", max: 120, window_secs: 60 };
/// Friend requests and follows per user.
pub const REQUESTS_PER_USER: Limit = Limit { action: "request", max: 60, window_secs: 3600 };
/// Profile look-ups (by id or phone) of users who are not the caller's correspondents, misses
/// included: walking the id space takes years.
pub const LOOKUPS_PER_USER: Limit = Limit { action: "lookup", max: 100, window_secs: 3600 };
/// Group joins per user (each tells every member).
pub const JOINS_PER_USER: Limit = Limit { action: "join", max: 20, window_secs: 3600 };
/// Group leaves per user.
pub const LEAVES_PER_USER: Limit = Limit { action: "leave", max: 20, window_secs: 3600 };
/// Members a user adds to groups.
pub const ADDS_PER_USER: Limit = Limit { action: "add", max: 20, window_secs: 3600 };
/// Presigned upload forms per user: each is a signed licence to store up to 1 MiB, and a
/// phone needs one per voice note.
pub const PRESIGNS_PER_USER: Limit = Limit { action: "presign", max: 60, window_secs: 3600 };

/// Account exports per user: each reads the whole history of the user's conversations.
pub const EXPORTS_PER_USER: Limit = Limit { action: "export", max: 5, window_secs: 3600 };

/// Profile and avatar changes per user: each tells every friend.
pub const PROFILE_CHANGES_PER_USER: Limit = Limit { action: "profile", max: 30, window_secs: 3600 };

/// Password reset codes asked for per address (a phone or an email, whether or not an account
/// has it) and per account.
pub const RESETS_PER_ADDRESS: Limit = Limit { action: "reset-address", max: 5, window_secs: 3600 };
pub const RESETS_PER_ACCOUNT: Limit = Limit { action: "reset-account", max: 5, window_secs: 3600 };
/// Reset confirmations per source address, across accounts: each is a guess.
pub const RESET_GUESSES_PER_SOURCE: Limit = Limit { action: "reset-source", max: 60, window_secs: 900 };

/// Reports per user.
pub const REPORTS_PER_USER: Limit = Limit { action: "report", max: 20, window_secs: 3600 };

impl Limit {
    /// The counter's key for `subject` at `now`, and when its window ends.
    pub fn counter(&self, subject: &str, now: u64) -> (String, u64) {
        let start = now - now % self.window_secs;
        (format!("limit#{}#{subject}#{start}", self.action), start + self.window_secs)
    }

    /// Whether the `count`th attempt in the window ending at `ends` passes; the refusal says
    /// when to try again.
    pub fn admit(&self, count: u64, ends: u64, now: u64) -> Result<(), Refusal> {
        if count <= self.max {
            return Ok(());
        }
        Err(Refusal::TooManyRequests(ends.saturating_sub(now).max(1)))
    }
}

/// What one warm instance counted of frequent actions, per counter key: attempts not yet added
/// to the shared counter, and the shared count as last seen. An attempt is judged against
/// both; every `max / 10` attempts (at least 1) the batch is added and the answer learnt.
pub struct Tallies(Option<HashMap<String, Window>>);

struct Window {
    ends: u64,
    shared: u64,
    pending: u64,
}

/// What to do with one attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum Tally {
    /// Judge this count; nothing to write.
    Seen(u64),
    /// Add this many to the shared counter and judge its answer.
    Flush(u64),
}

impl Default for Tallies {
    fn default() -> Self {
        Self::new()
    }
}

impl Tallies {
    pub const fn new() -> Tallies {
        Tallies(None)
    }

    /// Tallies one attempt under `key` (a window of `limit` ending at `ends`).
    pub fn count(&mut self, limit: &Limit, key: &str, ends: u64, now: u64) -> Tally {
        let windows = self.0.get_or_insert_with(HashMap::new);
        windows.retain(|_, w| w.ends > now);
        let window = windows.entry(key.to_string()).or_insert(Window { ends, shared: 0, pending: 0 });
        window.pending += 1;
        if window.pending >= (limit.max / 10).max(1) {
            return Tally::Flush(std::mem::take(&mut window.pending));
        }
        Tally::Seen(window.shared + window.pending)
    }

    /// The shared counter's answer to a flush: everything every instance added so far.
    pub fn learn(&mut self, key: &str, shared: u64) {
        if let Some(window) = self.0.as_mut().and_then(|w| w.get_mut(key)) {
            window.shared = window.shared.max(shared);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instance_writes_once_a_batch_and_refuses_exactly_past_the_limit() {
        let limit = Limit { action: "send", max: 30, window_secs: 60 };
        let mut tallies = Tallies::new();
        let (key, ends) = limit.counter("7", 120);
        let mut shared = 0;
        let mut writes = 0;
        let mut admitted = 0;
        for _ in 0..40 {
            let count = match tallies.count(&limit, &key, ends, 130) {
                Tally::Seen(count) => count,
                Tally::Flush(by) => {
                    writes += 1;
                    shared += by;
                    tallies.learn(&key, shared);
                    shared
                }
            };
            if limit.admit(count, ends, 130).is_ok() {
                admitted += 1;
            }
        }
        assert_eq!((admitted, writes), (30, 13), "a batch of 3 (30 / 10) per write");
        // Another instance's batches are learnt at the next flush.
        let mut other = Tallies::new();
        assert_eq!(other.count(&limit, &key, ends, 130), Tally::Seen(1));
        assert_eq!(other.count(&limit, &key, ends, 130), Tally::Seen(2));
        assert_eq!(other.count(&limit, &key, ends, 130), Tally::Flush(3));
        other.learn(&key, shared + 3);
        assert_eq!(other.count(&limit, &key, ends, 130), Tally::Seen(shared + 4));
        // A new window starts from nothing, and the old one is dropped.
        let (next, next_ends) = limit.counter("7", 180);
        assert_eq!(tallies.count(&limit, &next, next_ends, 180), Tally::Seen(1));
        assert_eq!(tallies.0.as_ref().map(HashMap::len), Some(1));
    }

    #[test]
    fn windows_are_fixed_and_the_refusal_says_when_to_retry() {
        let limit = Limit { action: "x", max: 2, window_secs: 60 };
        assert_eq!(limit.counter("u1", 130), ("limit#x#u1#120".to_string(), 180));
        assert_eq!(limit.counter("u1", 179).0, limit.counter("u1", 120).0);
        assert_ne!(limit.counter("u1", 180).0, limit.counter("u1", 179).0);
        assert!(limit.admit(2, 180, 130).is_ok());
        let refused = limit.admit(3, 180, 130).unwrap_err();
        assert_eq!((refused.status(), refused.clone()), (429, Refusal::TooManyRequests(50)));
        assert_eq!(limit.admit(3, 180, 180).unwrap_err(), Refusal::TooManyRequests(1));
    }
}
