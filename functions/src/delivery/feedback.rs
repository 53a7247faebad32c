//! SNS's word on push endpoints. A platform that refuses a token for good (APNs
//! `BadDeviceToken`, FCM `UNREGISTERED`) does so after SNS accepted the `Publish`: SNS then
//! disables the endpoint and tells the platform application's `EventDeliveryFailure` topic.
//! The `push_feedback` function, subscribed to that topic, removes the registration at once, so
//! an uninstalled app costs one push, and `GET /device/push` stops listing it, without waiting
//! for the next message's `Publish` to be refused (`push::deliver` still handles that too).

use super::push::forget;
use crate::store::{self, Backend};
use serde_json::Value;

/// The SNS event of the topic: each record's message names an endpoint. An error makes Lambda
/// retry the event.
pub async fn run(backend: &impl Backend, event: Value) -> Result<Value, String> {
    for record in event["Records"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let message = record["Sns"]["Message"].as_str().unwrap_or_default();
        let message: Value = serde_json::from_str(message).unwrap_or_default();
        let Some(endpoint) = message["EndpointArn"].as_str() else {
            tracing::warn!("an SNS event without an EndpointArn was ignored");
            continue;
        };
        endpoint_failed(backend, endpoint).await.map_err(|e| e.to_string())?;
    }
    Ok(Value::Null)
}

/// Removes the registration behind an endpoint SNS disabled, and the endpoint. Nothing when
/// SNS has it enabled again (registered anew since) or no registration holds it any more.
pub async fn endpoint_failed(backend: &impl Backend, endpoint: &str) -> store::Result<()> {
    let Some((false, token)) = backend.push_endpoint_state(endpoint).await? else { return Ok(()) };
    let Some(holder) = backend.push_token_holder(&token).await? else { return Ok(()) };
    let registrations = backend.registrations(holder.user_id).await?;
    let held = registrations.iter().find(|r| r.device == holder.device && r.endpoint == endpoint);
    let Some(registration) = held else { return Ok(()) };
    tracing::info!(device = %registration.device, "SNS disabled a push endpoint: registration removed");
    forget(backend, holder.user_id, registration).await?;
    backend.delete_push_endpoint(endpoint).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::UserId;
    use crate::domain::push::Platform;
    use crate::store::memory::Memory;
    use serde_json::json;

    fn event(endpoint: &str) -> Value {
        let message = json!({ "EndpointArn": endpoint, "EventType": "DeliveryFailure" }).to_string();
        json!({ "Records": [{ "EventSource": "aws:sns", "Sns": { "Message": message } }] })
    }

    #[tokio::test]
    async fn a_disabled_endpoint_loses_its_registration_and_an_enabled_one_keeps_it() {
        let memory = Memory::default();
        memory.user(2, None);
        let at = (UserId(2), "android~p", "s2");
        let registration = crate::service::push::register(&memory, at, Platform::Fcm, "tok").await.unwrap();
        run(&memory, event(&registration.endpoint)).await.unwrap();
        assert_eq!(memory.state().push[&UserId(2)].len(), 1, "still enabled: kept");
        memory.state().gone_endpoints.insert(registration.endpoint.clone());
        run(&memory, event(&registration.endpoint)).await.unwrap();
        assert!(memory.state().push.get(&UserId(2)).is_none_or(|r| r.is_empty()), "disabled: removed");
        assert!(memory.state().deleted_endpoints.contains(&registration.endpoint));
        run(&memory, event(&registration.endpoint)).await.unwrap();
    }
}
