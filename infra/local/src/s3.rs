//! The S3-compatible store: s3s over a local folder, with SigV4 checked (so a presigned URL
//! that was tampered with or has expired is refused, as S3 does).

use hyper_util::rt::{TokioExecutor, TokioIo};
use im_adapters::LocalKeys;
use rand::Rng;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use std::net::IpAddr;
use std::path::Path;
use tokio::net::TcpListener;

/// Where a data folder keeps the keys of a stack that listens beyond loopback.
pub const KEYS_FILE: &str = "local-keys.json";

/// The keys a stack on `host` checks and signs with. On loopback, the public constant ones.
/// Beyond it anyone on the network could use those, so: random keys, made once per data folder
/// and kept in it (`KEYS_FILE`, readable by its owner only), or made per run when in memory.
pub fn keys(host: IpAddr, data_dir: Option<&Path>) -> std::io::Result<LocalKeys> {
    if host.is_loopback() {
        return Ok(LocalKeys::default());
    }
    let Some(dir) = data_dir else { return Ok(random_keys()) };
    if let Some(kept) = stored_keys(dir) {
        return Ok(kept);
    }
    std::fs::create_dir_all(dir)?;
    let fresh = random_keys();
    let text = serde_json::json!({ "access_key": fresh.access_key, "secret_key": fresh.secret_key }).to_string();
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let created = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(dir.join(KEYS_FILE));
    match created {
        Ok(mut file) => file.write_all(text.as_bytes()).map(|_| fresh),
        // Another start made them first: theirs are the folder's.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => stored_keys(dir)
            .ok_or_else(|| std::io::Error::other(format!("{KEYS_FILE} in {} is unreadable", dir.display()))),
        Err(e) => Err(e),
    }
}

/// The keys kept in a data folder, if it has them.
pub fn stored_keys(dir: &Path) -> Option<LocalKeys> {
    let text = std::fs::read_to_string(dir.join(KEYS_FILE)).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    let field = |name: &str| value[name].as_str().filter(|v| !v.is_empty()).map(String::from);
    Some(LocalKeys { access_key: field("access_key")?, secret_key: field("secret_key")? })
}

fn random_keys() -> LocalKeys {
    let text = |prefix: &str, len: usize| {
        let mut rng = rand::thread_rng();
        let tail: String =
            (&mut rng).sample_iter(rand::distributions::Alphanumeric).take(len).map(char::from).collect();
        format!("{prefix}{tail}")
    };
    LocalKeys { access_key: text("LOCAL", 16).to_ascii_uppercase(), secret_key: text("", 40) }
}

/// Serves S3 from `root` on `listener` until the task is dropped. A GET, HEAD or POST from a
/// page of the web client (an origin on `web_port`, the HTTP API's) is answered with CORS
/// headers, as the deployed bucket's CORS rule does for `WebClientOrigin`: a voice note's signed
/// URL is fetched by the page's script, a photo is POSTed with its presigned form.
pub fn serve(
    root: &Path,
    listener: TcpListener,
    web_port: u16,
    keys: &LocalKeys,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    std::fs::create_dir_all(root)?;
    let fs = s3s_fs::FileSystem::new(root).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
    let mut builder = S3ServiceBuilder::new(fs);
    builder.set_auth(SimpleAuth::from_single(keys.access_key.as_str(), keys.secret_key.as_str()));
    let service = builder.build();
    Ok(tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else { continue };
            let service = service.clone();
            let cors = hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
                let service = service.clone();
                let asked = crate::s3_answers::Asked::of(&request);
                let origin = request.headers().get(http::header::ORIGIN).cloned().filter(|origin| {
                    let readable =
                        matches!(*request.method(), http::Method::GET | http::Method::HEAD | http::Method::POST);
                    readable && is_web_client(origin.to_str().unwrap_or(""), web_port)
                });
                async move {
                    let response = hyper::service::Service::call(&service, request).await?;
                    let mut response = asked.answer(response);
                    if let Some(origin) = origin {
                        response.headers_mut().insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
                        response.headers_mut().append(http::header::VARY, http::HeaderValue::from_static("Origin"));
                    }
                    Ok::<_, s3s::HttpError>(response)
                }
            });
            tokio::spawn(async move {
                let http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                let _ = http.serve_connection(TokioIo::new(socket), cors).await;
            });
        }
    }))
}

/// An `http://` origin on the HTTP API's port: the web client `make run` serves.
fn is_web_client(origin: &str, web_port: u16) -> bool {
    origin
        .strip_prefix("http://")
        .and_then(|host| host.rsplit_once(':'))
        .is_some_and(|(_, port)| port == web_port.to_string())
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    #[test]
    fn keys_are_the_constant_ones_on_loopback_only_and_random_per_data_folder_beyond() {
        let scratch = std::env::temp_dir().join(format!("im-keys-{}", uuid::Uuid::new_v4()));
        let (one, two) = (scratch.join("one"), scratch.join("two"));
        let constant = im_adapters::LocalKeys::default();
        assert_eq!(super::keys(IpAddr::V4(Ipv4Addr::LOCALHOST), Some(&one)).unwrap(), constant);
        assert!(!one.join(super::KEYS_FILE).exists(), "loopback keeps no keys");
        let everywhere = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        let first = super::keys(everywhere, Some(&one)).unwrap();
        assert_ne!(first.access_key, constant.access_key);
        assert_ne!(first.secret_key, constant.secret_key);
        assert!(first.secret_key.len() >= 40);
        assert_eq!(super::keys(everywhere, Some(&one)).unwrap(), first, "kept and reused by the folder");
        let other = super::keys(everywhere, Some(&two)).unwrap();
        assert_ne!(other.secret_key, first.secret_key, "each folder its own");
        assert_ne!(
            super::keys(everywhere, None).unwrap(),
            super::keys(everywhere, None).unwrap(),
            "in memory: per run"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(one.join(super::KEYS_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "readable by its owner only");
        let _ = std::fs::remove_dir_all(scratch);
    }

    #[test]
    fn only_the_web_clients_origin_reads_audio() {
        assert!(super::is_web_client("http://127.0.0.1:3000", 3000));
        assert!(super::is_web_client("http://192.168.1.5:3000", 3000));
        assert!(!super::is_web_client("http://127.0.0.1:8080", 3000));
        assert!(!super::is_web_client("https://evil.example", 3000));
        assert!(!super::is_web_client("null", 3000));
    }
}
