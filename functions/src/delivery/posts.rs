//! Posting frames to live connections, and what a post learns: a connection that answers 410
//! Gone is forgotten. Each batch of posts is counted in the embedded metrics (`Posts`, `Gone`,
//! and `PostsFailed`: throttled past the retries or unreachable, which `PostsFailedAlarm` tells).

use super::presence;
use crate::store::Backend;
use im_adapters::emf::{self, Unit};
use im_adapters::PostOutcome;
use std::sync::Arc;

/// Posts frames; a connection that answers 410 Gone is forgotten.
pub(super) async fn post_forgetting_gone(backend: &impl Backend, posts: Vec<(String, Arc<[u8]>)>) {
    if posts.is_empty() {
        return;
    }
    let (mut posted, mut gone, mut failed) = (0.0, 0.0, 0.0);
    for (cid, outcome) in backend.post_all(posts).await {
        posted += 1.0;
        match outcome {
            PostOutcome::Gone => {
                gone += 1.0;
                forget(backend, &cid, "gone").await;
            }
            PostOutcome::Failed => failed += 1.0,
            PostOutcome::Delivered => {}
        }
    }
    let counts = [("Posts", posted, Unit::Count), ("Gone", gone, Unit::Count), ("PostsFailed", failed, Unit::Count)];
    emf::emit(&counts);
}

pub(super) async fn forget(backend: &impl Backend, cid: &str, why: &str) {
    if let Err(err) = presence::disconnected(backend, cid).await {
        tracing::warn!(error = %err, why, "could not forget a connection");
    }
}
