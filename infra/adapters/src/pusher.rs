//! Posting frames to live WebSocket connections through the `@connections` management API.

use aws_sdk_apigatewaymanagement as apigw;
use aws_smithy_types::Blob;
use futures::stream::{self, StreamExt};
use std::time::Duration;

/// What became of one post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostOutcome {
    Delivered,
    /// 410: the connection is closed; its record should go.
    Gone,
    /// Anything else (throttled past the retries, network): the frame stays stored for sync.
    Failed,
}

#[derive(Clone)]
pub struct Pusher {
    client: apigw::Client,
    concurrency: usize,
}

/// Throttling is retried this many times, with doubling backoff from 20 ms.
const THROTTLE_RETRIES: u32 = 3;

impl Pusher {
    pub fn new(client: apigw::Client, concurrency: usize) -> Self {
        Pusher { client, concurrency: concurrency.max(1) }
    }

    /// Posts one frame to one connection.
    pub async fn post(&self, connection_id: &str, frame: &[u8]) -> PostOutcome {
        let mut delay = Duration::from_millis(20);
        for attempt in 0..=THROTTLE_RETRIES {
            let sent =
                self.client.post_to_connection().connection_id(connection_id).data(Blob::new(frame)).send().await;
            match sent {
                Ok(_) => return PostOutcome::Delivered,
                Err(err) => {
                    let service = err.as_service_error();
                    if service.is_some_and(|e| e.is_gone_exception()) {
                        return PostOutcome::Gone;
                    }
                    let throttled = service.is_some_and(|e| e.is_limit_exceeded_exception());
                    if !throttled || attempt == THROTTLE_RETRIES {
                        tracing::warn!(connection_id, error = %apigw::error::DisplayErrorContext(&err), "push failed");
                        return PostOutcome::Failed;
                    }
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
            }
        }
        PostOutcome::Failed
    }

    /// Posts each (connection, frame) pair with bounded concurrency; outcomes come back in order.
    /// A frame many connections get is one shared buffer.
    pub async fn post_all(&self, posts: Vec<(String, std::sync::Arc<[u8]>)>) -> Vec<(String, PostOutcome)> {
        stream::iter(posts)
            .map(|(cid, frame)| async move {
                let outcome = self.post(&cid, &frame).await;
                (cid, outcome)
            })
            .buffered(self.concurrency)
            .collect()
            .await
    }

    /// Closes a connection from the server side (logout, account removal).
    pub async fn disconnect(&self, connection_id: &str) -> PostOutcome {
        match self.client.delete_connection().connection_id(connection_id).send().await {
            Ok(_) => PostOutcome::Delivered,
            Err(err) if err.as_service_error().is_some_and(|e| e.is_gone_exception()) => PostOutcome::Gone,
            Err(_) => PostOutcome::Failed,
        }
    }
}
