//! The WebSocket API: `$connect` with a token, `@connections` posts, `$default`, `$disconnect`.

use aws_sdk_apigatewaymanagement::primitives::Blob;
use futures::SinkExt;
use im_tests::{connect, connection_ids, eventually, management_client, new_user, next_text, send_text};
use tokio_tungstenite::tungstenite::Message;

/// A notification as the functions post it (docs/asyncapi.yaml, `[[n]]`).
const NOTIFICATION: &str =
    "[[n]]\nid = \"n:1\"\nseq = 1\nt = \"follow\"\nfrom = 1\nto = 2\nts = 1448185739\nd = \"android\"\n";

#[tokio::test]
async fn connects_with_a_token_and_receives_posted_frames() {
    let user = new_user("listener", "android").await;
    let mut socket = connect(&format!("token={}&format=toml", user.token)).await.expect("accepted");
    let ids = connection_ids(user.id).await;
    assert_eq!(ids.len(), 1, "one connection recorded");
    let management = management_client().await;
    management
        .post_to_connection()
        .connection_id(&ids[0])
        .data(Blob::new(NOTIFICATION))
        .send()
        .await
        .expect("post accepted");
    assert_eq!(next_text(&mut socket).await, NOTIFICATION);
    let info = management.get_connection().connection_id(&ids[0]).send().await.expect("connection info");
    assert!(info.connected_at().is_some());
}

#[tokio::test]
async fn refused_with_a_bad_token_and_accepted_without_one_to_log_in_by_frame() {
    let mut plain = im_tests::connect_plain().await;
    send_text(&mut plain, "[[s]]\n").await;
    assert!(next_text(&mut plain).await.contains("login first"));
    assert_eq!(connect("token=forged").await.err(), Some(401));
    let user = new_user("picky", "android").await;
    assert_eq!(connect(&format!("token={}&format=xml", user.token)).await.err(), Some(400));
}

#[tokio::test]
async fn posting_to_a_closed_connection_is_gone_and_the_record_goes() {
    let user = new_user("leaver", "iphone").await;
    let mut socket = connect(&format!("token={}", user.token)).await.expect("accepted");
    let cid = connection_ids(user.id).await.pop().expect("recorded");
    socket.close(None).await.expect("closed");
    let management = management_client().await;
    eventually("the gateway forgets the connection", || async {
        let posted = management
            .post_to_connection()
            .connection_id(&cid)
            .data(Blob::new(r#"{"event":"PONG","data":{},"ref":"late"}"#))
            .send()
            .await;
        matches!(posted, Err(ref e) if e.as_service_error().is_some_and(|e| e.is_gone_exception()))
    })
    .await;
    eventually("$disconnect removes the record", || async { connection_ids(user.id).await.is_empty() }).await;
}

#[tokio::test]
async fn server_side_delete_closes_the_socket() {
    let user = new_user("kicked", "web").await;
    let mut socket = connect(&format!("token={}", user.token)).await.expect("accepted");
    let cid = connection_ids(user.id).await.pop().expect("recorded");
    management_client().await.delete_connection().connection_id(&cid).send().await.expect("deleted");
    use futures::StreamExt;
    let next = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next()).await.expect("closes");
    assert!(matches!(next, Some(Ok(Message::Close(_))) | None), "{next:?}");
}

#[tokio::test]
async fn default_route_answers_ping_and_bad_frames_without_closing() {
    let user = new_user("pinger", "android").await;
    let mut socket = connect(&format!("token={}", user.token)).await.expect("accepted");
    send_text(&mut socket, r#"{"event":"PING"}"#).await;
    assert_eq!(next_text(&mut socket).await, r#"{"event":"PONG","data":{}}"#);
    send_text(&mut socket, "this is neither json = nor [toml").await;
    assert!(next_text(&mut socket).await.contains("neither JSON nor TOML"));
    send_text(&mut socket, r#"{"event":"NO_SUCH_EVENT"}"#).await;
    assert!(next_text(&mut socket).await.contains("unknown event"));
    send_text(&mut socket, "[[p]]\n").await;
    assert!(next_text(&mut socket).await.starts_with("[[pp]]\nts = "));
}

#[tokio::test]
async fn a_message_over_128_kb_closes_the_connection_as_api_gateway_does() {
    let user = new_user("talker", "android").await;
    let mut socket = connect(&format!("token={}", user.token)).await.expect("accepted");
    let big = "x".repeat(129 * 1024);
    let _ = socket.send(Message::Text(big.into())).await;
    use futures::StreamExt;
    let next = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next()).await.expect("answers");
    match next {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1009),
        other => assert!(matches!(other, None | Some(Err(_)) | Some(Ok(Message::Close(None)))), "{other:?}"),
    }
}

/// With the stack listening beyond loopback (`--host 0.0.0.0`, for a phone on the network),
/// `@connections` still answers only this machine's own callers (the functions): a caller from
/// the network is refused, as AWS refuses a call without the functions' IAM signature.
#[tokio::test]
async fn connections_api_refuses_callers_from_the_network() {
    let Some(address) = non_loopback_address() else {
        eprintln!("no non-loopback address on this machine: nothing to call from");
        return;
    };
    let mut options = im_local::StackOptions::ephemeral(im_local::project_root());
    options.host = std::net::Ipv4Addr::UNSPECIFIED.into();
    let stack = im_local::LocalStack::start(options).await.unwrap();
    let port = stack.management_url.split(':').nth(2).and_then(|rest| rest.split('/').next()).unwrap().to_string();
    let path = format!("/v1/@connections/{}", "AbCdEfGhIjKlMnO=");
    let call = |from: std::net::IpAddr, to: String| {
        let url = format!("http://{to}:{port}{path}");
        async move {
            let http = reqwest::Client::builder().local_address(from).build().unwrap();
            http.post(url).body("hi").send().await.unwrap().status().as_u16()
        }
    };
    assert_eq!(call(address, address.to_string()).await, 403, "a caller from the network");
    assert_eq!(
        call("127.0.0.1".parse().unwrap(), "127.0.0.1".into()).await,
        410,
        "this machine: the connection is gone"
    );
}

/// An address of this machine that is not loopback, if it has one.
fn non_loopback_address() -> Option<std::net::IpAddr> {
    let out = std::process::Command::new("hostname").arg("-I").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.split_whitespace().filter_map(|a| a.parse::<std::net::IpAddr>().ok()).find(|a| a.is_ipv4() && !a.is_loopback())
}

/// `@connections` refuses a frame past the 128 KB message limit, as AWS does
/// (`PayloadTooLargeException`), and the socket stays open.
#[tokio::test]
async fn a_push_past_128_kb_is_refused_as_on_aws() {
    let user = im_tests::new_user("big", "android").await;
    let mut socket = im_tests::connect(&format!("token={}", user.token)).await.unwrap();
    let cid = im_tests::connection_ids(user.id).await.pop().unwrap();
    let management = im_tests::management_client().await;
    let big = vec![b'x'; 128 * 1024 + 1];
    let refused = management.post_to_connection().connection_id(&cid).data(big.into()).send().await.unwrap_err();
    assert_eq!(refused.raw_response().map(|r| r.status().as_u16()), Some(413));
    // A frame of the contract (docs/asyncapi.yaml), as the functions post them.
    let frame = r#"{"event":"PONG","data":{},"ref":"fits"}"#;
    let fits = management.post_to_connection().connection_id(&cid).data(frame.as_bytes().to_vec().into()).send().await;
    assert!(fits.is_ok());
    assert_eq!(im_tests::next_text(&mut socket).await, frame);
}
