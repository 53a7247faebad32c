//! "My devices" (issue 27, item 3) from outside: the sessions holding an account, and ending one
//! of them as its own logout would.

use im_tests::{connect, new_user, Client, User};
use serde_json::Value;

fn client(user: &User) -> Client {
    Client::new().with_token(&user.token)
}

async fn sessions(token: &str) -> (u16, Vec<Value>) {
    let answer = Client::new().with_token(token).send("GET", "/user/sessions", Some("application/json"), None).await;
    (answer.status, answer.doc().as_array().cloned().unwrap_or_default())
}

#[tokio::test]
async fn two_logins_are_two_devices_and_ending_one_logs_it_out_and_closes_its_socket() {
    let ann = new_user("ann", "web").await;
    let phone_token = im_tests::login(&ann.phone, "phone").await;
    let mut phone_socket = connect(&format!("token={phone_token}")).await.expect("the phone's socket opens");

    let (status, listed) = sessions(&ann.token).await;
    assert_eq!(status, 200);
    assert_eq!(listed.len(), 2, "{listed:?}");
    let web = listed.iter().find(|s| s["device"] == "web").expect("the web session");
    let phone = listed.iter().find(|s| s["device"] == "phone").expect("the phone session");
    assert_eq!((web["current"].as_bool(), phone["current"].as_bool()), (Some(true), Some(false)));
    assert!(phone["created"].as_u64() > Some(0) && phone["last_seen"].as_u64() > Some(0), "{phone}");
    assert_eq!(web["last_seen"], 0, "no socket of the web session logged in");
    let phone_id = phone["id"].as_str().unwrap().to_string();
    assert_eq!(phone_id.len(), 16);
    assert!(!phone_token.contains(&phone_id), "the id is not the token");

    // Another user cannot end it, nor find it; a malformed id finds nothing either.
    let eve = new_user("eve", "web").await;
    let path = format!("/user/sessions/{phone_id}");
    assert_eq!(client(&eve).send("DELETE", &path, None, None).await.status, 404);
    assert_eq!(client(&ann).send("DELETE", "/user/sessions/not-an-id", None, None).await.status, 404);
    assert_eq!(sessions(&phone_token).await.0, 200, "eve's attempt ended nothing");

    assert_eq!(client(&ann).send("DELETE", &path, None, None).await.status, 204);
    assert_eq!(sessions(&phone_token).await.0, 401, "the ended session's token is refused");
    assert!(im_tests::closed(&mut phone_socket).await, "its socket is closed");
    let (_, left) = sessions(&ann.token).await;
    assert_eq!(left.iter().map(|s| s["device"].as_str().unwrap()).collect::<Vec<_>>(), ["web"]);
}
