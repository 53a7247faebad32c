//! Applies a rate limit (see `domain::limits`): one counted attempt, refused with 429 and the
//! seconds to wait once the window's count passes the limit.

use crate::domain::limits::{Limit, Tally};
use crate::domain::now_secs;
use crate::domain::refusal::Result;
use crate::store::Backend;

/// Counts an attempt of `subject` against `limit`; refused past it.
pub async fn check(backend: &impl Backend, limit: &Limit, subject: &str) -> Result<()> {
    check_refundable(backend, limit, subject).await.map(|_| ())
}

/// An attempt counted against a limit that only failures should use up: give it back
/// ([`Counted::refund`]) when it succeeded.
pub struct Counted {
    key: String,
    ends: u64,
}

impl Counted {
    pub async fn refund(self, backend: &impl Backend) -> Result<()> {
        Ok(backend.refund(&self.key, self.ends).await?)
    }
}

/// Like [`check`], and the attempt can be given back.
pub async fn check_refundable(backend: &impl Backend, limit: &Limit, subject: &str) -> Result<Counted> {
    let now = now_secs();
    let (key, ends) = limit.counter(subject, now);
    let count = backend.count(&key, 1, ends).await?;
    limit.admit(count, ends, now)?;
    Ok(Counted { key, ends })
}

/// Like [`check`], for an action taken often (a send), without a write per attempt: attempts
/// are tallied in this warm instance and added to the shared counter a batch at a time
/// (`Tallies`), whose answer tells the instance what all instances counted. So one instance
/// refuses exactly past the limit; K instances serving one subject at once can let through up
/// to K batches more before each learns the shared count (docs/SECURITY.md).
pub async fn check_often(backend: &impl Backend, limit: &Limit, subject: &str) -> Result<()> {
    let now = now_secs();
    let (key, ends) = limit.counter(subject, now);
    let tallies = backend.tallies();
    let tally = tallies.lock().unwrap_or_else(|e| e.into_inner()).count(limit, &key, ends, now);
    let count = match tally {
        Tally::Seen(count) => count,
        Tally::Flush(by) => {
            let shared = backend.count(&key, by, ends).await?;
            tallies.lock().unwrap_or_else(|e| e.into_inner()).learn(&key, shared);
            shared
        }
    };
    Ok(limit.admit(count, ends, now)?)
}
