//! The local stack: everything `sam local` would need Docker for, without Docker.
//! One process runs DynamoDB Local, an S3 server, and API Gateway's HTTP and WebSocket APIs
//! (with `@connections`) over the functions of `im_functions`, configured by `template.yaml`.
//! `runtime_api` also runs a built function binary on the Lambda Runtime API (`invoke`).

pub mod callers;
pub mod contracts;
pub mod demo;
pub mod dynamodb;
pub mod events;
pub mod gateway;
pub mod http_gateway;
pub mod iam;
pub mod lambda_api;
pub mod runtime_api;
pub mod s3;
pub mod s3_answers;
pub mod sigv4;
pub mod site;
pub mod stack;
pub mod template;
pub mod websocket;

pub use gateway::WsLimits;
pub use stack::{ContractChecks, LocalStack, StackOptions};

/// The project folder, found from the current directory upwards (the one with `template.yaml`).
pub fn project_root() -> std::path::PathBuf {
    let start = std::env::current_dir().unwrap_or_default();
    start.ancestors().find(|dir| dir.join("template.yaml").exists()).map(|dir| dir.to_path_buf()).unwrap_or(start)
}
