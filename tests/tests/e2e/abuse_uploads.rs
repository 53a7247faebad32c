//! Abuse of the upload path (issue 21, item 8): the presigned POST's policy is enforced by S3
//! itself (size, key, type, signature), the attach moves only the object it checked (pinned to
//! its ETag), and presigns are limited per user. Each attack is made from outside, as a phone
//! would, through the local stack.

use base64::Engine;
use im_functions::store::blobs;
use im_tests::{audio_url, befriend, new_user, post_upload, upload_audio, Answer, Client, User};
use serde_json::Value;

const MAX: usize = 1024 * 1024;

fn client(user: &User) -> Client {
    Client::new().with_token(&user.token)
}

fn amr(len: usize) -> Vec<u8> {
    let mut amr = b"#!AMR\n".to_vec();
    amr.extend((0..len.saturating_sub(6)).map(|i| (i * 31 % 251) as u8));
    amr
}

async fn send_audio(from: &User, to: &User, id: &str, key: &str) -> Answer {
    client(from).post_form("/message", &[("to", &to.id.to_string()), ("id", id), ("t", "audio"), ("c", key)]).await
}

/// The `upload` table of a presign as `user`.
async fn presign(user: &User) -> Value {
    let answer = client(user).post_form("/audio/upload", &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.doc()["upload"][0].clone()
}

async fn stored(key: &str) -> bool {
    im_tests::s3().head_object().bucket("audio-bucket").key(key).send().await.is_ok()
}

/// The S3 error code of an answer's XML.
fn code(xml: &str) -> &str {
    xml.split_once("<Code>").and_then(|(_, rest)| rest.split_once("</Code>")).map_or("", |(code, _)| code)
}

/// POSTs `file` with `upload`'s form after `change` edits its fields.
async fn post_changed(
    upload: &Value,
    file: &[u8],
    change: impl FnOnce(&mut serde_json::Map<String, Value>),
) -> (u16, String) {
    let mut fields = upload["fields"].as_object().unwrap().clone();
    change(&mut fields);
    post_upload(upload["url"].as_str().unwrap(), &Value::Object(fields), file).await
}

#[tokio::test]
async fn an_oversized_or_empty_post_is_refused_by_s3_itself() {
    let a = new_user("a", "android").await;
    let upload = presign(&a).await;
    let (url, key) = (upload["url"].as_str().unwrap(), upload["fields"]["key"].as_str().unwrap().to_string());
    assert_eq!(upload["max_bytes"], MAX, "the client is told the cap");

    let (status, xml) = post_upload(url, &upload["fields"], &amr(MAX + 1)).await;
    assert_eq!((status, code(&xml)), (400, "EntityTooLarge"), "{xml}");
    assert!(!stored(&key).await, "nothing of the oversized body is stored");
    let (status, xml) = post_upload(url, &upload["fields"], b"").await;
    assert_eq!((status, code(&xml)), (400, "EntityTooSmall"), "{xml}");
    assert!(!stored(&key).await);

    // Exactly the cap is taken, under the policy's key and nowhere else.
    let (status, xml) = post_upload(url, &upload["fields"], &amr(MAX)).await;
    assert!((200..300).contains(&status), "{status} {xml}");
    let head = im_tests::s3().head_object().bucket("audio-bucket").key(&key).send().await.unwrap();
    assert_eq!((head.content_length, head.content_type.as_deref()), (Some(MAX as i64), Some("audio/amr")));
}

#[tokio::test]
async fn a_post_to_another_key_than_the_policys_is_refused() {
    let (a, victim) = (new_user("a", "android").await, new_user("victim", "android").await);
    let upload = presign(&a).await;
    let own = upload["fields"]["key"].as_str().unwrap().to_string();
    let name = own.rsplit('/').next().unwrap().to_string();
    let victims = format!("upload/{}/{name}", victim.id);
    for key in [victims.clone(), format!("audio/{name}"), format!("{own}.x")] {
        let (status, xml) = post_changed(&upload, &amr(2000), |f| {
            f.insert("key".into(), key.clone().into());
        })
        .await;
        assert_eq!((status, code(&xml)), (403, "AccessDenied"), "{key}: {xml}");
        assert!(!stored(&key).await, "{key} was written");
    }
    // Another type, or a field the policy does not name (a public ACL), is refused too.
    let (status, xml) = post_changed(&upload, &amr(2000), |f| {
        f.insert("Content-Type".into(), "text/html".into());
    })
    .await;
    assert_eq!((status, code(&xml)), (403, "AccessDenied"), "{xml}");
    let (status, xml) = post_changed(&upload, &amr(2000), |f| {
        f.insert("acl".into(), "public-read".into());
    })
    .await;
    assert_eq!((status, code(&xml)), (403, "AccessDenied"), "{xml}");
    assert!(!stored(&own).await && !stored(&victims).await);
}

#[tokio::test]
async fn a_tampered_policy_or_signature_is_refused() {
    let a = new_user("a", "android").await;
    let upload = presign(&a).await;
    let key = upload["fields"]["key"].as_str().unwrap().to_string();
    let b64 = base64::engine::general_purpose::STANDARD;

    // The policy rewritten to allow 5 GB no longer matches its signature.
    let policy = String::from_utf8(b64.decode(upload["fields"]["policy"].as_str().unwrap()).unwrap()).unwrap();
    let widened =
        policy.replace(&format!("[\"content-length-range\",1,{MAX}]"), "[\"content-length-range\",1,5368709120]");
    assert_ne!(widened, policy, "the policy holds the size range: {policy}");
    // (A small body: S3 answers before reading an unsigned one, which would reset a big upload.)
    let (status, xml) = post_changed(&upload, &amr(2000), |f| {
        f.insert("policy".into(), b64.encode(&widened).into());
    })
    .await;
    assert_eq!((status, code(&xml)), (403, "SignatureDoesNotMatch"), "{xml}");

    // A forged signature, or none (an anonymous POST), is refused as well.
    let (status, xml) = post_changed(&upload, &amr(2000), |f| {
        f.insert("x-amz-signature".into(), "0".repeat(64).into());
    })
    .await;
    assert_eq!((status, code(&xml)), (403, "SignatureDoesNotMatch"), "{xml}");
    let (status, xml) = post_changed(&upload, &amr(2000), |f| {
        f.remove("x-amz-signature");
    })
    .await;
    assert_eq!((status, code(&xml)), (403, "AccessDenied"), "{xml}");
    assert!(!stored(&key).await, "nothing was stored");
}

/// The pinning itself, at the store, against the local S3: an object replaced after its
/// `stat` is neither read nor moved with the stale ETag (S3's 412), and is with the fresh one.
#[tokio::test]
async fn a_read_or_copy_pinned_to_a_stale_etag_is_refused_by_s3() {
    let clients = im_adapters::Clients::local(im_tests::stack().config());
    let name = format!("{}.amr", uuid::Uuid::new_v4().simple());
    let (from, to) = (format!("upload/0/{name}"), format!("audio/{name}"));
    blobs::put(&clients, &from, amr(1000), "audio/amr").await.unwrap();
    let checked = blobs::stat(&clients, &from).await.unwrap().unwrap();
    assert_eq!(checked.size, 1000);
    blobs::put(&clients, &from, b"swapped in after the check".to_vec(), "audio/amr").await.unwrap();

    assert_eq!(blobs::first_bytes(&clients, &from, 6, &checked.etag).await.unwrap(), None);
    assert!(!blobs::rename_if(&clients, &from, &to, &checked.etag).await.unwrap(), "the stale copy is refused");
    assert!(!stored(&to).await && stored(&from).await, "nothing moved");

    let fresh = blobs::stat(&clients, &from).await.unwrap().unwrap();
    assert_ne!(fresh.etag, checked.etag);
    assert!(blobs::rename_if(&clients, &from, &to, &fresh.etag).await.unwrap());
    assert!(stored(&to).await && !stored(&from).await);
    // Gone since: refused the same way, not an error.
    assert!(!blobs::rename_if(&clients, &from, &to, &fresh.etag).await.unwrap());
}

#[tokio::test]
async fn presigns_past_the_limit_answer_429_with_retry_after() {
    let (a, b) = (new_user("a", "android").await, new_user("b", "android").await);
    for _ in 0..60 {
        presign(&a).await;
    }
    let refused = client(&a).post_form("/audio/upload", &[]).await;
    assert_eq!(refused.status, 429, "{}", refused.text);
    let retry: u64 = refused.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry), "Retry-After {retry}");
    presign(&b).await;
}

#[tokio::test]
async fn presign_post_send_and_fetch_still_work() {
    let (a, b) = (new_user("a", "android").await, new_user("b", "android").await);
    befriend(&a, &b).await;

    // The TOML answer (the route's default) carries the form as a table.
    let toml = presign(&a).await;
    assert_eq!((toml["method"].as_str(), toml["content_type"].as_str()), (Some("POST"), Some("audio/amr")));
    let name = toml["key"].as_str().unwrap().strip_prefix("audio/").unwrap().to_string();
    assert_eq!(toml["fields"]["key"].as_str().unwrap(), format!("upload/{}/{name}", a.id));
    for field in ["Content-Type", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "policy", "x-amz-signature"] {
        assert!(toml["fields"][field].is_string(), "{field} missing: {toml}");
    }

    // The same form may be posted again while it lives: the attach checks what is there then.
    let upload = upload_audio(&a, b"not an AMR file").await;
    let key = upload["key"].as_str().unwrap();
    assert_eq!(send_audio(&a, &b, "v1", key).await.status, 415);
    let voice = amr(5000);
    let (status, xml) = post_upload(upload["url"].as_str().unwrap(), &upload["fields"], &voice).await;
    assert!((200..300).contains(&status), "{status} {xml}");
    let sent = send_audio(&a, &b, "v2", key).await;
    assert_eq!(sent.status, 200, "{}", sent.text);

    let history = client(&b).get(&format!("/message/history?with={}", a.id)).await.doc();
    let path = history["m"][0]["c"].as_str().unwrap().to_string();
    let url = audio_url(&b, &path).await.unwrap();
    assert_eq!(reqwest::get(&url).await.unwrap().bytes().await.unwrap().to_vec(), voice);
}
