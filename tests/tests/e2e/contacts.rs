//! simple_im's contacts (seeds 000, 001): add, accept, delete, versioned sync, and races.

use im_tests::{connect, new_user, next_text, Client, User};
use serde_json::{json, Value};

fn client(user: &User) -> Client {
    Client::new().with_token(&user.token)
}

fn toml_doc(frame: &str) -> Value {
    serde_json::to_value(toml::from_str::<toml::Table>(frame).unwrap()).unwrap()
}

#[tokio::test]
async fn seed_add_accept_delete_with_notifications() {
    let a = new_user("a", "android").await;
    let b = new_user("b", "android").await;
    let mut a_socket = connect(&format!("token={}&format=toml&device=iphone", a.token)).await.unwrap();
    let mut b_socket = connect(&format!("token={}&format=toml&device=iphone", b.token)).await.unwrap();

    let added = client(&a).post_form(&format!("/contact/{}", b.id), &[("ask", "hello")]).await;
    assert_eq!((added.status, added.im_status()), (200, 0));
    assert_eq!(added.text, "[[response]]\nstatus = 0\n");
    let n = toml_doc(&next_text(&mut b_socket).await)["n"][0].clone();
    assert_eq!(
        (n["t"].as_str(), n["from"].as_u64(), n["to"].as_u64(), n["ask"].as_str()),
        (Some("add_contact"), Some(a.id), Some(b.id), Some("hello"))
    );
    assert_eq!(toml_doc(&next_text(&mut a_socket).await)["n"][0]["t"], "add_contact", "a's other device hears of it");

    let accepted = client(&b).send("PUT", &format!("/contact/{}", a.id), None, None).await;
    assert_eq!(accepted.im_status(), 0);
    let n = toml_doc(&next_text(&mut a_socket).await)["n"][0].clone();
    assert_eq!(
        (n["t"].as_str(), n["from"].as_u64(), n["to"].as_u64()),
        (Some("accept_contact"), Some(b.id), Some(a.id))
    );
    next_text(&mut b_socket).await; // b's echo

    let deleted = client(&a).send("DELETE", &format!("/contact/{}", b.id), None, None).await;
    assert_eq!(deleted.im_status(), 0);
    let n = toml_doc(&next_text(&mut b_socket).await)["n"][0].clone();
    assert_eq!(
        (n["t"].as_str(), n["from"].as_u64(), n["d"].as_str()),
        (Some("delete_contact"), Some(a.id), Some("android"))
    );
}

#[tokio::test]
async fn contact_errors_are_clear_and_change_nothing() {
    let a = new_user("a", "android").await;
    let b = new_user("b", "android").await;
    let path = format!("/contact/{}", b.id);
    let own = client(&a).post_form(&format!("/contact/{}", a.id), &[]).await;
    assert_eq!((own.status, own.doc()["response"][0]["code"].as_str()), (400, Some("400-23")));
    let nobody = client(&a).post_form("/contact/99999999", &[]).await;
    assert_eq!((nobody.status, nobody.doc()["response"][0]["code"].as_str()), (404, Some("404-3")));
    assert_eq!(client(&a).post_form("/contact/abc", &[]).await.status, 400);
    assert_eq!(client(&a).send("PUT", &path, None, None).await.status, 404, "nothing to accept");
    assert_eq!(client(&a).post_form(&path, &[("ask", "hi")]).await.status, 200);
    let again = client(&a).post_form(&path, &[("ask", "hi")]).await;
    assert_eq!(again.doc()["response"][0]["code"], "400-20");
    let reverse = client(&b).post_form(&format!("/contact/{}", a.id), &[]).await;
    assert_eq!(reverse.doc()["response"][0]["code"], "400-22");
    assert_eq!(client(&a).send("PUT", &path, None, None).await.status, 404, "the asker cannot accept");
    assert_eq!(client(&b).send("PUT", &format!("/contact/{}", a.id), None, None).await.status, 200);
    let friends = client(&a).post_form(&path, &[]).await;
    assert_eq!(friends.doc()["response"][0]["code"], "400-21");
    assert_eq!(Client::new().post_form(&path, &[]).await.status, 401);
}

#[tokio::test]
async fn version_sync_lists_contacts_requests_and_deletions() {
    let a = new_user("a", "android").await;
    let b = new_user("b", "android").await;
    let c = new_user("c", "android").await;
    let empty = client(&a).get("/contact/version/0").await;
    assert_eq!(empty.doc()["response"][0]["version"], 0);
    assert!(empty.doc().get("user").is_none());

    client(&b).post_form(&format!("/contact/{}", a.id), &[("ask", "b here")]).await;
    client(&c).post_form(&format!("/contact/{}", a.id), &[]).await;
    client(&a).send("PUT", &format!("/contact/{}", b.id), None, None).await;
    let all = client(&a).get("/contact/version/0").await.doc();
    let version = all["response"][0]["version"].as_u64().unwrap();
    assert_eq!(all["user"].as_array().unwrap().len(), 1);
    assert_eq!(all["user"][0]["id"], json!(b.id));
    assert_eq!(all["request"][0]["from"], json!(c.id));

    let current = client(&a).get(&format!("/contact/version/{version}")).await.doc();
    assert_eq!(current["response"][0]["version"], json!(version));
    assert!(current.get("user").is_none() && current.get("deleted").is_none());

    client(&b).send("DELETE", &format!("/contact/{}", a.id), None, None).await;
    let later = client(&a).get(&format!("/contact/version/{version}")).await.doc();
    assert_eq!(later["deleted"][0]["id"], json!(b.id), "deletions sync too");
    assert!(later.get("user").is_none());
    assert!(later["response"][0]["version"].as_u64().unwrap() > version);
    assert_eq!(client(&a).get("/contact/version/x").await.status, 400);
}

/// Counts a's friends as the versioned sync reports them.
async fn friends_of(user: &User) -> Vec<u64> {
    let doc = client(user).get("/contact/version/0").await.doc();
    doc["user"].as_array().map(|u| u.iter().filter_map(|u| u["id"].as_u64()).collect()).unwrap_or_default()
}

#[tokio::test]
async fn racing_requests_and_accepts_end_consistent() {
    for _ in 0..5 {
        // A and B ask each other at once: one request wins, the other is told to accept it.
        let a = new_user("a", "android").await;
        let b = new_user("b", "android").await;
        let (ca, cb) = (client(&a), client(&b));
        let (pa, pb) = (format!("/contact/{}", b.id), format!("/contact/{}", a.id));
        let (ra, rb) = tokio::join!(ca.post_form(&pa, &[]), cb.post_form(&pb, &[]));
        let mut statuses = [ra.status, rb.status];
        statuses.sort();
        assert_eq!(statuses, [200, 400], "{} / {}", ra.text, rb.text);
        let (asker, other) = if ra.status == 200 { (&a, &b) } else { (&b, &a) };

        // A double accept: exactly one succeeds, one friendship.
        let path = format!("/contact/{}", asker.id);
        let accepter = client(other);
        let (x, y) = tokio::join!(accepter.send("PUT", &path, None, None), accepter.send("PUT", &path, None, None));
        let mut statuses = [x.status, y.status];
        statuses.sort();
        assert_eq!(statuses, [200, 404], "one accept wins, the other is told there is no request");
        assert_eq!(friends_of(asker).await, vec![other.id]);
        assert_eq!(friends_of(other).await, vec![asker.id]);
    }
}

#[tokio::test]
async fn accept_racing_delete_ends_in_a_consistent_state() {
    for _ in 0..5 {
        let a = new_user("a", "android").await;
        let b = new_user("b", "android").await;
        client(&a).post_form(&format!("/contact/{}", b.id), &[]).await;
        let (ca, cb) = (client(&a), client(&b));
        let (pa, pb) = (format!("/contact/{}", b.id), format!("/contact/{}", a.id));
        let (accept, withdraw) = tokio::join!(cb.send("PUT", &pb, None, None), ca.send("DELETE", &pa, None, None));
        assert!(accept.status < 500 && withdraw.status < 500);
        let (fa, fb) = (friends_of(&a).await, friends_of(&b).await);
        assert_eq!(fa.is_empty(), fb.is_empty(), "both or neither are friends: {fa:?} {fb:?}");
    }
}
