//! The tools a team already uses, run against the local stack: schemathesis generating requests
//! from `docs/openapi.yaml`, and the web client in headless Chromium (two users chatting).
//! Both are installed by `make test` (`.tools/schemathesis`, `web/node_modules`, Debian's
//! chromium); their reports go to `target/artifacts/`.

use im_tests::{stack, Client};
use std::path::PathBuf;
use std::process::Command;

fn artifacts() -> PathBuf {
    let dir = im_local::project_root().join("target/artifacts");
    std::fs::create_dir_all(&dir).expect("target/artifacts");
    dir
}

/// A tool `make test` installs; its absence is a set-up error with the command that fixes it.
fn tool(path: &str) -> PathBuf {
    let tool = im_local::project_root().join(path);
    assert!(tool.exists(), "{} is missing: run `make test`, which installs it", tool.display());
    tool
}

/// Cases per operation: a bounded run in `make test`, a long one in `make fuzz`.
fn examples() -> String {
    std::env::var("SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "8".into())
}

/// schemathesis, authenticated as a user of a stack of its own (its sign-ups and logins come
/// from 127.0.0.1 and would use up the shared stack's per-address limits): no answer is a 5xx
/// and every answer matches the document, by schemathesis's checks and by the stack's own.
#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let schemathesis = tool(".tools/schemathesis/bin/schemathesis");
    let root = im_local::project_root();
    let own = im_local::LocalStack::start(im_local::StackOptions::ephemeral(root.clone())).await.expect("a stack");
    let client = Client::of(&own.http_url);
    let phone = im_tests::unique_phone();
    let created =
        client.post_form("/user", &[("phone", &phone), ("name", "schemathesis"), ("password", "888888")]).await;
    assert_eq!(created.status, 200, "{}", created.text);
    let login = client.post_form("/server/login", &[("phone", &phone), ("password", "888888")]).await;
    let token = login.doc()["response"][0]["user"]["token"].as_str().expect("token").to_string();

    let report = artifacts().join("schemathesis.txt");
    let seed = std::env::var("SCHEMATHESIS_SEED").unwrap_or_else(|_| "1".into());
    let url = own.http_url.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(schemathesis)
            .args(["run", &format!("{url}/openapi.json"), "--url", &url])
            .args(["--header", &format!("Authorization: Bearer {token}")])
            .args(["--checks", "not_a_server_error,response_schema_conformance,content_type_conformance"])
            // One worker: hypothesis's source inspection is not thread-safe on CPython 3.11
            // ("AST constructor recursion depth mismatch" in a clean-clone run with two).
            .args(["--max-examples", &examples(), "--seed", &seed, "--workers", "1"])
            .args(["--phases", "examples,coverage,fuzzing", "--no-shrink"])
            // The fuzzing user's session must live on: these two end it (they are tested elsewhere).
            .args(["--exclude-operation-id", "logout", "--exclude-operation-id", "change_password"])
            .args(["--report", "junit", "--report-junit-path"])
            .arg(artifacts().join("schemathesis.xml"))
            .env("NO_COLOR", "1")
            // Its cache (`.schemathesis/`) goes with the reports, not into the source tree.
            .current_dir(artifacts())
            .output()
            .expect("schemathesis runs")
    })
    .await
    .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    std::fs::write(&report, &text).expect("report written");
    assert!(output.status.success(), "schemathesis failed (report in {}):\n{text}", report.display());
    let cases = generated_cases(&text);
    assert!(cases > 0, "schemathesis ran no case:\n{text}");
    std::fs::write(artifacts().join("schemathesis-cases.txt"), format!("{cases}\n")).unwrap();
    drop(own);
}

/// The cases schemathesis generated, from its summary (`Test cases:` then `1950 generated, ...`).
fn generated_cases(summary: &str) -> usize {
    let line = summary.lines().find(|line| line.contains(" generated, ")).unwrap_or("");
    line.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// Two browser sessions of the web client on the shared stack: sign up, befriend, chat live
/// both ways, a reload keeps the history; the screenshot of the conversation is an artifact.
#[tokio::test]
async fn two_browsers_chat_through_the_web_client() {
    let script = tool("web/test/browser.mjs");
    tool("web/node_modules/playwright-core");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(std::path::Path::new(&chromium).exists(), "{chromium} is missing: run `make test`, which installs it");
    let screenshot = artifacts().join("web-chat.png");
    let _ = std::fs::remove_file(&screenshot);
    let url = format!("{}/app/", stack().http);
    let target = screenshot.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .env("IM_WEB_URL", url)
            .env("IM_SCREENSHOT", target)
            .env("CHROMIUM", chromium)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the browser test failed:\n{text}");
    let png = std::fs::read(&screenshot).expect("the screenshot is saved");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "not a real screenshot ({} bytes)", png.len());
}
