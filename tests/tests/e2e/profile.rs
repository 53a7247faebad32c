//! One's own profile (issue 27, item 2) from outside: a partial update that a friend sees and
//! hears of, and an avatar uploaded through the media pipeline, cut to a square JPEG of at most
//! 512 pixels at the path the profile shows.

use im_tests::{audio_url, befriend, connect, new_user, next_event, post_upload, Client, User};
use serde_json::{json, Value};
use std::io::Cursor;

fn client(user: &User) -> Client {
    Client::new().with_token(&user.token)
}

async fn put_json(user: &User, path: &str, body: Value) -> im_tests::Answer {
    let body = Some(("application/json", body.to_string().into_bytes()));
    client(user).send("PUT", path, Some("application/json"), body).await
}

/// `viewer`'s look at `user`'s profile.
async fn profile(viewer: &User, user: &User) -> Value {
    let path = format!("/user/id/{}", user.id);
    let answer = client(viewer).send("GET", &path, Some("application/json"), None).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.doc()["user"][0].clone()
}

/// The next `update_user` notice on a JSON socket.
async fn next_profile_notice(socket: &mut im_tests::Socket) -> Value {
    loop {
        let notice = next_event(socket, "NOTIFY").await;
        if notice["data"]["t"] == "update_user" {
            return notice["data"].clone();
        }
    }
}

#[tokio::test]
async fn a_name_change_shows_to_a_friend_who_hears_of_it_live() {
    let (ann, bob) = (new_user("ann", "web").await, new_user("bob", "web").await);
    befriend(&ann, &bob).await;
    let mut bobs_socket = connect(&format!("token={}", bob.token)).await.unwrap();

    let changed = put_json(&ann, "/user", json!({ "name": "Ann Smith", "show_age": false })).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.doc()["user"][0]["name"], "Ann Smith");
    assert_eq!(profile(&bob, &ann).await["name"], "Ann Smith");
    let notice = next_profile_notice(&mut bobs_socket).await;
    assert_eq!((notice["from"].as_u64(), notice["name"].as_str()), (Some(ann.id), Some("Ann Smith")), "{notice}");

    // simple_im's form, answered in TOML; the other fields stay as they were.
    let toml = client(&ann)
        .send("PUT", "/user", None, Some(("application/x-www-form-urlencoded", b"nick_name=annie".to_vec())))
        .await;
    assert_eq!(toml.status, 200, "{}", toml.text);
    assert!(toml.text.contains("[[user]]") && toml.text.contains("annie"), "{}", toml.text);
    assert_eq!(profile(&bob, &ann).await["name"], "Ann Smith", "untouched by a change of another field");

    // Bad input changes nothing.
    for bad in [json!({}), json!({ "name": "" }), json!({ "age": 400 }), json!({ "avatar": "http://x" })] {
        let refused = put_json(&ann, "/user", bad.clone()).await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.text);
    }
    assert_eq!(profile(&bob, &ann).await["name"], "Ann Smith");
    assert_eq!(Client::new().send("PUT", "/user", None, None).await.status, 401);
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let image = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 251) as u8, (y % 241) as u8, 90]));
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Presigns an image upload as `user` and uploads `file`: the key.
async fn uploaded_image(user: &User, file: &[u8]) -> String {
    let answer = client(user).post_json("/media/upload", &json!({ "kind": "image", "type": "image/png" })).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let upload = answer.doc()["upload"][0].clone();
    let (status, text) = post_upload(upload["url"].as_str().unwrap(), &upload["fields"], file).await;
    assert!((200..300).contains(&status), "S3 took the upload: {status} {text}");
    upload["key"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn an_avatar_upload_becomes_a_square_jpeg_of_at_most_512_pixels_at_the_profiles_path() {
    let (ann, bob) = (new_user("ann", "web").await, new_user("bob", "web").await);
    befriend(&ann, &bob).await;
    let mut bobs_socket = connect(&format!("token={}", bob.token)).await.unwrap();

    let key = uploaded_image(&ann, &png(1200, 800)).await;
    // Another user cannot make ann's upload their avatar.
    let stolen = put_json(&bob, "/user/avatar", json!({ "key": key })).await;
    assert_eq!(stolen.status, 400, "{}", stolen.text);
    let set = put_json(&ann, "/user/avatar", json!({ "key": key })).await;
    assert_eq!(set.status, 200, "{}", set.text);

    let avatar = profile(&bob, &ann).await["avatar"].as_str().unwrap().to_string();
    assert!(avatar.starts_with("file/avatar/") && avatar.ends_with(".jpg"), "{avatar}");
    let notice = next_profile_notice(&mut bobs_socket).await;
    assert_eq!(notice["avatar"], avatar.as_str(), "{notice}");

    let url = audio_url(&bob, &avatar).await.expect("a signed URL of the avatar");
    let bytes = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
    let picture = image::load_from_memory(&bytes).expect("a readable picture");
    assert_eq!(image::guess_format(&bytes).unwrap(), image::ImageFormat::Jpeg);
    assert_eq!((picture.width(), picture.height()), (512, 512));

    // A second avatar replaces the first, whose object is gone.
    let second = uploaded_image(&ann, &png(300, 200)).await;
    assert_eq!(put_json(&ann, "/user/avatar", json!({ "key": second })).await.status, 200);
    assert_eq!(audio_url(&bob, &avatar).await, Err(404), "the first avatar is gone");
    let newer = profile(&bob, &ann).await["avatar"].as_str().unwrap().to_string();
    assert_ne!(newer, avatar);

    // What is not an uploaded image is refused.
    let unknown = put_json(&ann, "/user/avatar", json!({ "key": "image/0123456789abcdef0123456789abcdef" })).await;
    assert_eq!(unknown.status, 400, "{}", unknown.text);
    let not_image = uploaded_image(&ann, b"plain text, not a picture at all").await;
    assert_eq!(put_json(&ann, "/user/avatar", json!({ "key": not_image })).await.status, 415);
    assert_eq!(client(&bob).send("GET", "/file/avatar/nope.jpg", None, None).await.status, 404);
    assert_eq!(Client::new().send("GET", &format!("/{newer}"), None, None).await.status, 401);
}
