//! `make run`: the backend on the local stack, until Ctrl-C.

use clap::Parser;
use im_adapters::logging::{LogLayer, Style};
use im_local::{ContractChecks, LocalStack, StackOptions, WsLimits};
use std::path::PathBuf;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

#[derive(Parser)]
#[command(about = "Runs the IM backend locally: DynamoDB Local, S3, HTTP and WebSocket API Gateway, the web client")]
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
    /// Where data persists between runs (and where `logs/stack.jsonl` goes).
    #[arg(long, default_value = ".data")]
    data_dir: PathBuf,
    /// Keep everything in memory instead (forgotten on exit).
    #[arg(long)]
    in_memory: bool,
    /// Create demo users (alice, bob, carol), friendships, a group and some history.
    #[arg(long)]
    seed_demo: bool,
    /// Print the HTTP routes read from template.yaml (`METHOD PATH FUNCTION authorized|open`) and exit.
    #[arg(long)]
    routes: bool,
}

fn main() {
    im_local::runtime().block_on(run());
}

async fn run() {
    let args = Args::parse();
    let root = im_local::project_root();
    if args.routes {
        return print_routes(&root);
    }
    let log_file = root.join(&args.data_dir).join("logs/stack.jsonl");
    if let Err(err) = init_logging(&log_file) {
        eprintln!("cannot write the log {}: {err}", log_file.display());
        std::process::exit(1);
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
        contract_checks: ContractChecks::WhenPresent,
        root: root.clone(),
    };
    let stack = match LocalStack::start(options).await {
        Ok(stack) => stack,
        Err(err) => {
            eprintln!("local stack failed to start: {err}");
            std::process::exit(1);
        }
    };
    let seeded = match args.seed_demo {
        true => match im_local::demo::seed(&stack.http_url).await {
            Ok(fresh) => Some(fresh),
            Err(err) => {
                eprintln!("--seed-demo failed: {err}");
                std::process::exit(1);
            }
        },
        false => None,
    };
    let web = format!("{}/app/", stack.http_url);
    println!("IM backend, local stack ready");
    println!("  Web client      {web}");
    println!("  HTTP API        {}", stack.http_url);
    println!("  WebSocket API   {}", stack.ws_url);
    println!("  OpenAPI         {}/openapi.json   AsyncAPI {}/asyncapi.json", stack.http_url, stack.http_url);
    println!("  @connections    {}/@connections/{{id}}", stack.management_url);
    println!("  DynamoDB Local  {}", stack.dynamodb_endpoint);
    println!("  S3              {}", stack.s3_endpoint);
    if stack.keys != im_adapters::LocalKeys::default() {
        println!("  S3 and Lambda keys: random, not the public ones (access key {})", stack.keys.access_key);
    }
    println!("  Logs            {} (JSON, `make logs`); one line per request below", log_file.display());
    let users: Vec<String> = im_local::demo::USERS.iter().map(|(phone, name)| format!("{name} {phone}")).collect();
    match seeded {
        Some(fresh) => println!(
            "Demo users{}: {}, password {} (open {web} and log in)",
            if fresh { "" } else { " (seeded before)" },
            users.join(", "),
            im_local::demo::PASSWORD
        ),
        None => println!(
            "No users yet? Sign up in the web client, or restart with `make run ARGS=--seed-demo` for {}",
            users.join(", ")
        ),
    }
    println!("Ctrl-C stops everything.");
    let _ = tokio::signal::ctrl_c().await;
    drop(stack);
    println!("stopped");
}

/// One short line per request and frame on stdout, JSON lines (Lambda's format) in `file`;
/// `RUST_LOG` changes the level (default: the functions' requests, warnings from the rest).
fn init_logging(file: &std::path::Path) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let json = std::fs::OpenOptions::new().create(true).append(true).open(file)?;
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| "warn,im_functions=info,im_local=info,im_adapters=info".into())
    };
    use tracing_subscriber::Layer;
    tracing_subscriber::registry()
        .with(LogLayer::new(Style::Line, std::io::stdout()).with_filter(filter()))
        .with(LogLayer::new(Style::Json, json).with_filter(filter()))
        .init();
    Ok(())
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
