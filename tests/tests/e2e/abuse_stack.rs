//! Attacks on the local stack itself (issue 21, item 11): a web page in the developer's
//! browser, or anyone without the stack's keys, must not run a function through the Lambda
//! API on 127.0.0.1. The keys beyond loopback: `im_local::s3`'s unit test.

use im_tests::{new_user, stack, Client};
use serde_json::{json, Value};
use std::time::SystemTime;

/// `POST /group` as `user`, the authorizer's context forged: what a page would post.
fn forged_create_group(user: u64, name: &str) -> Vec<u8> {
    let root = im_local::project_root();
    let mut event: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("events/create_group.json")).unwrap()).unwrap();
    event["requestContext"]["authorizer"]["lambda"]["user_id"] = json!(user);
    event["isBase64Encoded"] = json!(false);
    event["body"] = json!(format!("name={name}"));
    event.to_string().into_bytes()
}

fn invocations_url(function: &str) -> String {
    format!("{}/2015-03-31/functions/{function}/invocations", stack().lambda)
}

/// SigV4 headers for a POST of `body` to `url`, signed by `aws-sigv4` (the SDK's signer) with
/// these keys, for `host`.
fn signed_headers(url: &str, host: &str, body: &[u8], access_key: &str, secret: &str) -> Vec<(String, String)> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    let identity = aws_credential_types::Credentials::new(access_key, secret, None, None, "test").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("lambda")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let headers = [("host", host), ("content-type", "text/plain")];
    let request = SignableRequest::new("POST", url, headers.into_iter(), SignableBody::Bytes(body)).unwrap();
    let (instructions, _) = sign(request, &params).unwrap().into_parts();
    let mut signed: Vec<(String, String)> = headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
    signed.extend(instructions.headers().map(|(n, v)| (n.to_string(), v.to_string())));
    signed
}

/// Posts `body` with exactly these headers; the answer's status, error type and message.
async fn post(url: &str, headers: &[(String, String)], body: Vec<u8>) -> (u16, String, Value) {
    let mut request = reqwest::Client::new().post(url).body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let answer = request.send().await.expect("the Lambda API answers");
    let status = answer.status().as_u16();
    let kind = answer.headers().get("x-amzn-errortype").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let body = serde_json::from_str(&answer.text().await.unwrap()).unwrap_or(Value::Null);
    (status, kind, body)
}

fn own_host() -> String {
    stack().lambda.trim_start_matches("http://").to_string()
}

/// The groups `user` is in, as the text of `GET /group`.
async fn groups_of(token: &str) -> String {
    let answer = Client::new().with_token(token).send("GET", "/group", Some("application/json"), None).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.text
}

#[tokio::test]
async fn an_unsigned_text_plain_post_with_a_forged_authorizer_is_refused_and_runs_nothing() {
    let victim = new_user("csrf-victim", "android").await;
    let name = format!("forged{}", uuid::Uuid::new_v4().simple());
    let plain = vec![("host".to_string(), own_host()), ("content-type".to_string(), "text/plain".to_string())];
    let (status, kind, body) =
        post(&invocations_url("create_group"), &plain, forged_create_group(victim.id, &name)).await;
    assert_eq!((status, kind.as_str()), (403, "MissingAuthenticationTokenException"), "{body}");
    assert!(body["message"].is_string(), "AWS's shape: {body}");
    let mut queued = plain.clone();
    queued.push(("x-amz-invocation-type".into(), "Event".into()));
    let (status, ..) = post(&invocations_url("create_group"), &queued, forged_create_group(victim.id, &name)).await;
    assert_eq!(status, 403);
    assert_eq!(stack().invocations.of("create_group").queued, 0, "nothing queued");
    assert!(!groups_of(&victim.token).await.contains(&name), "no group was made in the victim's name");
}

#[tokio::test]
async fn a_wrongly_signed_invocation_or_an_unknown_key_is_refused() {
    let victim = new_user("wrong-key-victim", "android").await;
    let name = format!("forged{}", uuid::Uuid::new_v4().simple());
    let url = invocations_url("create_group");
    let body = forged_create_group(victim.id, &name);
    let wrong = signed_headers(&url, &own_host(), &body, im_adapters::LOCAL_ACCESS_KEY, "not-the-secret");
    let (status, kind, answer) = post(&url, &wrong, body.clone()).await;
    assert_eq!((status, kind.as_str()), (403, "InvalidSignatureException"), "{answer}");
    let stranger = signed_headers(&url, &own_host(), &body, "AKIDSTRANGER", im_adapters::LOCAL_SECRET_KEY);
    let (status, kind, answer) = post(&url, &stranger, body.clone()).await;
    assert_eq!((status, kind.as_str()), (403, "UnrecognizedClientException"), "{answer}");
    // A signed body swapped for another one.
    let good = signed_headers(&url, &own_host(), &body, im_adapters::LOCAL_ACCESS_KEY, im_adapters::LOCAL_SECRET_KEY);
    let (status, kind, _) = post(&url, &good, forged_create_group(victim.id, "other")).await;
    assert_eq!((status, kind.as_str()), (403, "InvalidSignatureException"));
    assert!(!groups_of(&victim.token).await.contains(&name));
}

#[tokio::test]
async fn a_signed_invocation_from_a_web_page_with_an_origin_is_refused() {
    let victim = new_user("origin-victim", "android").await;
    let name = format!("forged{}", uuid::Uuid::new_v4().simple());
    let url = invocations_url("create_group");
    let body = forged_create_group(victim.id, &name);
    let mut headers =
        signed_headers(&url, &own_host(), &body, im_adapters::LOCAL_ACCESS_KEY, im_adapters::LOCAL_SECRET_KEY);
    headers.push(("origin".into(), "https://evil.example".into()));
    let (status, kind, answer) = post(&url, &headers, body).await;
    assert_eq!((status, kind.as_str()), (403, "AccessDeniedException"), "{answer}");
    assert!(!groups_of(&victim.token).await.contains(&name));
}

#[tokio::test]
async fn a_signed_invocation_naming_a_foreign_host_is_refused() {
    let victim = new_user("rebind-victim", "android").await;
    let name = format!("forged{}", uuid::Uuid::new_v4().simple());
    let url = invocations_url("create_group");
    let body = forged_create_group(victim.id, &name);
    // DNS rebinding: the page's own domain now points at 127.0.0.1; the public loopback keys sign.
    let port = own_host().rsplit_once(':').unwrap().1.to_string();
    let rebound = format!("rebound.example:{port}");
    let headers = signed_headers(&url, &rebound, &body, im_adapters::LOCAL_ACCESS_KEY, im_adapters::LOCAL_SECRET_KEY);
    let (status, kind, answer) = post(&url, &headers, body).await;
    assert_eq!((status, kind.as_str()), (403, "AccessDeniedException"), "{answer}");
    assert!(!groups_of(&victim.token).await.contains(&name));
    // @connections is refused the same way.
    let management = format!("{}/@connections/nobody", stack().management);
    let page = [("host".to_string(), rebound), ("content-type".to_string(), "text/plain".to_string())];
    let (status, kind, _) = post(&management, &page, b"hello".to_vec()).await;
    assert_eq!((status, kind.as_str()), (403, "AccessDeniedException"));
}

#[tokio::test]
async fn a_properly_signed_invocation_by_the_sdk_still_runs() {
    let owner = new_user("signed-owner", "android").await;
    let name = format!("signed{}", uuid::Uuid::new_v4().simple());
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
        .http_client(im_adapters::https_client())
        .region(aws_sdk_lambda::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_lambda::config::Credentials::new(
            im_adapters::LOCAL_ACCESS_KEY,
            im_adapters::LOCAL_SECRET_KEY,
            None,
            None,
            "test",
        ))
        .endpoint_url(&stack().lambda)
        .build();
    let lambda = aws_sdk_lambda::Client::from_conf(config);
    let out = lambda
        .invoke()
        .function_name("create_group")
        .payload(aws_sdk_lambda::primitives::Blob::new(forged_create_group(owner.id, &name)))
        .send()
        .await
        .expect("a signed invocation runs");
    assert_eq!(out.status_code(), 200);
    assert!(out.function_error().is_none());
    let answer: Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert!((200..300).contains(&answer["statusCode"].as_u64().unwrap_or(0)), "{answer}");
    assert!(groups_of(&owner.token).await.contains(&name), "the signed caller's group exists");
}
