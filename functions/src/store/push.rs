//! Push registrations in the users table, and the SNS calls behind them.
//! - `push#<user>`: map `r` of that user's registrations by device key (platform, token, SNS
//!   endpoint, enabled): every device of a user in one read, as a push needs them.
//! - `pushtoken#<sha256(token)>`: the registration holding a token (user, device), so a token
//!   registered again by another device (another user's, or a new login on the same phone) is
//!   taken from the one that held it: a phone never gets a push twice.

use super::{aws, from_item, put_in_map, remove_from_map, s, to_item, Result};
use crate::domain::ids::UserId;
use crate::domain::push::{Platform, Registration};
use aws_sdk_dynamodb::types::ReturnValue;
use im_adapters::Clients;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

fn registrations_key(user: UserId) -> String {
    format!("push#{user}")
}

fn token_key(token: &str) -> String {
    format!("pushtoken#{}", hex::encode(Sha256::digest(token.as_bytes())))
}

/// Who holds a token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub user_id: UserId,
    pub device: String,
}

#[derive(Serialize, Deserialize)]
struct HolderItem {
    pk: String,
    #[serde(flatten)]
    holder: Holder,
}

/// One registration as the user's map holds it.
#[derive(Serialize, Deserialize)]
struct Stored {
    p: Platform,
    t: String,
    e: String,
    #[serde(default = "enabled")]
    on: bool,
    #[serde(default)]
    s: String,
}

fn enabled() -> bool {
    true
}

#[derive(Deserialize)]
struct RegistrationsItem {
    #[serde(default)]
    r: HashMap<String, Stored>,
}

/// The user's registrations, by device (one consistent read).
pub async fn registrations(clients: &Clients, user: UserId) -> Result<Vec<Registration>> {
    let get = clients.dynamodb.get_item().table_name(&clients.config.tables.users);
    let out = get.key("pk", s(registrations_key(user))).consistent_read(true).send().await.map_err(aws)?;
    let Some(item) = out.item else { return Ok(vec![]) };
    let mut found: Vec<Registration> = from_item::<RegistrationsItem>(item)?
        .r
        .into_iter()
        .map(|(device, r)| Registration {
            device,
            platform: r.p,
            token: r.t,
            endpoint: r.e,
            enabled: r.on,
            session: r.s,
        })
        .collect();
    found.sort_by(|a, b| a.device.cmp(&b.device));
    Ok(found)
}

/// Writes `registration` as its device's (replacing the one before).
pub async fn put_registration(clients: &Clients, user: UserId, registration: &Registration) -> Result<()> {
    let stored = Stored {
        p: registration.platform,
        t: registration.token.clone(),
        e: registration.endpoint.clone(),
        on: registration.enabled,
        s: registration.session.clone(),
    };
    let entry = serde_dynamo::to_attribute_value(&stored).map_err(super::malformed)?;
    let key = registrations_key(user);
    put_in_map(clients, &clients.config.tables.users, &key, ("r", &registration.device), entry).await
}

/// Removes the registrations of `devices` (absent ones are no error).
pub async fn remove_registrations(clients: &Clients, user: UserId, devices: &[String]) -> Result<()> {
    remove_from_map(clients, &clients.config.tables.users, &registrations_key(user), "r", devices).await
}

/// Makes `holder` the token's holder; the one it replaces, if any.
pub async fn claim_token(clients: &Clients, token: &str, holder: &Holder) -> Result<Option<Holder>> {
    let item = to_item(&HolderItem { pk: token_key(token), holder: holder.clone() })?;
    let put = clients.dynamodb.put_item().table_name(&clients.config.tables.users).set_item(Some(item));
    let out = put.return_values(ReturnValue::AllOld).send().await.map_err(aws)?;
    out.attributes.map(|old| from_item::<HolderItem>(old).map(|h| h.holder)).transpose()
}

/// Lets the token go if `holder` still holds it; whether it did.
pub async fn release_token(clients: &Clients, token: &str, holder: &Holder) -> Result<bool> {
    let delete = clients.dynamodb.delete_item().table_name(&clients.config.tables.users).key("pk", s(token_key(token)));
    let delete = delete
        .condition_expression("user_id = :user AND device = :device")
        .expression_attribute_values(":user", super::n(holder.user_id.0))
        .expression_attribute_values(":device", s(&holder.device));
    match delete.send().await {
        Ok(_) => Ok(true),
        Err(err) if super::lost_condition(&err) => Ok(false),
        Err(err) => Err(aws(err)),
    }
}

/// The SNS platform endpoint of `token` under `application`: created, or the one SNS has for
/// that token already (CreatePlatformEndpoint is idempotent for the same token), then enabled
/// with the token set, as AWS advises for a token registered again (SNS may have disabled it).
pub async fn endpoint_for(clients: &Clients, application: &str, token: &str) -> Result<String> {
    let created = clients.sns.create_platform_endpoint().platform_application_arn(application).token(token);
    let endpoint = created.send().await.map_err(aws)?.endpoint_arn.ok_or_else(|| super::malformed("no endpoint"))?;
    let enable = clients.sns.set_endpoint_attributes().endpoint_arn(&endpoint);
    enable.attributes("Enabled", "true").attributes("Token", token).send().await.map_err(aws)?;
    Ok(endpoint)
}

/// Deletes an SNS platform endpoint (no error when it is gone already, as SNS answers).
pub async fn delete_endpoint(clients: &Clients, endpoint: &str) -> Result<()> {
    clients.sns.delete_endpoint().endpoint_arn(endpoint).send().await.map_err(aws)?;
    Ok(())
}
