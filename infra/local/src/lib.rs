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
pub mod outbox;
pub mod runtime_api;
pub mod s3;
pub mod s3_answers;
pub mod ses;
pub mod sigv4;
pub mod site;
pub mod sns;
pub mod sqs;
pub mod stack;
pub mod template;
pub mod websocket;
pub mod xray;

pub use gateway::WsLimits;
pub use stack::{ContractChecks, LocalStack, StackOptions};

/// The runtime a local stack runs on. Its invocations run on its worker threads, whose stacks
/// are Lambda's (8 MB, the process stack a function's handler runs on there) rather than
/// tokio's 2 MiB: unoptimised builds of the functions keep large futures on the stack.
pub fn runtime() -> tokio::runtime::Runtime {
    const LAMBDA_STACK_BYTES: usize = 8 * 1024 * 1024;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(LAMBDA_STACK_BYTES)
        .build()
        .expect("a tokio runtime")
}

/// Where the functions invoked in-process run, whatever runtime the stack itself was started
/// on (a test's own, with tokio's 2 MiB threads): one of [`runtime`]'s, kept for the process.
pub fn functions_runtime() -> &'static tokio::runtime::Handle {
    static FUNCTIONS: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    FUNCTIONS.get_or_init(runtime).handle()
}

/// The project folder, found from the current directory upwards (the one with `template.yaml`).
pub fn project_root() -> std::path::PathBuf {
    let start = std::env::current_dir().unwrap_or_default();
    start.ancestors().find(|dir| dir.join("template.yaml").exists()).map(|dir| dir.to_path_buf()).unwrap_or(start)
}
