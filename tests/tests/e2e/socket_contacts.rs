//! Contacts over the WebSocket: seed 003's JSON events and seed 002's PRIVATE frames.

use im_tests::{connect, new_user, next_text, send_text, Client, Socket, User};
use serde_json::{json, Value};

async fn ask(socket: &mut Socket, frame: Value) -> Value {
    send_text(socket, &frame.to_string()).await;
    serde_json::from_str(&next_text(socket).await).unwrap()
}

async fn with_email(name: &str) -> (User, String) {
    let email = format!("{name}{}@gmail.com", im_tests::unique_phone());
    let mut socket = connect("login=frame").await.unwrap();
    let ok = ask(&mut socket, json!({"event": "LOGON", "data": {"user": email, "password": "123456"}})).await;
    let id = ok["data"]["id"].as_u64().unwrap();
    let login = Client::new().post_form("/server/login", &[("email", &email), ("password", "123456")]).await;
    let token = login.doc()["response"][0]["user"]["token"].as_str().unwrap().to_string();
    (User { id, phone: String::new(), token }, email)
}

#[tokio::test]
async fn seed_003_create_list_and_delete_contacts() {
    let (sinchb, sinchb_email) = with_email("sinchb").await;
    let (eva, eva_email) = with_email("eva").await;
    let mut s = connect(&format!("token={}", sinchb.token)).await.unwrap();
    let mut e = connect(&format!("token={}", eva.token)).await.unwrap();

    assert_eq!(ask(&mut s, json!({"event": "CREATE_CONTACT", "data": {"user": eva_email}})).await["event"], "OK");
    let pushed: Value = serde_json::from_str(&next_text(&mut e).await).unwrap();
    assert_eq!(
        (pushed["event"].as_str(), pushed["data"]["t"].as_str()),
        (Some("NOTIFY_UPDATE_CONTACT"), Some("add_contact"))
    );
    let again = ask(&mut s, json!({"event": "CREATE_CONTACT", "data": {"user": eva_email}})).await;
    assert_eq!((again["event"].as_str(), again["data"]["msg"].as_str()), (Some("FAIL"), Some("Already exists")));
    // Eva creating the contact back accepts it (seed 003 has no separate accept).
    assert_eq!(ask(&mut e, json!({"event": "CREATE_CONTACT", "data": {"user": sinchb_email}})).await["event"], "OK");
    let pushed: Value = serde_json::from_str(&next_text(&mut s).await).unwrap();
    assert_eq!(pushed["data"]["t"], "accept_contact");

    let list = ask(&mut s, json!({"event": "LIST_CONTACTS_UNREAD", "data": {}})).await;
    assert_eq!(list["data"]["contacts"], json!({ eva_email.clone(): 0 }));
    let missing = ask(&mut s, json!({"event": "CREATE_CONTACT", "data": {"user": "nobody@nowhere.org"}})).await;
    assert_eq!(missing["event"], "FAIL");

    assert_eq!(ask(&mut e, json!({"event": "DELETE_CONTACT", "data": {"user": sinchb_email}})).await["event"], "OK");
    let pushed: Value = serde_json::from_str(&next_text(&mut s).await).unwrap();
    assert_eq!(pushed["data"]["t"], "delete_contact");
    assert_eq!(ask(&mut s, json!({"event": "LIST_CONTACTS_UNREAD"})).await["data"]["contacts"], json!({}));
    assert_eq!(ask(&mut s, json!({"event": "DELETE_CONTACT", "data": {"user": eva_email}})).await["event"], "FAIL");
}

#[tokio::test]
async fn seed_002_friend_confirm_revoke() {
    let party = new_user("party", "android").await;
    let counter = new_user("counter", "android").await;
    let third = new_user("third", "android").await;
    let mut p = connect(&format!("token={}", party.token)).await.unwrap();
    let mut c = connect(&format!("token={}", counter.token)).await.unwrap();

    let sent =
        ask(&mut p, json!({"event": "Friend", "data": {"id": "r1", "friend_id": counter.phone, "status": "simple"}}))
            .await;
    assert_eq!(sent, json!({"event": "io", "data": {}}));
    next_text(&mut c).await; // the request
    let list =
        ask(&mut p, json!({"event": "Friend", "data": {"id": "r2", "friend_id": [third.id], "status": "list"}})).await;
    assert_eq!(list["data"], json!({}));
    let unknown =
        ask(&mut p, json!({"event": "Friend", "data": {"id": "r3", "friend_id": "8600000000999", "status": "simple"}}))
            .await;
    assert_eq!(unknown["data"]["error"], "roster_not_found");
    let own =
        ask(&mut p, json!({"event": "Friend", "data": {"id": "r4", "friend_id": party.phone, "status": "simple"}}))
            .await;
    assert_eq!(own["data"]["error"], "not_authorized");

    let nothing =
        ask(&mut p, json!({"event": "Confirm", "data": {"id": "c0", "friend_id": counter.phone, "status": "friend"}}))
            .await;
    assert_eq!(nothing["data"]["error"], "not_authorized", "the asker cannot confirm");
    let step_2 =
        ask(&mut c, json!({"event": "Confirm", "data": {"id": "c1", "friend_id": party.phone, "status": "friend"}}))
            .await;
    assert_eq!((step_2["event"].as_str(), &step_2["data"]), (Some("io"), &json!({})), "step 2's <<>> first");
    let confirmed: Value = serde_json::from_str(&next_text(&mut c).await).unwrap();
    assert_eq!((confirmed["event"].as_str(), confirmed["data"]["status"].as_str()), (Some("Contact"), Some("friend")));
    assert_eq!(confirmed["data"]["phone"], json!(party.phone));
    let pushed: Value = serde_json::from_str(&next_text(&mut p).await).unwrap();
    assert_eq!(pushed["data"]["t"], "accept_contact");
    // Seed 002: the asker gets the updated contact too, naming the confirmer.
    let contact: Value = serde_json::from_str(&next_text(&mut p).await).unwrap();
    assert_eq!(contact["event"], "Contact");
    assert_eq!(
        (contact["data"]["phone"].as_str(), contact["data"]["status"].as_str()),
        (Some(counter.phone.as_str()), Some("friend"))
    );
    let twice =
        ask(&mut c, json!({"event": "Confirm", "data": {"id": "c2", "friend_id": party.phone, "status": "friend"}}))
            .await;
    assert_eq!(twice["data"]["ok"], "already_present");

    let revoked =
        ask(&mut p, json!({"event": "Revoke", "data": {"id": "v1", "user": counter.phone, "status": "revoke"}})).await;
    assert_eq!(revoked, json!({"event": "Revoke", "data": {"id": "v1", "user": counter.phone, "status": "revoke"}}));
    let pushed: Value = serde_json::from_str(&next_text(&mut c).await).unwrap();
    assert_eq!(pushed["data"]["t"], "delete_contact");
    let friends = Client::new().with_token(&party.token).get("/friends").await;
    assert_eq!(friends.doc(), json!([]));
}
