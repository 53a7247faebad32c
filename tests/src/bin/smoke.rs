//! `make smoke HTTP_URL=… WS_URL=…`: the smoke suite ([`im_tests::smoke`]) against any stack, a
//! deployed one (`sam deploy`'s outputs `HttpApiUrl` and `WebSocketUrl`) or the local one. One
//! line per step, `PASS` or `FAIL` with why; the exit status is 1 when any step failed.

use std::process::ExitCode;

fn setting(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.trim().is_empty())
}

#[tokio::main]
async fn main() -> ExitCode {
    let (Some(http), Some(ws)) = (setting("HTTP_URL"), setting("WS_URL")) else {
        eprintln!("usage: HTTP_URL=https://<api>.execute-api.<region>.amazonaws.com WS_URL=wss://<api>.execute-api.<region>.amazonaws.com/v1 smoke");
        return ExitCode::from(2);
    };
    println!("smoke: {http} and {ws}");
    let steps = im_tests::smoke::run(&http, &ws).await;
    for step in &steps {
        match step.ok {
            true => println!("PASS  {}", step.name),
            false => println!("FAIL  {}: {}", step.name, step.detail),
        }
    }
    let failed = steps.iter().filter(|step| !step.ok).count();
    println!("smoke: {} passed, {failed} failed", steps.len() - failed);
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
