//! The S3-compatible store: s3s over a local folder, with SigV4 checked (so a presigned URL
//! that was tampered with or has expired is refused, as S3 does).

use hyper_util::rt::{TokioExecutor, TokioIo};
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use std::path::Path;
use tokio::net::TcpListener;

/// Serves S3 from `root` on `listener` until the task is dropped. A GET or HEAD from a page of
/// the web client (an origin on `web_port`, the HTTP API's) is answered with CORS headers, as
/// the deployed bucket's CORS rule does for `WebClientOrigin`: a voice note's signed URL is
/// fetched by the page's script.
pub fn serve(root: &Path, listener: TcpListener, web_port: u16) -> std::io::Result<tokio::task::JoinHandle<()>> {
    std::fs::create_dir_all(root)?;
    let fs = s3s_fs::FileSystem::new(root).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
    let mut builder = S3ServiceBuilder::new(fs);
    builder.set_auth(SimpleAuth::from_single(im_adapters::LOCAL_ACCESS_KEY, im_adapters::LOCAL_SECRET_KEY));
    let service = builder.build();
    Ok(tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else { continue };
            let service = service.clone();
            let cors = hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
                let service = service.clone();
                let asked = crate::s3_answers::Asked::of(&request);
                let origin = request.headers().get(http::header::ORIGIN).cloned().filter(|origin| {
                    let readable = matches!(*request.method(), http::Method::GET | http::Method::HEAD);
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
    #[test]
    fn only_the_web_clients_origin_reads_audio() {
        assert!(super::is_web_client("http://127.0.0.1:3000", 3000));
        assert!(super::is_web_client("http://192.168.1.5:3000", 3000));
        assert!(!super::is_web_client("http://127.0.0.1:8080", 3000));
        assert!(!super::is_web_client("https://evil.example", 3000));
        assert!(!super::is_web_client("null", 3000));
    }
}
