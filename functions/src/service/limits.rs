//! Applies a rate limit (see `domain::limits`): one counted attempt, refused with 429 and the
//! seconds to wait once the window's count passes the limit.

use crate::domain::limits::Limit;
use crate::domain::now_secs;
use crate::domain::refusal::Result;
use crate::store::Backend;

/// Counts an attempt of `subject` against `limit`; refused past it.
pub async fn check(backend: &impl Backend, limit: &Limit, subject: &str) -> Result<()> {
    let now = now_secs();
    let (key, ends) = limit.counter(subject, now);
    let count = backend.count(&key, ends).await?;
    Ok(limit.admit(count, ends, now)?)
}
