//! Applies a rate limit (see `domain::limits`): one counted attempt, refused with 429 and the
//! seconds to wait once the window's count passes the limit.

use crate::domain::limits::Limit;
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
    let count = backend.count(&key, ends).await?;
    limit.admit(count, ends, now)?;
    Ok(Counted { key, ends })
}
