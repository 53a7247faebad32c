//! Images, files and videos (issue 26) from outside: presigned POSTs whose limits the (local)
//! S3 itself enforces, an image attached with its size in pixels and a thumbnail made by the
//! thumbnail function, metadata stripped before the other side downloads it, files served
//! under their name, and nothing for strangers.

use im_tests::{audio_url, befriend, new_user, post_upload, Client, User};
use serde_json::{json, Value};
use std::io::Cursor;

fn client(user: &User) -> Client {
    Client::new().with_token(&user.token)
}

async fn presign(user: &User, kind: &str, content_type: &str) -> Value {
    let answer = client(user).post_json("/media/upload", &json!({ "kind": kind, "type": content_type })).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.doc()["upload"][0].clone()
}

/// The message `sid` as `reader` finds it in their history with `with`.
async fn in_history(reader: &User, with: &User, sid: &str) -> Value {
    let path = format!("/message/history?with={}", with.id);
    let history = client(reader).send("GET", &path, Some("application/json"), None).await.doc();
    let messages = history["m"].as_array().cloned().unwrap_or_default();
    messages.into_iter().find(|m| m["id"] == sid).expect("the message in history")
}

/// Uploads `file` by a presigned POST of `kind` and sends it to `to`: the stored message.
async fn upload_and_send(from: &User, to: &User, kind: (&str, &str), file: &[u8], name: Option<&str>) -> Value {
    let upload = presign(from, kind.0, kind.1).await;
    let (status, text) = post_upload(upload["url"].as_str().unwrap(), &upload["fields"], file).await;
    assert!((200..300).contains(&status), "S3 took the upload: {status} {text}");
    let id = format!("m-{}", rand::random::<u32>());
    let mut body = json!({ "to": to.id, "id": id, "t": kind.0, "c": upload["key"] });
    if let Some(name) = name {
        body["name"] = json!(name);
    }
    let sent = client(from).post_json("/message", &body).await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    in_history(from, to, sent.doc()["message"][0]["sid"].as_str().unwrap()).await
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let image = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 251) as u8, (y % 241) as u8, 90]));
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A small JPEG whose EXIF segment says where it was taken.
fn jpeg_with_location() -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let image = image::RgbImage::from_pixel(64, 48, image::Rgb([200, 30, 30]));
    image.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    let plain = out.into_inner();
    let exif = b"Exif\0\0GPSLatitude 48.8566 GPSLongitude 2.3522";
    let mut tagged = plain[..2].to_vec();
    tagged.extend([0xFF, 0xE1]);
    tagged.extend(((exif.len() + 2) as u16).to_be_bytes());
    tagged.extend_from_slice(exif);
    tagged.extend_from_slice(&plain[2..]);
    tagged
}

/// GETs a signed URL: status, body and `Content-Disposition`.
async fn download(url: &str) -> (u16, Vec<u8>, Option<String>) {
    let answer = reqwest::get(url).await.unwrap();
    let disposition = answer.headers().get("content-disposition").map(|v| v.to_str().unwrap().to_string());
    (answer.status().as_u16(), answer.bytes().await.unwrap().to_vec(), disposition)
}

#[tokio::test]
async fn s3_itself_refuses_an_oversized_image_upload() {
    let ann = new_user("ann", "web").await;
    let upload = presign(&ann, "image", "image/png").await;
    assert_eq!(upload["max_bytes"], 10 * 1024 * 1024);
    let url = upload["url"].as_str().unwrap();
    let (status, text) = post_upload(url, &upload["fields"], &vec![7u8; 12 * 1024 * 1024]).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("EntityTooLarge"), "{text}");
    let html = client(&ann).post_json("/media/upload", &json!({ "kind": "image", "type": "text/html" })).await;
    assert_eq!(html.status, 400, "{}", html.text);
    assert_eq!(client(&ann).post_json("/media/upload", &json!({ "kind": "sticker" })).await.status, 400);
}

#[tokio::test]
async fn an_attached_png_has_its_size_and_a_thumbnail_and_strangers_get_404() {
    let (ann, bob, eve) = (new_user("ann", "web").await, new_user("bob", "web").await, new_user("eve", "web").await);
    befriend(&ann, &bob).await;
    let message = upload_and_send(&ann, &bob, ("image", "image/png"), &png(2000, 1000), None).await;
    let size = (message["t"].as_str(), message["w"].as_u64(), message["h"].as_u64());
    assert_eq!(size, (Some("image"), Some(2000), Some(1000)), "{message}");
    let (path, thumb) = (message["c"].as_str().unwrap().to_string(), message["thumb"].as_str().unwrap().to_string());
    assert!(path.starts_with("file/image/") && thumb.starts_with("file/media/") && thumb.ends_with(".jpg"));

    // The thumbnail function runs after the send: the path answers 404 until it has.
    im_tests::eventually_within("the thumbnail", 30, || async { audio_url(&bob, &thumb).await.is_ok() }).await;
    let (status, bytes, _) = download(&audio_url(&bob, &thumb).await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(image::guess_format(&bytes).unwrap(), image::ImageFormat::Jpeg);
    let small = image::load_from_memory(&bytes).expect("a decodable thumbnail");
    assert!(small.width() <= 320 && small.height() <= 320, "{}x{}", small.width(), small.height());
    let (status, full, _) = download(&audio_url(&bob, &path).await.unwrap()).await;
    assert_eq!((status, image::load_from_memory(&full).unwrap().width()), (200, 2000));

    assert_eq!(audio_url(&eve, &path).await, Err(404), "a stranger learns nothing of the image");
    assert_eq!(audio_url(&eve, &thumb).await, Err(404), "nor of its thumbnail");
}

#[tokio::test]
async fn an_images_location_is_stripped_and_a_file_is_served_under_its_name() {
    let (ann, bob) = (new_user("ann", "web").await, new_user("bob", "web").await);
    befriend(&ann, &bob).await;
    let message = upload_and_send(&ann, &bob, ("image", "image/jpeg"), &jpeg_with_location(), None).await;
    let (_, stored, _) = download(&audio_url(&bob, message["c"].as_str().unwrap()).await.unwrap()).await;
    assert!(!String::from_utf8_lossy(&stored).contains("GPSLatitude"), "the location is gone");
    assert_eq!(image::load_from_memory(&stored).unwrap().width(), 64, "the picture is intact");

    let report = b"%PDF-1.7\n% the quarterly report\n".to_vec();
    let file = upload_and_send(&ann, &bob, ("file", "application/pdf"), &report, Some("Q3 report.pdf")).await;
    let shown = (file["name"].as_str(), file["size"].as_u64());
    assert_eq!(shown, (Some("Q3 report.pdf"), Some(report.len() as u64)), "{file}");
    let (status, bytes, disposition) = download(&audio_url(&bob, file["c"].as_str().unwrap()).await.unwrap()).await;
    assert_eq!((status, bytes), (200, report));
    let named = disposition.as_deref().is_some_and(|d| d.starts_with("attachment") && d.contains("Q3"));
    assert!(named, "{disposition:?}");

    // A video must be one: an upload of anything else is refused when a message attaches it.
    let not_video = presign(&ann, "video", "video/mp4").await;
    post_upload(not_video["url"].as_str().unwrap(), &not_video["fields"], b"RIFF....AVI LIST").await;
    let body = json!({ "to": bob.id, "id": "v-1", "t": "video", "c": not_video["key"] });
    assert_eq!(client(&ann).post_json("/message", &body).await.status, 415);
}

#[tokio::test]
async fn simple_ims_multipart_image_route_and_a_delete_takes_the_image_with_it() {
    let (ann, bob) = (new_user("ann", "web").await, new_user("bob", "web").await);
    befriend(&ann, &bob).await;
    let (content_type, body) = im_tests::multipart(&png(40, 30), "image/png", "to", &bob.id.to_string());
    let sent = client(&ann).send("POST", "/m/image", Some("application/json"), Some((&content_type, body))).await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    let sid = sent.doc()["message"][0]["sid"].as_str().unwrap().to_string();
    let message = in_history(&bob, &ann, &sid).await;
    assert_eq!((message["w"].as_u64(), message["h"].as_u64()), (Some(40), Some(30)));
    let path = message["c"].as_str().unwrap().to_string();
    assert!(audio_url(&bob, &path).await.is_ok());
    // Bob naming ann's image in a message of his own attaches nothing (and so can delete nothing).
    let key = path.strip_prefix("file/").unwrap();
    let theft =
        client(&bob).post_json("/message", &json!({ "to": ann.id, "id": "steal", "t": "image", "c": key })).await;
    assert_eq!(theft.status, 400, "{}", theft.text);
    let (text_type, not_an_image) = im_tests::multipart(b"hello", "text/plain", "to", &bob.id.to_string());
    assert_eq!(client(&ann).send("POST", "/m/image", None, Some((&text_type, not_an_image))).await.status, 415);

    let escaped = sid.replace('#', "%23").replace(':', "%3A");
    assert_eq!(client(&ann).send("DELETE", &format!("/message?id={escaped}"), None, None).await.status, 204);
    assert_eq!(audio_url(&bob, &path).await, Err(404), "the image went with its message");
}
