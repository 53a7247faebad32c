//! Embedded metrics (issue 28, item 2) from outside: a send's metrics are summed by the local
//! stack at `GET /_local/metrics`, as CloudWatch would sum the lines the functions log.

use im_tests::{befriend, connect, new_user, next_event, Client};
use serde_json::{json, Value};

async fn metrics() -> Value {
    let url = format!("{}/_local/metrics", im_tests::stack().http);
    reqwest::get(&url).await.expect("the metrics answer").json().await.unwrap()
}

fn sum(metrics: &Value, name: &str) -> f64 {
    metrics[name].as_f64().unwrap_or(0.0)
}

#[tokio::test]
async fn a_send_is_counted_stored_and_posted_in_the_embedded_metrics() {
    let (ann, bob) = (new_user("ann", "web").await, new_user("bob", "web").await);
    befriend(&ann, &bob).await;
    let mut socket = connect(&format!("token={}", bob.token)).await.unwrap();
    let before = metrics().await;
    let sent = Client::new()
        .with_token(&ann.token)
        .post_json("/message", &json!({ "to": bob.id, "id": "metric-1", "c": "counted" }))
        .await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    next_event(&mut socket, "NOTIFY_NEW_MSG").await;
    let after = metrics().await;
    assert!(sum(&after, "MessagesStored") >= sum(&before, "MessagesStored") + 1.0, "{before} -> {after}");
    assert!(sum(&after, "Posts") >= sum(&before, "Posts") + 1.0, "{before} -> {after}");
    assert!(after.get("StoreToLastPostMs").is_some(), "{after}");
}
