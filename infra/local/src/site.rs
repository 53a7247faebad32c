//! What the local stack serves beside the API, on the HTTP port (never deployed): the web
//! client (`web/` at `/app/`, with `/app/config.json` naming this stack's URLs) and the
//! contracts as JSON (`/openapi.json`, `/asyncapi.json`), for code generators and schemathesis.
//! No template route starts with `/app/` or ends in `.json` at the root, so nothing is shadowed.

use crate::contracts::{as_json, Contracts};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

pub struct Site {
    /// The folder served at `/app/`.
    pub web_root: PathBuf,
    pub ws_port: u16,
    pub ws_stage: String,
    /// The contracts as JSON; `None` when they did not load.
    pub openapi: Option<String>,
    pub asyncapi: Option<String>,
}

impl Site {
    pub fn new(root: &Path, ws_port: u16, ws_stage: &str, contracts: Option<&Contracts>) -> Site {
        Site {
            web_root: root.join("web"),
            ws_port,
            ws_stage: ws_stage.to_string(),
            openapi: contracts.map(|c| as_json(&c.openapi)),
            asyncapi: contracts.map(|c| as_json(&c.asyncapi)),
        }
    }
}

/// The site's routes, to merge into the HTTP API's router.
pub fn routes<S: Clone + Send + Sync + 'static>(site: Arc<Site>) -> Router<S> {
    let (openapi, asyncapi, app) = (site.clone(), site.clone(), site);
    let files = move |headers: HeaderMap, uri: axum::http::Uri| {
        let site = app.clone();
        async move { serve(&site, &headers, uri.path()).await }
    };
    Router::new()
        .route("/openapi.json", get(move || async move { document(&openapi.openapi) }))
        .route("/asyncapi.json", get(move || async move { document(&asyncapi.asyncapi) }))
        .route("/app", get(|| async { Redirect::permanent("/app/") }))
        .route("/app/", get(files.clone()))
        .route("/app/{*path}", get(files))
}

fn json(body: &str) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

fn document(body: &Option<String>) -> Response {
    match body {
        Some(body) => json(body),
        None => (StatusCode::NOT_FOUND, "the contract did not load: see the stack's log").into_response(),
    }
}

async fn serve(site: &Site, headers: &HeaderMap, path: &str) -> Response {
    let relative = path.strip_prefix("/app/").unwrap_or("");
    if relative == "config.json" {
        return json(&config(site, headers));
    }
    let relative = if relative.is_empty() || relative.ends_with('/') {
        format!("{relative}index.html")
    } else {
        relative.to_string()
    };
    let Some(file) = inside(&site.web_root, &relative) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    match tokio::fs::read(&file).await {
        Ok(bytes) => {
            ([(header::CONTENT_TYPE, content_type(&file)), (header::CACHE_CONTROL, "no-cache")], bytes).into_response()
        }
        Err(_) => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// The stack's URLs as the browser reaches them: the host it used for the page, our ports.
fn config(site: &Site, headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    serde_json::json!({
        "httpUrl": format!("http://{host}"),
        "wsUrl": format!("ws://{name}:{}/{}", site.ws_port, site.ws_stage),
    })
    .to_string()
}

/// `relative` under `root`, refusing `..`, absolute paths and anything odd.
fn inside(root: &Path, relative: &str) -> Option<PathBuf> {
    let relative = Path::new(relative);
    relative.components().all(|c| matches!(c, Component::Normal(_))).then(|| root.join(relative))
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "wasm" => "application/wasm",
        "amr" => "audio/amr",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_way_out_of_the_web_folder() {
        let root = Path::new("/srv/web");
        assert_eq!(inside(root, "js/app.js"), Some(PathBuf::from("/srv/web/js/app.js")));
        assert_eq!(inside(root, "../template.yaml"), None);
        assert_eq!(inside(root, "a/../../x"), None);
        assert_eq!(inside(root, "/etc/passwd"), None);
        assert_eq!(inside(root, "app.js"), Some(PathBuf::from("/srv/web/app.js")));
    }
}
