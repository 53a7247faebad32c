//! Seed 003 word for word: its events with its own data (the Python dicts as JSON), in the
//! order the seed shows them, on plain connections to the stage URL.

use im_tests::{ask, connect_plain, next_event};
use serde_json::{json, Value};

/// `2017-03-22T16:32:26.272345`: the seed's time, to the microsecond, without a zone.
fn is_seed_time(time: &Value) -> bool {
    let time = time.as_str().unwrap_or_default();
    let (date, clock) = time.split_once('T').unwrap_or_default();
    date.len() == 10 && clock.len() == 15 && clock.as_bytes()[8] == b'.' && !time.ends_with('Z')
}

#[tokio::test]
async fn the_seeds_flow_logon_contact_chat_history_delete() {
    let mut sinchb = connect_plain().await;
    let logon = ask(&mut sinchb, "LOGON", json!({ "user": "sinchb128@gmail.com", "password": "123456" })).await;
    assert_eq!(logon["event"], "OK", "{logon}");
    let mut eva = connect_plain().await;
    assert_eq!(ask(&mut eva, "LOGON", json!({ "user": "Eva@gmail.com", "password": "123456" })).await["event"], "OK");
    assert_eq!(ask(&mut sinchb, "LIST_CONTACTS_UNREAD", json!({})).await["data"], json!({ "contacts": {} }));

    // 添加联系人: OK, and FAIL "Already exists" the second time; eva hears of it.
    assert_eq!(ask(&mut sinchb, "CREATE_CONTACT", json!({ "user": "Eva@gmail.com" })).await["event"], "OK");
    let update = next_event(&mut eva, "NOTIFY_UPDATE_CONTACT").await;
    assert_eq!(update["data"]["contacts"], json!({ "sinchb128@gmail.com": 0 }), "{update}");
    let again = ask(&mut sinchb, "CREATE_CONTACT", json!({ "user": "Eva@gmail.com" })).await;
    assert_eq!(again, json!({ "event": "FAIL", "data": { "msg": "Already exists" } }));

    // 发送私信 to the contact just added, and 接收私信 on the other side.
    let data =
        json!({ "content": "《金刚狼吧》", "time": "2017-03-22T16:36:45.272345", "user": "sinchb128@gmail.com" });
    let to_eva = json!({ "content": data["content"], "time": data["time"], "user": "Eva@gmail.com" });
    let sent = ask(&mut sinchb, "CHAT_SEND_MSG", to_eva).await;
    assert_eq!(sent["event"], "OK", "{sent}");
    let id = sent["data"]["id"].as_str().unwrap().to_string();
    let new = next_event(&mut eva, "NOTIFY_NEW_MSG").await;
    let msg = &new["data"]["msg"];
    assert_eq!(
        (msg["content"].as_str(), msg["from_email"].as_str()),
        (Some("《金刚狼吧》"), Some("sinchb128@gmail.com"))
    );
    assert!(is_seed_time(&msg["time"]), "{msg}");
    assert_eq!(ask(&mut eva, "CHAT_RECEIVE_MSG", json!({ "content": "" })).await["event"], "OK");

    // 获取所有联系人以及未读消息数量, 进入聊天, 查看聊天记录.
    let unread = ask(&mut eva, "LIST_CONTACTS_UNREAD", json!({})).await;
    assert_eq!(unread["data"], json!({ "contacts": { "sinchb128@gmail.com": 1 } }));
    assert_eq!(ask(&mut eva, "CHAT_WITH", json!({ "user": "sinchb128@gmail.com" })).await["event"], "OK");
    let read = ask(&mut eva, "LIST_CONTACTS_UNREAD", json!({})).await;
    assert_eq!(read["data"]["contacts"]["sinchb128@gmail.com"], 0);
    let history =
        ask(&mut eva, "CHAT_HISTORY", json!({ "user": "sinchb128@gmail.com", "page": 1, "pagesize": 20 })).await;
    let first = &history["data"]["chat_history"][0];
    assert_eq!(
        (first["content"].as_str(), first["user"].as_str()),
        (Some("《金刚狼吧》"), Some("sinchb128@gmail.com"))
    );
    assert!(is_seed_time(&first["time"]) && first["id"] == json!(id), "{history}");
    assert_eq!(history["data"]["current_page"], 1);

    // 删除记录, 删除联系人.
    assert_eq!(ask(&mut sinchb, "CHAT_DELETE", json!({ "id": id })).await["event"], "OK");
    assert_eq!(ask(&mut sinchb, "DELETE_CONTACT", json!({ "user": "Eva@gmail.com" })).await["event"], "OK");

    // 登录 as the seed writes it, then `LOGIN {}` on the logged-in connection.
    let mut again = connect_plain().await;
    let login = ask(&mut again, "LOGIN", json!({ "user": "sinchb128@gmail.com", "password": "123456" })).await;
    assert_eq!(login["event"], "OK");
    assert_eq!(ask(&mut again, "LOGIN", json!({})).await["data"]["id"], login["data"]["id"]);
}

/// A phone is never taken for an id: a number names a user by id, a string by email or phone.
/// Before, registering phone `10001` captured what others addressed to user 10001.
#[tokio::test]
async fn a_phone_cannot_shadow_a_user_id() {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    // Ids past 10000, so an id can look like a phone (5 digits at least).
    im_tests::dynamodb()
        .update_item()
        .table_name("UsersTable")
        .key("pk", A::S("counter#users".into()))
        .update_expression("SET #v = :v")
        .condition_expression("attribute_not_exists(#v) OR #v < :v")
        .expression_attribute_names("#v", "value")
        .expression_attribute_values(":v", A::N("10000".into()))
        .send()
        .await
        .ok();
    let victim = im_tests::new_user("victim", "android").await;
    assert!(victim.id >= 10000);
    let shadow = im_tests::Client::new()
        .post_form("/user", &[("phone", &victim.id.to_string()), ("name", "shadow"), ("password", "888888")])
        .await;
    assert_eq!(shadow.status, 200, "{}", shadow.text);
    let sender = im_tests::new_user("sender", "android").await;
    let mut socket = im_tests::connect(&format!("token={}", sender.token)).await.unwrap();
    let asked = ask(&mut socket, "CREATE_CONTACT", json!({ "user": victim.id })).await;
    assert_eq!(asked["event"], "OK");
    let received = im_tests::Client::new().with_token(&victim.token).get("/friends/request").await;
    let requests = received.doc();
    assert_eq!(
        requests[0]["request_user_id"],
        json!(sender.id),
        "the request reached the user with that id: {requests}"
    );
}
