//! `make run`: the backend on the local stack, until Ctrl-C.

use clap::Parser;
use im_local::{LocalStack, StackOptions, WsLimits};
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "Runs the IM backend locally: DynamoDB Local, S3, HTTP and WebSocket API Gateway")]
struct Args {
    /// Address to listen on; 0.0.0.0 lets a phone on the network reach the stack.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    #[arg(long, default_value_t = 3000)]
    http_port: u16,
    #[arg(long, default_value_t = 3001)]
    ws_port: u16,
    #[arg(long, default_value_t = 8000)]
    dynamodb_port: u16,
    #[arg(long, default_value_t = 9000)]
    s3_port: u16,
    /// Where data persists between runs.
    #[arg(long, default_value = ".data")]
    data_dir: PathBuf,
    /// Keep everything in memory instead (forgotten on exit).
    #[arg(long)]
    in_memory: bool,
    /// Print the HTTP routes read from template.yaml (`METHOD PATH FUNCTION authorized|open`) and exit.
    #[arg(long)]
    routes: bool,
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .init();
    let args = Args::parse();
    let root = im_local::project_root();
    if args.routes {
        return print_routes(&root);
    }
    let options = StackOptions {
        host: args.host,
        http_port: args.http_port,
        ws_port: args.ws_port,
        dynamodb_port: args.dynamodb_port,
        s3_port: args.s3_port,
        data_dir: (!args.in_memory).then(|| root.join(&args.data_dir)),
        ws_limits: WsLimits::default(),
        template: None,
        connections_endpoint: None,
        root,
    };
    let stack = match LocalStack::start(options).await {
        Ok(stack) => stack,
        Err(err) => {
            eprintln!("local stack failed to start: {err}");
            std::process::exit(1);
        }
    };
    println!("IM backend, local stack ready");
    println!("  HTTP API        {}", stack.http_url);
    println!("  WebSocket API   {}", stack.ws_url);
    println!("  @connections    {}/@connections/{{id}}", stack.management_url);
    println!("  DynamoDB Local  {}", stack.dynamodb_endpoint);
    println!("  S3              {}", stack.s3_endpoint);
    println!("Ctrl-C stops everything.");
    let _ = tokio::signal::ctrl_c().await;
    drop(stack);
    println!("stopped");
}

fn print_routes(root: &std::path::Path) {
    match im_local::template::Template::load(&root.join("template.yaml")) {
        Ok(template) => {
            for route in &template.http_routes {
                let auth = if route.authorized { "authorized" } else { "open" };
                println!("{} {} {} {auth}", route.method, route.path, route.function);
            }
        }
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(1);
        }
    }
}
