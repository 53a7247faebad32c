//! The abuse suite, second round (issue 21), sessions and sockets: a stolen session's socket
//! ends with the session, tickets are one-time, password guessing has one limit per account,
//! one socket message does a bounded amount of work. Each attack runs from outside.

use im_tests::{any_loopback_address, closed, connect, connect_plain, login, new_user, next_text, send_text, Client};
use serde_json::json;

fn form(fields: &[(&str, &str)]) -> Option<(&'static str, Vec<u8>)> {
    Some(("application/x-www-form-urlencoded", im_tests::form(fields).into_bytes()))
}

async fn change_password(token: &str, current: &str, new: &str) -> u16 {
    let body = form(&[("password", current), ("new_password", new)]);
    Client::new().with_token(token).send("PUT", "/user/password", None, body).await.status
}

#[tokio::test]
async fn a_stolen_tokens_socket_under_a_made_up_device_name_ends_with_logout_everywhere() {
    let owner = new_user("owner", "android").await;
    let stolen = login(&owner.phone, "tablet").await;
    let mut thief = connect(&format!("token={stolen}&device=anything")).await.unwrap();
    send_text(&mut thief, r#"{"event":"PING"}"#).await;
    assert!(next_text(&mut thief).await.contains("PONG"));
    let out = Client::new().with_token(&owner.token).post_form("/server/logout", &[("everywhere", "true")]).await;
    assert_eq!(out.status, 200, "{}", out.text);
    assert!(closed(&mut thief).await, "the socket of the ended session closes, whatever device it named");
}

#[tokio::test]
async fn a_socket_logged_in_by_password_ends_with_a_password_change() {
    let owner = new_user("owner", "android").await;
    let mut thief = connect_plain().await;
    let frame = json!({ "event": "LOGIN", "data": { "user": owner.phone, "password": "888888" } });
    send_text(&mut thief, &frame.to_string()).await;
    assert!(next_text(&mut thief).await.contains("\"OK\""), "logged in by password");
    assert_eq!(change_password(&owner.token, "888888", "n3w-secret").await, 200);
    assert!(closed(&mut thief).await, "a password login's socket is a session of its own, and it ended");
    let mut again = connect_plain().await;
    send_text(&mut again, &frame.to_string()).await;
    assert!(next_text(&mut again).await.contains("FAIL"), "the old password logs in no more");
}

#[tokio::test]
async fn a_ticket_opens_one_socket_once_and_dies_with_its_session() {
    let owner = new_user("owner", "android").await;
    let ticket = || async {
        let answer = Client::new().with_token(&owner.token).post_form("/ws/ticket", &[]).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let response = answer.doc()["response"][0].clone();
        assert_eq!(response["expires_in"], 60);
        response["ticket"].as_str().unwrap().to_string()
    };
    let first = ticket().await;
    let mut socket = connect(&format!("ticket={first}")).await.unwrap();
    send_text(&mut socket, r#"{"event":"PING"}"#).await;
    assert!(next_text(&mut socket).await.contains("PONG"));
    assert_eq!(connect(&format!("ticket={first}")).await.err(), Some(401), "used up");
    assert_eq!(connect(&format!("ticket={}", owner.token)).await.err(), Some(401), "a token is no ticket");
    assert_eq!(Client::new().post_form("/ws/ticket", &[]).await.status, 401, "only for a session");
    let unused = ticket().await;
    assert_eq!(Client::new().with_token(&owner.token).post_form("/server/logout", &[]).await.status, 200);
    assert!(closed(&mut socket).await, "the ticket's socket belongs to the session");
    assert_eq!(connect(&format!("ticket={unused}")).await.err(), Some(401), "its session ended");
}

#[tokio::test]
async fn guesses_through_the_accounts_second_name_share_its_one_limit() {
    let (phone, email) = (im_tests::unique_phone(), format!("{}@example.com", im_tests::unique_phone()));
    let fields = [("phone", phone.as_str()), ("email", email.as_str()), ("name", "two names"), ("password", "888888")];
    assert_eq!(Client::new().post_form("/user", &fields).await.status, 200);
    let guesser = Client::from_address(any_loopback_address());
    for guess in 0..10 {
        let wrong = format!("wrong-{guess}");
        let by_phone = guesser.post_form("/server/login", &[("phone", &phone), ("password", &wrong)]).await;
        assert_eq!(by_phone.status, 401);
        let by_email = guesser.post_form("/server/login", &[("email", &email), ("password", &wrong)]).await;
        assert_eq!(by_email.status, 401);
    }
    let past = guesser.post_form("/server/login", &[("email", &email), ("password", "888888")]).await;
    assert_eq!(past.status, 429, "20 failures by either name: {}", past.text);
    assert!(past.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn a_client_that_logs_in_by_password_at_every_reconnect_never_locks_itself_out() {
    let owner = new_user("reconnecting", "android").await;
    for _ in 0..22 {
        let mut socket = connect_plain().await;
        let frame = json!({ "event": "LOGIN", "data": { "user": owner.phone, "password": "888888" } });
        send_text(&mut socket, &frame.to_string()).await;
        let answer = next_text(&mut socket).await;
        assert!(answer.contains("\"OK\""), "right passwords give their attempt back: {answer}");
    }
    assert_eq!(change_password(&owner.token, "wrong!", "n3w-secret").await, 401);
    assert_eq!(change_password(&owner.token, "888888", "n3w-secret").await, 200, "one failure is not a lock");
}

#[tokio::test]
async fn one_socket_message_serves_at_most_sixteen_requests() {
    let owner = new_user("owner", "android").await;
    let mut socket = connect(&format!("token={}&format=toml", owner.token)).await.unwrap();
    send_text(&mut socket, &"[[p]]\n".repeat(40)).await;
    let answers = next_text(&mut socket).await;
    assert_eq!(answers.matches("[[pp]]").count(), 16, "{answers}");
    assert_eq!(answers.matches("[[error]]").count(), 1, "one refusal for the other 24: {answers}");
    assert!(answers.contains("24 more not served"), "{answers}");
}
