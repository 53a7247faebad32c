//! Users and sessions (seed 001, simple_im's login).

use im_tests::{login, new_user, stack, unique_phone, Client};
use serde_json::json;

#[tokio::test]
async fn seed_create_then_find_user_answers_toml_and_json() {
    let phone = unique_phone();
    let client = Client::new();
    let created = client.post_form("/user", &[("phone", &phone), ("name", "大傻"), ("password", "888888")]).await;
    assert_eq!(created.status, 200);
    assert!(created.content_type.starts_with("application/toml"));
    assert_eq!(created.im_status(), 0);
    let id = created.doc()["user"][0]["id"].as_u64().unwrap();

    let token = login(&phone, "android").await;
    let me = client.with_token(&token);
    let by_id = me.get(&format!("/user/id/{id}")).await;
    assert_eq!(by_id.status, 200);
    assert!(by_id.text.starts_with("[[response]]\nstatus = 0\n"), "one key per line: {}", by_id.text);
    let doc = by_id.doc();
    assert_eq!(doc["user"][0]["name"], "大傻");
    assert_eq!(doc["user"][0]["phone"], json!(phone));
    assert_eq!(doc["user"][0]["id"], json!(id));

    let by_phone = me.send("GET", &format!("/user/phone/{phone}"), Some("application/json"), None).await;
    assert_eq!(by_phone.status, 200);
    assert_eq!(by_phone.content_type, "application/json");
    let doc: serde_json::Value = serde_json::from_str(&by_phone.text).unwrap();
    assert_eq!(doc["response"][0]["status"], 0);
    assert_eq!(doc["user"][0]["id"], json!(id));
    assert_eq!(doc["user"][0]["name"], "大傻");
}

#[tokio::test]
async fn login_answers_simple_im_shape_and_sets_a_cookie() {
    let user = new_user("xiaotie", "iphone").await;
    let answer = Client::new()
        .post_form("/server/login", &[("phone", &user.phone), ("password", "888888"), ("device", "ipad")])
        .await;
    assert_eq!(answer.status, 200);
    let doc = answer.doc();
    assert_eq!(doc["response"][0]["status"], 0);
    assert_eq!(doc["response"][0]["user"]["id"], json!(user.id));
    let token = doc["response"][0]["user"]["token"].as_str().unwrap();
    assert_ne!(token, user.token, "every login opens its own session");
    let cookie = answer.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with(&format!("token={token};")) && cookie.contains("HttpOnly"));
    let bearer = Client::new().get_bearer(&format!("/user/id/{}", user.id), token).await;
    assert_eq!(bearer.status, 200, "{}", bearer.text);
}

#[tokio::test]
async fn duplicate_phone_is_refused_and_changes_nothing() {
    let user = new_user("first", "android").await;
    let again =
        Client::new().post_form("/user", &[("phone", &user.phone), ("name", "second"), ("password", "999999")]).await;
    assert_eq!(again.status, 409);
    assert_eq!(again.im_status(), 1);
    assert!(again.reason().contains("phone"), "{}", again.reason());
    let found = Client::new().with_token(&user.token).get(&format!("/user/phone/{}", user.phone)).await;
    assert_eq!(found.doc()["user"][0]["name"], "first");
    assert_eq!(found.doc()["user"][0]["id"], json!(user.id));
    let second_password =
        Client::new().post_form("/server/login", &[("phone", &user.phone), ("password", "999999")]).await;
    assert_eq!(second_password.status, 401);
}

#[tokio::test]
async fn duplicate_email_is_refused_and_login_by_email_works() {
    let email = format!("{}@example.com", unique_phone());
    let first = Client::new()
        .post_form("/user", &[("phone", &unique_phone()), ("name", "a"), ("password", "888888"), ("email", &email)])
        .await;
    assert_eq!(first.status, 200);
    let upper = email.to_uppercase();
    let phone = unique_phone();
    let second = Client::new()
        .post_form("/user", &[("phone", &phone), ("name", "b"), ("password", "888888"), ("email", &upper)])
        .await;
    assert_eq!(second.status, 409);
    assert!(second.reason().contains("email"));
    // The phone of the refused sign-up was not claimed either: it can still sign up.
    let retry = Client::new().post_form("/user", &[("phone", &phone), ("name", "b"), ("password", "888888")]).await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    let by_email = Client::new().post_form("/server/login", &[("email", &email), ("password", "888888")]).await;
    assert_eq!(by_email.status, 200);
}

#[tokio::test]
async fn wrong_password_or_unknown_phone_gets_401_with_a_reason() {
    let user = new_user("someone", "android").await;
    for phone in [user.phone.as_str(), "8600000000001"] {
        let answer =
            Client::new().post_form("/server/login", &[("phone", phone), ("password", "wrong-password")]).await;
        assert_eq!(answer.status, 401);
        assert_eq!(answer.im_status(), 1);
        assert!(!answer.reason().is_empty());
    }
}

#[tokio::test]
async fn missing_or_bad_token_gets_401() {
    let user = new_user("private", "android").await;
    for client in [Client::new(), Client::new().with_token("not-a-real-token"), Client::new().with_token("")] {
        for path in [format!("/user/id/{}", user.id), format!("/user/phone/{}", user.phone)] {
            let answer = client.get(&path).await;
            assert_eq!(answer.status, 401, "{path}: {}", answer.text);
            assert_eq!(answer.im_status(), 1);
            assert!(!answer.reason().is_empty());
        }
    }
    let bearer = Client::new().get_bearer(&format!("/user/id/{}", user.id), "bogus").await;
    assert_eq!(bearer.status, 401);
}

#[tokio::test]
async fn logout_ends_the_session() {
    let user = new_user("leaving", "android").await;
    let me = Client::new().with_token(&user.token);
    assert_eq!(me.get(&format!("/user/id/{}", user.id)).await.status, 200);
    let out = me.send("POST", "/server/logout", None, None).await;
    assert_eq!(out.status, 200);
    assert_eq!(me.get(&format!("/user/id/{}", user.id)).await.status, 401);
}

#[tokio::test]
async fn malformed_input_gets_4xx_with_a_reason_and_creates_nothing() {
    let phone = unique_phone();
    let json_cases = [
        json!({"phone": true, "name": "x", "password": "888888"}),
        json!({"phone": phone, "name": ["x"], "password": "888888"}),
        json!({"phone": phone, "name": "x", "password": "888888", "age": "old"}),
        json!({"phone": phone, "name": "x", "password": "888888", "age": -3}),
        json!({"phone": phone, "name": "x", "password": "888888", "show_age": "maybe"}),
        json!({"phone": phone, "name": "x"}),
        json!({"phone": phone, "name": "", "password": "888888"}),
        json!({"phone": phone, "name": "x", "password": "1"}),
        json!({"phone": "not-a-phone", "name": "x", "password": "888888"}),
        json!({"phone": phone, "name": "x".repeat(65), "password": "888888"}),
        json!([1, 2, 3]),
    ];
    let client = Client::new();
    for case in &json_cases {
        let answer = client.post_json("/user", case).await;
        assert_eq!(answer.status, 400, "{case}: {}", answer.text);
        assert_eq!(answer.im_status(), 1);
        assert!(!answer.reason().is_empty());
    }
    let raw_cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("application/json", b"{not json".to_vec(), 400),
        ("application/x-www-form-urlencoded", format!("phone={phone}&name=%E5%A4&password=888888").into_bytes(), 400),
        (
            "application/x-www-form-urlencoded",
            [b"phone=1&name=".as_slice(), &[0xff, 0xfe], b"&password=888888"].concat(),
            400,
        ),
        ("application/toml", b"phone = ".to_vec(), 400),
        ("image/png", b"\x89PNG".to_vec(), 415),
        (
            "application/x-www-form-urlencoded",
            format!("phone={phone}&name={}&password=888888", "a".repeat(100_000)).into_bytes(),
            413,
        ),
    ];
    for (content_type, body, status) in raw_cases {
        let answer = client.send("POST", "/user", None, Some((content_type, body))).await;
        assert_eq!(answer.status, status, "{content_type}: {}", answer.text);
        assert_eq!(answer.im_status(), 1);
    }
    let huge = client.send("POST", "/user", None, Some(("application/json", vec![b' '; 11 * 1024 * 1024]))).await;
    assert_eq!(huge.status, 413);
    // None of it created the user.
    let login = client.post_form("/server/login", &[("phone", &phone), ("password", "888888")]).await;
    assert_eq!(login.status, 401);
}

#[tokio::test]
async fn lookups_answer_400_and_404_not_5xx() {
    let user = new_user("looker", "android").await;
    let me = Client::new().with_token(&user.token);
    assert_eq!(me.get("/user/id/abc").await.status, 400);
    assert_eq!(me.get("/user/id/99999999999").await.status, 404);
    assert_eq!(me.get("/user/phone/12").await.status, 400);
    assert_eq!(me.get("/user/phone/8699999999999").await.status, 404);
    assert_eq!(me.get("/no/such/route").await.status, 404);
    assert_eq!(me.send("DELETE", "/health", None, None).await.status, 404);
}

#[tokio::test]
async fn privacy_flags_hide_fields_from_others_only() {
    let phone = unique_phone();
    let created = Client::new()
        .post_form(
            "/user",
            &[
                ("phone", &phone),
                ("name", "shy"),
                ("password", "888888"),
                ("age", "30"),
                ("gender", "female"),
                ("show_age", "false"),
                ("show_user_name", "false"),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    let id = created.doc()["user"][0]["id"].as_u64().unwrap();
    let other = new_user("curious", "android").await;
    let seen = Client::new()
        .with_token(&other.token)
        .send("GET", &format!("/user/id/{id}"), Some("application/json"), None)
        .await;
    let user = &seen.doc()["user"][0];
    assert_eq!(user["name"], json!(null));
    assert_eq!(user["age"], json!(null));
    assert_eq!(user["gender"], "female");
    let token = login(&phone, "web").await;
    let own =
        Client::new().with_token(&token).send("GET", &format!("/user/id/{id}"), Some("application/json"), None).await;
    assert_eq!(own.doc()["user"][0]["age"], 30);
    assert_eq!(own.doc()["user"][0]["name"], "shy");
}

#[tokio::test]
async fn health_needs_no_token() {
    let answer = Client::new().get("/health").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.im_status(), 0);
    assert!(stack().http.starts_with("http://127.0.0.1:"));
}

/// simple_im's login answers where the socket is (`server`, `port`); `/server/reconnect` and
/// `/server/failed` answer the same one managed endpoint.
#[tokio::test]
async fn login_reconnect_and_failed_name_the_socket_endpoint() {
    let user = im_tests::new_user("wanderer", "android").await;
    let answer = Client::new()
        .post_form("/server/login", &[("phone", &user.phone), ("password", "888888"), ("device", "android")])
        .await;
    let response = answer.doc()["response"][0].clone();
    let ws = im_tests::stack().ws.clone();
    assert_eq!(response["ws_url"], serde_json::json!(ws), "{response}");
    let port = ws.rsplit(':').next().and_then(|p| p.split('/').next());
    assert_eq!(
        (response["server"].as_str(), response["port"].as_str()),
        (Some("127.0.0.1"), port),
        "a string, as simple_im"
    );
    assert!(response["user"]["token"].is_string());
    let client = Client::new().with_token(&user.token);
    for path in ["/server/reconnect", "/server/failed"] {
        let again = client.post_form(path, &[("server", "127.0.0.1")]).await;
        assert_eq!(again.status, 200, "{path}: {}", again.text);
        assert_eq!(again.doc()["response"][0]["ws_url"], serde_json::json!(ws));
    }
    assert_eq!(Client::new().post_form("/server/reconnect", &[]).await.status, 401);
}
