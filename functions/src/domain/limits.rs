//! Rate limits: how many times one subject (an account, a source address, a user) may do an
//! action in a fixed window. Counted in DynamoDB (one atomic ADD per attempt, the item expiring
//! with its window by TTL), so every Lambda instance and both surfaces (HTTP and socket frames)
//! share one count. docs/SECURITY.md lists them.

use super::refusal::Refusal;

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

#[cfg(test)]
mod tests {
    use super::*;

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
