//! Traces (issue 28, item 3) from outside: with the template's `Tracing` parameter `Active`,
//! every invocation gets a function segment and each of its AWS calls a subsegment under it, sent
//! to the stack's X-Ray daemon in documents X-Ray takes; with the default (`PassThrough`), none.

use im_tests::Client;
use serde_json::Value;

async fn traces(http: &str) -> Value {
    reqwest::get(format!("{http}/_local/traces")).await.expect("the traces answer").json().await.unwrap()
}

fn documents(traces: &Value) -> &[Value] {
    traces["documents"].as_array().map(Vec::as_slice).unwrap_or_default()
}

#[tokio::test]
async fn active_tracing_records_a_subsegment_for_each_aws_call_of_an_invocation() {
    let (stack, copy) =
        im_tests::stack_with_template_changed("  Tracing:", "Default: PassThrough", "Default: Active").await;
    let client = Client::of(&stack.http_url);
    let phone = im_tests::unique_phone();
    let created = client.post_form("/user", &[("phone", &phone), ("name", "x"), ("password", "888888")]).await;
    let id = created.doc()["user"][0]["id"].as_u64().unwrap();
    let login = client.post_form("/server/login", &[("phone", &phone), ("password", "888888")]).await;
    let token = login.doc()["response"][0]["user"]["token"].as_str().unwrap().to_string();
    assert_eq!(client.with_token(&token).get(&format!("/user/id/{id}")).await.status, 200);

    // The subsegments come by UDP: wait until the lookup's DynamoDB call is in.
    let mut found = None;
    for _ in 0..100 {
        let all = traces(&stack.http_url).await;
        let segment = documents(&all).iter().find(|d| d["name"] == "get_user_by_id").cloned();
        let call = segment.as_ref().and_then(|segment| {
            documents(&all)
                .iter()
                .find(|d| {
                    d["parent_id"] == segment["id"] && d["name"] == "DynamoDB" && d["aws"]["operation"] == "GetItem"
                })
                .cloned()
        });
        if let (Some(segment), Some(call)) = (segment, call) {
            found = Some((segment, call, all));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (segment, call, all) = found.expect("the lookup's segment and its GetItem subsegment");
    assert_eq!(segment["origin"], "AWS::Lambda::Function", "{segment}");
    assert_eq!((call["trace_id"] == segment["trace_id"], call["type"].as_str()), (true, Some("subsegment")), "{call}");
    assert_eq!(call["namespace"], "aws");
    assert_eq!(call["http"]["response"]["status"], 200, "{call}");
    assert!(call["start_time"].as_f64() >= segment["start_time"].as_f64(), "{segment} {call}");
    assert_eq!(all["dropped"], serde_json::json!([]), "every document is one X-Ray takes");
    // Each invocation is a trace of its own: the login's is another.
    let login_trace = documents(&all).iter().find(|d| d["name"] == "login").map(|d| d["trace_id"].clone());
    assert!(login_trace.is_some_and(|t| t != segment["trace_id"]), "{all}");
    std::fs::remove_file(copy).ok();
}

#[tokio::test]
async fn with_tracing_at_its_default_nothing_is_traced() {
    let user = im_tests::new_user("untraced", "web").await;
    assert_eq!(Client::new().with_token(&user.token).get(&format!("/user/id/{}", user.id)).await.status, 200);
    assert_eq!(documents(&traces(&im_tests::stack().http).await), &[] as &[Value]);
}
