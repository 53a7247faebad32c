//! `make run ARGS=--seed-demo`: a few users who are friends, a group and some history, made
//! through the HTTP API as a client would, so the web client shows something on first start.
//! Seeding twice does nothing the second time (the first user exists).

use serde_json::{json, Value};

/// The demo users: phone, name. Their password is [`PASSWORD`].
pub const USERS: [(&str, &str); 3] = [("8613800000001", "alice"), ("8613800000002", "bob"), ("8613800000003", "carol")];
pub const PASSWORD: &str = "888888";

/// Seeds the stack at `http` (its base URL); false when it was seeded before.
pub async fn seed(http: &str) -> Result<bool, String> {
    let client = reqwest::Client::new();
    let call = |method: &str, path: &str, token: Option<&str>, body: Value| {
        let mut request = client
            .request(method.parse().expect("a method"), format!("{http}{path}"))
            .header("accept", "application/json")
            .json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let path = path.to_string();
        async move {
            let response = request.send().await.map_err(|e| format!("{path}: {e}"))?;
            let status = response.status().as_u16();
            let answer: Value = response.json().await.unwrap_or(Value::Null);
            Ok::<_, String>((status, answer))
        }
    };
    let mut users = Vec::new();
    for (phone, name) in USERS {
        let (status, created) =
            call("POST", "/user", None, json!({"phone": phone, "name": name, "password": PASSWORD})).await?;
        match status {
            201 => {}
            409 => return Ok(false),
            _ => return Err(format!("sign-up of {name}: {status} {created}")),
        }
        let (status, login) =
            call("POST", "/server/login", None, json!({"phone": phone, "password": PASSWORD, "device": "demo"}))
                .await?;
        let token = login["response"][0]["user"]["token"].as_str().map(str::to_string);
        let id = created["user"][0]["id"].as_u64();
        match (status, token, id) {
            (200, Some(token), Some(id)) => users.push((id, token)),
            _ => return Err(format!("login of {name}: {status} {login}")),
        }
    }
    let [(alice, alice_token), (bob, bob_token), (carol, carol_token)] =
        <[_; 3]>::try_from(users).expect("three users");
    for (friend, token) in [(bob, &bob_token), (carol, &carol_token)] {
        expect(call("POST", "/friends/request", Some(&alice_token), json!({"requested_user_id": friend})).await?, 201)?;
        expect(call("POST", "/friends/accept", Some(token), json!({"requested_user_id": alice})).await?, 201)?;
    }
    let lines = [
        (&alice_token, json!({"to": bob, "id": "demo-1", "c": "Hi Bob! The backend runs on my laptop."})),
        (&bob_token, json!({"to": alice, "id": "demo-2", "c": "Hi Alice, so does the web client."})),
        (&alice_token, json!({"to": bob, "id": "demo-3", "c": "Try a reload: the history stays."})),
    ];
    for (token, message) in lines {
        expect(call("POST", "/message", Some(token), message).await?, 201)?;
    }
    let (_, group) = expect(
        call(
            "POST",
            "/group",
            Some(&alice_token),
            json!({"name": "demo group", "members": [bob, carol], "id": "demo"}),
        )
        .await?,
        201,
    )?;
    let g_id = group["group"][0]["g_id"].as_u64().ok_or("the group has no id")?;
    expect(
        call("POST", "/message", Some(&carol_token), json!({"g_id": g_id, "id": "demo-4", "c": "Hello group!"}))
            .await?,
        201,
    )?;
    Ok(true)
}

fn expect((status, answer): (u16, Value), wanted: u16) -> Result<(u16, Value), String> {
    if status == wanted {
        Ok((status, answer))
    } else {
        Err(format!("{status} {answer}"))
    }
}
