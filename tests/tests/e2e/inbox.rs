//! The inbox (issue 27, item 1) from outside: every conversation of a user, newest activity
//! first, with its other side, last line and unread count, paged by a cursor, over HTTP (JSON
//! and TOML) and the socket.

use im_tests::{ask, befriend, connect, form, new_user, Client, User};
use serde_json::{json, Value};

fn client(user: &User) -> Client {
    Client::new().with_token(&user.token)
}

async fn send(from: &User, body: Value) {
    let sent = client(from).post_json("/message", &body).await;
    assert_eq!(sent.status, 200, "{}", sent.text);
}

async fn inbox(user: &User, query: &str) -> Value {
    let answer = client(user).send("GET", &format!("/conversations{query}"), Some("application/json"), None).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.doc()
}

fn ids(page: &Value) -> Vec<String> {
    page["conversation"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn the_inbox_lists_a_joined_groups_message_above_an_older_chat_and_pages_through_both() {
    let (ann, bob, cat) = (new_user("ann", "web").await, new_user("bob", "web").await, new_user("cat", "web").await);
    befriend(&ann, &bob).await;
    send(&ann, json!({ "to": bob.id, "id": "i1", "c": "hi bob" })).await;
    send(&bob, json!({ "to": ann.id, "id": "i2", "c": "hi ann, lunch?" })).await;

    // Cat's group, which ann joins with its key; then cat writes in it.
    let body = form(&[("name", "book club")]);
    let created = client(&cat)
        .send(
            "POST",
            "/group",
            Some("application/json"),
            Some(("application/x-www-form-urlencoded", body.into_bytes())),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    let group = created.doc()["group"][0].clone();
    let (g_id, g_key) = (group["g_id"].as_u64().unwrap(), group["g_key"].as_str().unwrap().to_string());
    let joined = client(&ann).post_form(&format!("/group/{g_id}/member"), &[("g_key", &g_key)]).await;
    assert_eq!(joined.status, 200, "{}", joined.text);
    send(&cat, json!({ "g_id": g_id, "id": "i3", "c": "chapter 3 tonight" })).await;

    let page = inbox(&ann, "").await;
    let dm = format!("dm#{}#{}", ann.id.min(bob.id), ann.id.max(bob.id));
    assert_eq!(ids(&page), [format!("group#{g_id}"), dm.clone()], "{page}");
    let [first, second] = [&page["conversation"][0], &page["conversation"][1]];
    assert_eq!((first["type"].as_str(), first["group"]["name"].as_str()), (Some("group"), Some("book club")));
    assert_eq!((first["last"]["snippet"].as_str(), first["unread"].as_u64()), (Some("chapter 3 tonight"), Some(1)));
    assert_eq!((second["type"].as_str(), second["user"]["id"].as_u64()), (Some("user"), Some(bob.id)));
    assert_eq!(second["last"]["snippet"], "hi ann, lunch?");
    assert_eq!(second["unread"], 1, "bob's message; ann's own is read");
    assert!(page.get("next").is_none(), "one page holds both: {page}");

    // limit=1 walks both, with the cursor each page gives.
    let one = inbox(&ann, "?limit=1").await;
    assert_eq!(ids(&one), [format!("group#{g_id}")]);
    let next = one["next"].as_str().expect("a cursor to the next page").to_string();
    let two = inbox(&ann, &format!("?limit=1&after={next}")).await;
    assert_eq!(ids(&two), std::slice::from_ref(&dm));
    let rest = match two["next"].as_str() {
        Some(after) => ids(&inbox(&ann, &format!("?limit=1&after={after}")).await),
        None => vec![],
    };
    assert!(rest.is_empty(), "nothing after the last: {rest:?}");

    // TOML on asking, the socket's CONVERSATIONS answers the same page, and bad paging is 400.
    let toml = client(&ann).send("GET", "/conversations?limit=1", Some("application/toml"), None).await;
    assert_eq!(toml.status, 200, "{}", toml.text);
    assert!(toml.text.contains("[[conversation]]") && toml.text.contains("book club"), "{}", toml.text);
    let mut socket = connect(&format!("token={}", ann.token)).await.unwrap();
    let answer = ask(&mut socket, "CONVERSATIONS", json!({ "limit": 1 })).await;
    assert_eq!(answer["data"]["conversation"][0]["id"], format!("group#{g_id}"), "{answer}");
    for bad in ["?limit=0", "?limit=51", "?limit=x", "?after=nope"] {
        let refused = client(&ann).send("GET", &format!("/conversations{bad}"), Some("application/json"), None).await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.text);
    }

    // Bob's inbox has the chat alone; leaving the group takes it out of ann's.
    assert_eq!(ids(&inbox(&bob, "").await), std::slice::from_ref(&dm));
    let left = client(&ann).send("DELETE", &format!("/group/{g_id}/member"), None, None).await;
    assert_eq!(left.status, 200, "{}", left.text);
    assert_eq!(ids(&inbox(&ann, "").await), [dm]);
}
