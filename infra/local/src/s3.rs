//! The S3-compatible store: s3s over a local folder, with SigV4 checked (so a presigned URL
//! that was tampered with or has expired is refused, as S3 does).

use hyper_util::rt::{TokioExecutor, TokioIo};
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use std::path::Path;
use tokio::net::TcpListener;

/// Serves S3 from `root` on `listener` until the task is dropped.
pub fn serve(root: &Path, listener: TcpListener) -> std::io::Result<tokio::task::JoinHandle<()>> {
    std::fs::create_dir_all(root)?;
    let fs = s3s_fs::FileSystem::new(root).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
    let mut builder = S3ServiceBuilder::new(fs);
    builder.set_auth(SimpleAuth::from_single(im_adapters::LOCAL_ACCESS_KEY, im_adapters::LOCAL_SECRET_KEY));
    let service = builder.build();
    Ok(tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else { continue };
            let service = service.clone();
            tokio::spawn(async move {
                let http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                let _ = http.serve_connection(TokioIo::new(socket), service).await;
            });
        }
    }))
}
