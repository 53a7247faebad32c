//! `invoke`: every function's built binary runs on the Lambda Runtime API with its sample event.
//! The sample events act as user 1 on group 1, contact 1 ...: they run on a stack of their own,
//! so they never touch the users the other tests create (a sample `DELETE /group/1` once deleted
//! another test's group 1 in the middle of it).

use serde_json::Value;

#[tokio::test]
async fn every_function_binary_answers_its_sample_event() {
    let root = im_local::project_root();
    let template = im_local::template::Template::load(&root.join("template.yaml")).unwrap();
    let own =
        im_local::LocalStack::start(im_local::StackOptions::ephemeral(root.clone())).await.expect("a stack of its own");
    // The stack's own configuration: its DynamoDB, S3, SNS, SQS and Lambda endpoints.
    let mut env: Vec<(String, String)> = im_local::runtime_api::env_of(&own.clients.config);
    env.push(("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into()));
    for binary in template.functions.values() {
        let path = root.join("target/debug").join(binary);
        assert!(path.exists(), "{binary} is not built (make test builds every binary first)");
        let event: Value =
            serde_json::from_str(&std::fs::read_to_string(root.join(format!("events/{binary}.json"))).unwrap())
                .unwrap();
        if binary == "fan_out" {
            // The worker is handed a stored entry: group 1's first message.
            use im_functions::domain::entry::{Body, Message};
            let body = Body::Message(Message {
                client_id: "c-1".into(),
                t: im_functions::domain::message::MessageKind::Text,
                c: "hi".into(),
                from: im_functions::domain::ids::UserId(1),
                from_email: None,
                target: im_functions::domain::ids::Target::Group(im_functions::domain::ids::GroupId(1)),
                ts: 1_795_000_000,
                us: 0,
                d: "android".into(),
                deleted: false,
                details: Default::default(),
            });
            let new = im_functions::store::streams::NewEntry { echo_of: None, body: &body };
            let group = im_functions::domain::ids::ConversationId::Group(im_functions::domain::ids::GroupId(1));
            im_functions::store::streams::append(&own.clients, group, new).await.unwrap();
        }
        if binary == "thumbnail" {
            // The function is handed an attached image: a small PNG under the sample's key.
            let mut png = std::io::Cursor::new(Vec::new());
            image::RgbImage::new(640, 480).write_to(&mut png, image::ImageFormat::Png).unwrap();
            let key = event["key"].as_str().unwrap();
            im_functions::store::blobs::put(&own.clients, key, png.into_inner(), "image/png").await.unwrap();
        }
        let mut results = im_local::runtime_api::run_binary(&path, binary, &env, vec![event]).await.unwrap();
        let answer = results.remove(0).outcome.unwrap_or_else(|e| panic!("{binary} failed: {e}"));
        if binary == "fan_out" {
            assert_eq!(answer, Value::Null, "the worker posts and answers nothing");
        } else if binary == "push_feedback" {
            // SNS has no such endpoint here: nothing to remove.
            assert_eq!(answer, Value::Null, "{answer}");
        } else if binary == "push" {
            // User 1 has no registered device: nothing to send, nothing to retry.
            assert_eq!(answer, serde_json::json!({ "batchItemFailures": [] }), "{answer}");
        } else if binary == "thumbnail" {
            assert_eq!(answer["thumb"], "media/0123456789abcdef0123456789abcdef.jpg", "{answer}");
        } else if binary == "authorize" {
            assert_eq!(answer["isAuthorized"], true, "{answer}");
            assert!(answer["context"]["auth_error"].is_string(), "the sample token is unknown: {answer}");
        } else {
            let status = answer["statusCode"].as_u64().unwrap_or_else(|| panic!("{binary}: {answer}"));
            assert!((200..500).contains(&status), "{binary} answered {status}: {answer}");
        }
    }
}
