//! `invoke FUNCTION --event events/x.json`: runs a built function binary once on the Lambda
//! Runtime API, against the DynamoDB and S3 of a running local stack (`make run`). The
//! `sam local invoke` of machines without Docker.

use clap::Parser;
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "Invokes one function binary with an event file, like `sam local invoke -e`")]
struct Args {
    /// The function's binary name (`get_user_by_id`, `ws_connect`, ...).
    function: String,
    /// The event to send (see `events/`).
    #[arg(long, short)]
    event: PathBuf,
    /// Use the release build instead of the debug one.
    #[arg(long)]
    release: bool,
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    dynamodb: String,
    #[arg(long, default_value = "http://127.0.0.1:9000")]
    s3: String,
    #[arg(long, default_value = "http://127.0.0.1:3001/v1")]
    websocket_management: String,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let root = im_local::project_root();
    let profile = if args.release { "release" } else { "debug" };
    let binary = root.join("target").join(profile).join(&args.function);
    if !binary.exists() {
        eprintln!(
            "{} is not built: run `cargo build -p im-functions{}`",
            binary.display(),
            if args.release { " --release" } else { "" }
        );
        std::process::exit(2);
    }
    let event = match std::fs::read_to_string(&args.event).map(|t| serde_json::from_str(&t)) {
        Ok(Ok(event)) => event,
        Ok(Err(e)) => return fail(&format!("{} is not JSON: {e}", args.event.display())),
        Err(e) => return fail(&format!("cannot read {}: {e}", args.event.display())),
    };
    let mut env = im_local::runtime_api::local_env(&args.dynamodb, &args.s3, &args.websocket_management);
    // A stack listening beyond loopback signs with the random keys of its data folder.
    if let Some(keys) = im_local::s3::stored_keys(&root.join(".data")) {
        for (name, value) in &mut env {
            match name.as_str() {
                "AWS_ACCESS_KEY_ID" => *value = keys.access_key.clone(),
                "AWS_SECRET_ACCESS_KEY" => *value = keys.secret_key.clone(),
                _ => {}
            }
        }
    }
    match im_local::runtime_api::run_binary(&binary, &args.function, &env, vec![event]).await {
        Ok(mut results) => {
            let result = results.remove(0);
            match result.outcome {
                Ok(answer) => println!("{}", serde_json::to_string_pretty(&answer).unwrap_or_default()),
                Err(error) => fail(&format!("function error: {error}")),
            }
            eprintln!("answered in {:?}", result.elapsed);
        }
        Err(e) => fail(&e),
    }
}

fn fail(message: &str) {
    eprintln!("{message}");
    std::process::exit(1);
}
