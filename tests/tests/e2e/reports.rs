//! Reporting (issue 27, item 4) from outside: a report is filed for the operator with the
//! reported message as it was, which its sender's later delete does not take away.

use aws_sdk_dynamodb::types::AttributeValue;
use im_tests::{ask, befriend, connect, new_user, Client, User};
use serde_json::{json, Value};

fn client(user: &User) -> Client {
    Client::new().with_token(&user.token)
}

/// What the operator reads of a report: its item, by the day and number its id names.
async fn filed(id: &str) -> std::collections::HashMap<String, AttributeValue> {
    let (day, number) = id.split_once(':').expect("an id <day>:<number>");
    let out = im_tests::dynamodb()
        .query()
        .table_name("ConversationsTable")
        .key_condition_expression("pk = :pk AND sk = :sk")
        .expression_attribute_values(":pk", AttributeValue::S(format!("report#{day}")))
        .expression_attribute_values(":sk", AttributeValue::N(number.into()))
        .send()
        .await
        .expect("the operator's Query");
    out.items.unwrap_or_default().pop().expect("the report is stored")
}

async fn report(by: &User, body: Value) -> im_tests::Answer {
    client(by).post_json("/report", &body).await
}

#[tokio::test]
async fn a_reported_message_deleted_afterwards_still_holds_its_text_for_the_operator() {
    let (ann, bob, eve) = (new_user("ann", "web").await, new_user("bob", "web").await, new_user("eve", "web").await);
    befriend(&ann, &bob).await;
    let sent =
        client(&bob).post_json("/message", &json!({ "to": ann.id, "id": "r1", "c": "send me your password" })).await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    let sid = sent.doc()["message"][0]["sid"].as_str().unwrap().to_string();

    // A stranger cannot report (nor learn of) a message they cannot see.
    assert_eq!(report(&eve, json!({ "message": sid, "reason": "abuse" })).await.status, 404);
    let answer = report(&ann, json!({ "message": sid, "reason": "abuse", "text": "phishing" })).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let id = answer.doc()["report"][0]["id"].as_str().unwrap().to_string();

    let deleted = client(&bob).send("DELETE", &format!("/message?id={}", sid.replace('#', "%23")), None, None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let item = filed(&id).await;
    let content = item["content"].as_m().expect("the message as reported");
    assert_eq!(content["c"].as_s().unwrap(), "send me your password");
    assert_eq!(item["reason"].as_s().unwrap(), "abuse");
    assert_eq!(item["by"].as_n().unwrap(), &ann.id.to_string());
    assert_eq!(item["user"].as_n().unwrap(), &bob.id.to_string());

    // The operator's topic heard of it (an email subscription would show this subject).
    let url = format!("{}/_local/topic?name=ReportTopic", im_tests::stack().http);
    let published: Vec<Value> = reqwest::get(&url).await.unwrap().json().await.unwrap();
    let told = published.iter().find(|m| m["subject"].as_str().is_some_and(|s| s.contains(&id)));
    let told = told.expect("the report published to the topic");
    assert!(told["text"].as_str().unwrap().contains("send me your password"), "{told}");

    // A user too, over the socket; bad reports change nothing.
    let mut socket = connect(&format!("token={}", ann.token)).await.unwrap();
    let over_socket = ask(&mut socket, "REPORT", json!({ "user": bob.id, "reason": "spam" })).await;
    assert_eq!(over_socket["event"], "OK", "{over_socket}");
    assert!(!filed(over_socket["data"]["report"]["id"].as_str().unwrap()).await.contains_key("message"));
    for bad in [
        json!({ "reason": "spam" }),
        json!({ "user": bob.id, "reason": "rude" }),
        json!({ "user": bob.id, "message": sid, "reason": "spam" }),
        json!({ "user": bob.id, "reason": "other", "text": "x".repeat(501) }),
        json!({ "user": ann.id, "reason": "spam" }),
    ] {
        assert_eq!(report(&ann, bad.clone()).await.status, 400, "{bad}");
    }
    assert_eq!(report(&ann, json!({ "user": 999_999_999, "reason": "spam" })).await.status, 404);
    assert_eq!(Client::new().post_json("/report", &json!({ "user": bob.id, "reason": "spam" })).await.status, 401);
}
