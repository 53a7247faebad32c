//! Seeds 000 and 001 (simple_im's HTTP API) word for word: the seeds' own requests (their
//! curl lines' paths, forms and values), and each documented answer or notification, parsed as
//! simple_im writes it (one line), must name the same tables and keys as ours, with the same
//! fixed values. Ours is one key per line, which is valid TOML; simple_im's one-line form is
//! not, so it is read with the server's own tolerant reader.

use im_functions::ws::parse::one_key_per_line;
use im_tests::{connect, login, next_text, Client};
use serde_json::Value;

fn toml_doc(text: &str) -> Value {
    serde_json::to_value(toml::from_str::<toml::Table>(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))).unwrap()
}

/// Every table and key the seed shows is in ours; `t`, `status`, and the values in `fixed`
/// are equal.
fn conforms(seed: &str, ours: &Value, fixed: &[&str]) {
    let seed = toml_doc(&one_key_per_line(seed));
    for (table, entries) in seed.as_object().unwrap() {
        let (theirs, mine) = (&entries[0], &ours[table][0]);
        for (key, value) in theirs.as_object().unwrap() {
            assert!(mine.get(key).is_some(), "[[{table}]] {key} is missing from {ours}");
            if ["t", "status"].contains(&key.as_str()) || fixed.contains(&key.as_str()) {
                assert_eq!(&mine[key], value, "[[{table}]] {key} in {ours}");
            }
        }
    }
}

#[tokio::test]
async fn the_seeds_requests_and_answers_users_contacts_and_groups() {
    // Create user: curl -X POST -d "phone=8618266175357" --data-urlencode "name=大傻" --data-urlencode "password=888888"
    let http = Client::new();
    let created =
        http.post_form("/user", &[("phone", "8618266175357"), ("name", "大傻"), ("password", "888888")]).await;
    conforms("[[response]] status = 0", &created.doc(), &[]);
    let second =
        http.post_form("/user", &[("phone", "8618266175358"), ("name", "xiaotie"), ("password", "888888")]).await;
    let (one, two) =
        (created.doc()["user"][0]["id"].as_u64().unwrap(), second.doc()["user"][0]["id"].as_u64().unwrap());
    let (token1, token2) = (login("8618266175357", "android").await, login("8618266175358", "android").await);
    let (c1, c2) = (http.with_token(&token1), http.with_token(&token2));

    // Find user by id, by phone (the seed's answer shape: id, name, phone, avatar).
    let by_id = c1.get(&format!("/user/id/{two}")).await.doc();
    conforms(
        r#"[[response]] status = 0 [[user]] id = 2 name = "xiaotie" phone = "8618266175358" avatar = """#,
        &by_id,
        &["name", "phone", "avatar"],
    );
    let by_phone = c2.get("/user/phone/8618266175357").await.doc();
    conforms(
        r#"[[response]] status = 0 [[user]] id = 2 name = "大傻" phone = "8618266175357" avatar = """#,
        &by_phone,
        &["name", "phone"],
    );

    // The create contact workflow: add with ask=hello, the notification, accept, its notification.
    let mut socket1 = connect(&format!("token={token1}&format=toml&device=iphone")).await.unwrap();
    let mut socket2 = connect(&format!("token={token2}&format=toml&device=iphone")).await.unwrap();
    conforms(
        "[[response]] status = 0",
        &c1.post_form(&format!("/contact/{two}"), &[("ask", "hello")]).await.doc(),
        &[],
    );
    let add = toml_doc(&next_text(&mut socket2).await);
    conforms(
        &format!("[[n]]\nt=\"add_contact\"\nfrom={one}\nto={two}\nask=\"hello\"\nts = 1448185739\n"),
        &add,
        &["from", "to", "ask"],
    );
    next_text(&mut socket1).await; // the echo to 1's other device
    conforms("[[response]] status = 0", &c2.send("PUT", &format!("/contact/{one}"), None, None).await.doc(), &[]);
    let accept = toml_doc(&next_text(&mut socket1).await);
    conforms(
        &format!("[[n]]\nt=\"accept_contact\"\nfrom={two}\nto={one}\nts = 1448185739\n"),
        &accept,
        &["from", "to"],
    );
    next_text(&mut socket2).await;

    // Get contacts: `[[response]] status = 0 version = 19` then the contacts.
    let contacts = c1.get("/contact/version/0").await.doc();
    conforms(
        r#"[[response]] status = 0 version = 19 [[user]] id = 2 name = "xiaotie" phone = "8618266175358" avatar = """#,
        &contacts,
        &["name"],
    );

    // Groups: create with members[]=...&name=group1, join by g_key, leave, delete, and their notifications.
    let created = c1.post_form("/group", &[("members[]", &two.to_string()), ("name", "group1")]).await;
    conforms("[[response]] status = 0", &created.doc(), &[]);
    let group = created.doc()["group"][0].clone();
    let (g_id, g_key) = (group["g_id"].as_u64().unwrap(), group["g_key"].as_str().unwrap().to_string());
    let n = toml_doc(&next_text(&mut socket2).await);
    conforms(
        &format!("[[n]]\nt=\"create_group\"\ng_id = {g_id}\ng_key = \"{g_key}\"\nts = 1448185739\nd = \"android\"\n"),
        &n,
        &["g_id", "g_key", "d"],
    );
    let leave = c2.send("DELETE", &format!("/group/{g_id}/member"), None, None).await.doc();
    conforms("[[response]] status = 0", &leave, &[]);
    let n = toml_doc(&next_text(&mut socket1).await);
    let n = if n["n"][0]["t"] == "create_group" { toml_doc(&next_text(&mut socket1).await) } else { n };
    conforms(
        &format!("[[n]]\nt=\"delete_group_member\"\ng_id = {g_id}\ngm_id = {two}\nts = 1448185739\nd = \"android\"\n"),
        &n,
        &["g_id", "gm_id"],
    );
    let joined = c2.post_form(&format!("/group/{g_id}/member"), &[("g_key", &g_key)]).await.doc();
    conforms("[[response]] status = 0", &joined, &[]);
    let n = toml_doc(&next_text(&mut socket1).await);
    conforms(
        &format!(
            "[[n]]\nt=\"create_group_member\"\ng_id = {g_id}\nmember_id = {two}\nts = 1448185739\nd = \"android\"\n"
        ),
        &n,
        &["g_id", "member_id"],
    );
    conforms("[[response]] status = 0", &c1.send("DELETE", &format!("/group/{g_id}"), None, None).await.doc(), &[]);
    let mut n = toml_doc(&next_text(&mut socket2).await);
    while n["n"][0]["t"] != "delete_group" {
        n = toml_doc(&next_text(&mut socket2).await);
    }
    conforms(&format!("[[n]]\nt=\"delete_group\"\ng_id = {g_id}\nts = 1448185739\nd = \"android\"\n"), &n, &["g_id"]);

    // A refusal: `[[response]] status = 1 reason = "error reason"`.
    let refused = c1.send("DELETE", &format!("/group/{g_id}"), None, None).await.doc();
    conforms(r#"[[response]] status = 1 reason = "error reason""#, &refused, &[]);
}
