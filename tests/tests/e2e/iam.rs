//! IAM is enforced locally from the template: each function's AWS calls are checked against
//! its `Policies` (infra/local/src/iam.rs), so a permission missing from the template fails
//! here as it would fail deployed.

use im_tests::Client;

/// Removes `dynamodb:GetItem` on the users table from `GetUserByIdFunction` in a copy of the
/// template, and starts a stack on it: the route fails, and the refusal names the function,
/// the action and the resource.
#[tokio::test]
async fn a_permission_missing_from_the_template_fails_locally_as_on_aws() {
    let grant =
        "- { Effect: Allow, Action: [dynamodb:GetItem, dynamodb:UpdateItem], Resource: !GetAtt UsersTable.Arn }";
    let instead =
        "- { Effect: Allow, Action: [dynamodb:Query, dynamodb:UpdateItem], Resource: !GetAtt UsersTable.Arn }";
    let (stack, copy) = im_tests::stack_with_policy_changed("GetUserByIdFunction", grant, instead).await;

    let client = Client::of(&stack.http_url);
    let phone = im_tests::unique_phone();
    assert_eq!(
        client.post_form("/user", &[("phone", &phone), ("name", "x"), ("password", "888888")]).await.status,
        200
    );
    let login = client.post_form("/server/login", &[("phone", &phone), ("password", "888888")]).await;
    let token = login.doc()["response"][0]["user"]["token"].as_str().unwrap().to_string();
    let denied = client.with_token(&token).get("/user/id/1").await;
    assert_eq!(denied.status, 500, "{}", denied.text);
    let denials = stack.gateway.denials.list();
    assert!(
        denials.iter().any(
            |d| d == "get_user_by_id: dynamodb:GetItem on arn:aws:dynamodb:us-east-1:000000000000:table/UsersTable"
        ),
        "{denials:?}"
    );
    let other = client.with_token(&token).get(&format!("/user/phone/{phone}")).await;
    assert_eq!(other.status, 200, "the other functions keep their permissions");
    std::fs::remove_file(copy).ok();
}

/// DynamoDB frozen (SIGSTOP), then killed, under a running stack: routes answer 503 with
/// `Retry-After` in their own format (not a hang past the gateway's limit, not a bare 500),
/// and work again once it is back.
#[tokio::test]
async fn a_frozen_or_dead_dynamodb_gets_a_503_with_retry_after() {
    let stack = im_local::LocalStack::start(im_local::StackOptions::ephemeral(im_local::project_root())).await.unwrap();
    let pid = stack.dynamodb_pid().unwrap().to_string();
    let signal = |name: &str| {
        let status = std::process::Command::new("kill").args([name, pid.as_str()]).status().unwrap();
        assert!(status.success(), "kill {name}");
    };
    let client = Client::of(&stack.http_url);
    let phone = im_tests::unique_phone();
    let created = client.post_form("/user", &[("phone", &phone), ("name", "x"), ("password", "888888")]).await;
    let id = created.doc()["user"][0]["id"].as_u64().unwrap();
    let login = client.post_form("/server/login", &[("phone", &phone), ("password", "888888")]).await;
    let session = client.with_token(login.doc()["response"][0]["user"]["token"].as_str().unwrap());
    let unavailable = |answer: &im_tests::Answer| {
        answer.status == 503
            && answer.headers.get("retry-after").is_some()
            && answer.reason() == "service unavailable, try again"
    };

    signal("-STOP");
    let frozen = session.get(&format!("/user/id/{id}")).await;
    let frozen_send = session.post_form("/message", &[("to", "1"), ("id", "f1"), ("t", "text"), ("c", "hi")]).await;
    signal("-CONT");
    assert!(unavailable(&frozen), "{} {:?} {}", frozen.status, frozen.headers, frozen.text);
    assert!(unavailable(&frozen_send), "{} {}", frozen_send.status, frozen_send.text);
    assert_eq!(session.get(&format!("/user/id/{id}")).await.status, 200, "back once it answers again");

    signal("-KILL");
    let dead = session.get(&format!("/user/id/{id}")).await;
    assert!(unavailable(&dead), "{} {}", dead.status, dead.text);
    let dead_login = client.post_form("/server/login", &[("phone", &phone), ("password", "888888")]).await;
    assert!(unavailable(&dead_login), "{} {}", dead_login.status, dead_login.text);
}

/// A body under the HTTP API's 10 MB but past Lambda's 6 MB invocation payload once
/// base64-encoded never reaches the function: the gateway answers 413, as AWS does.
#[tokio::test]
async fn a_body_past_lambdas_payload_limit_is_refused_by_the_gateway() {
    let user = im_tests::new_user("big", "android").await;
    let (ct, body) = im_tests::multipart(&vec![7u8; 5 * 1024 * 1024], "audio/amr", "to", "1");
    let answer = Client::new().with_token(&user.token).send("POST", "/m/audio", None, Some((&ct, body))).await;
    assert_eq!((answer.status, answer.text.as_str()), (413, r#"{"message":"Request Entity Too Large"}"#));
}
