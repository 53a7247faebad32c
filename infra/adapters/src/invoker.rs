//! Asynchronous Lambda invocations (`InvocationType=Event`): Lambda queues the event durably,
//! answers 202 at once, runs the function later and retries a failed run (twice by default).
//! The fan-out worker is handed its deliveries this way.

use aws_sdk_lambda as lambda;
use aws_smithy_types::Blob;

#[derive(Clone)]
pub struct Invoker {
    client: lambda::Client,
}

impl Invoker {
    pub fn new(client: lambda::Client) -> Self {
        Invoker { client }
    }

    /// Queues `payload` for `function`; `Err` says why Lambda did not take it.
    pub async fn queue(&self, function: &str, payload: Vec<u8>) -> Result<(), String> {
        let sent = self
            .client
            .invoke()
            .function_name(function)
            .invocation_type(lambda::types::InvocationType::Event)
            .payload(Blob::new(payload))
            .send()
            .await;
        match sent {
            Ok(out) if out.status_code() == 202 => Ok(()),
            Ok(out) => Err(format!("Lambda answered {} to an asynchronous invocation", out.status_code())),
            Err(err) => Err(lambda::error::DisplayErrorContext(err).to_string()),
        }
    }
}
