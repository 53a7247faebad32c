//! A forgotten password (issue 27, item 5) from outside: a code read from the local SMS and
//! mail outboxes sets a new password and ends the old sessions; five wrong codes block the
//! code; an unknown address is answered exactly as a known one.

use im_tests::{connect, new_user, Client};
use serde_json::{json, Value};

/// What the local outbox `box` (`sms` or `mail`) holds for `to`.
async fn outbox(kind: &str, to: &str) -> Vec<Value> {
    let url = format!("{}/_local/{kind}?to={}", im_tests::stack().http, to.replace('+', "%2B"));
    let answer = reqwest::get(&url).await.expect("the outbox answers");
    assert_eq!(answer.status().as_u16(), 200);
    answer.json::<Vec<Value>>().await.unwrap()
}

/// The code in the last message of the outbox.
async fn last_code(kind: &str, to: &str) -> String {
    let received = outbox(kind, to).await;
    let text = received.last().expect("a message")["text"].as_str().unwrap().to_string();
    let word = text
        .split_whitespace()
        .find(|w| w.trim_end_matches('.').len() == 6 && w.trim_end_matches('.').bytes().all(|b| b.is_ascii_digit()));
    word.expect("a six-digit code").trim_end_matches('.').to_string()
}

async fn post(path: &str, body: Value) -> im_tests::Answer {
    Client::new()
        .send("POST", path, Some("application/json"), Some(("application/json", body.to_string().into_bytes())))
        .await
}

#[tokio::test]
async fn a_code_by_sms_sets_a_new_password_and_ends_every_session() {
    let ann = new_user("ann", "web").await;
    // The test phones begin with 86, the local calling code: they are sent to as they are.
    let number = format!("+{}", ann.phone);
    let mut socket = connect(&format!("token={}", ann.token)).await.unwrap();

    let asked = post("/user/password/reset", json!({ "phone": ann.phone })).await;
    assert_eq!(asked.status, 202, "{}", asked.text);
    let unknown = post("/user/password/reset", json!({ "phone": "8699999000001" })).await;
    assert_eq!(
        (unknown.status, unknown.text.as_str()),
        (asked.status, asked.text.as_str()),
        "an unknown phone looks the same"
    );
    assert!(outbox("sms", "+8699999000001").await.is_empty(), "and gets nothing");
    let code = last_code("sms", &number).await;

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let confirm = |code: &str, password: &str| {
        post("/user/password/reset/confirm", json!({ "phone": ann.phone, "code": code, "password": password }))
    };
    // A password the rules refuse costs no guess.
    assert_eq!(confirm(&code, "abc").await.status, 400);
    assert_eq!(confirm(&code, "a-new-password").await.status, 200, "the right code");
    assert_eq!(Client::new().with_token(&ann.token).get("/group").await.status, 401, "the old session ended");
    assert!(im_tests::closed(&mut socket).await, "its socket closed");
    let login = |password: &'static str| {
        let phone = ann.phone.clone();
        async move {
            Client::new()
                .post_form("/server/login", &[("phone", &phone), ("password", password), ("device", "web")])
                .await
                .status
        }
    };
    assert_eq!(login("888888").await, 401, "the old password no longer works");
    assert_eq!(login("a-new-password").await, 200);
    assert_eq!(confirm(&code, "yet-another-one").await.status, 400, "a code works once");

    // Five wrong codes block the code: the right one then fails too.
    assert_eq!(post("/user/password/reset", json!({ "phone": ann.phone })).await.status, 202);
    let code = last_code("sms", &number).await;
    let wrong = if code == wrong { "222222" } else { wrong };
    for _ in 0..5 {
        assert_eq!(confirm(wrong, "blocked-password").await.status, 400);
    }
    assert_eq!(confirm(&code, "blocked-password").await.status, 400, "blocked");
    assert_eq!(login("a-new-password").await, 200, "unchanged");
}

#[tokio::test]
async fn a_code_by_email_lands_in_the_local_mailbox() {
    let email = format!("reset-{}@example.com", rand::random::<u32>());
    let created = Client::new().post_form("/user", &[("email", &email), ("name", "em"), ("password", "888888")]).await;
    assert_eq!(created.status, 200, "{}", created.text);
    assert_eq!(post("/user/password/reset", json!({ "email": email })).await.status, 202);
    let mail = outbox("mail", &email).await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(mail[0]["from"], "no-reply@im.localhost");
    let code = last_code("mail", &email).await;
    let confirmed =
        post("/user/password/reset/confirm", json!({ "email": email, "code": code, "password": "brand-new-pass" }))
            .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    let login = Client::new().post_form("/server/login", &[("email", &email), ("password", "brand-new-pass")]).await;
    assert_eq!(login.status, 200, "{}", login.text);
    // Nothing that is not a phone or an email, and the outboxes answer this machine only.
    assert_eq!(post("/user/password/reset", json!({})).await.status, 400);
}
