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

/// An endpoint as SNS holds it: whether it is enabled, and its token. `None` when SNS has no
/// such endpoint.
pub async fn endpoint_state(clients: &Clients, endpoint: &str) -> Result<Option<(bool, String)>> {
    use aws_sdk_sns::operation::get_endpoint_attributes::GetEndpointAttributesError;
    let out = match clients.sns.get_endpoint_attributes().endpoint_arn(endpoint).send().await {
        Ok(out) => out,
        Err(err) if matches!(err.as_service_error(), Some(GetEndpointAttributesError::NotFoundException(_))) => {
            return Ok(None)
        }
        Err(err) => return Err(aws(err)),
    };
    let attributes = out.attributes.unwrap_or_default();
    let enabled = attributes.get("Enabled").is_none_or(|on| on == "true");
    Ok(Some((enabled, attributes.get("Token").cloned().unwrap_or_default())))
}

/// Who holds a token, if anyone (one consistent read).
pub async fn token_holder(clients: &Clients, token: &str) -> Result<Option<Holder>> {
    let get = clients.dynamodb.get_item().table_name(&clients.config.tables.users).key("pk", s(token_key(token)));
    let out = get.consistent_read(true).send().await.map_err(aws)?;
    out.item.map(|item| from_item::<HolderItem>(item).map(|h| h.holder)).transpose()
}

/// Deletes an SNS platform endpoint (no error when it is gone already, as SNS answers).
pub async fn delete_endpoint(clients: &Clients, endpoint: &str) -> Result<()> {
    clients.sns.delete_endpoint().endpoint_arn(endpoint).send().await.map_err(aws)?;
    Ok(())
}

/// What a publish to one endpoint came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Published {
    Sent,
    /// SNS will never deliver there again: the endpoint is disabled (the platform refused its
    /// token), gone, or SNS says its token is invalid. The registration goes.
    Gone(String),
}

/// Publishes `message` (`MessageStructure = json`, `Notification::sns_message`) to one
/// platform endpoint.
pub async fn publish(clients: &Clients, endpoint: &str, message: &str) -> Result<Published> {
    use aws_sdk_sns::operation::publish::PublishError;
    let publish = clients.sns.publish().target_arn(endpoint).message_structure("json").message(message);
    let err = match publish.send().await {
        Ok(_) => return Ok(Published::Sent),
        Err(err) => err,
    };
    let why = |e: &dyn aws_sdk_sns::error::ProvideErrorMetadata| e.message().unwrap_or_default().to_string();
    match err.as_service_error() {
        Some(PublishError::EndpointDisabledException(e)) => Ok(Published::Gone(why(e))),
        Some(PublishError::NotFoundException(e)) => Ok(Published::Gone(why(e))),
        // A payload of ours that SNS refuses is our bug and keeps the registration; a token or
        // target it calls invalid does not.
        Some(PublishError::InvalidParameterException(e))
            if ["Token", "TargetArn"].iter().any(|w| why(e).contains(w)) =>
        {
            Ok(Published::Gone(why(e)))
        }
        _ => Err(aws(err)),
    }
}

/// Queues push jobs (a body and the seconds it waits) on the push queue, ten per
/// SendMessageBatch; nothing when the deployment has no queue.
pub async fn enqueue(clients: &Clients, jobs: &[(String, u32)]) -> Result<()> {
    use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
    let Some(queue) = &clients.config.push_queue_url else { return Ok(()) };
    for chunk in jobs.chunks(10) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, (body, delay))| {
                let entry = SendMessageBatchRequestEntry::builder().id(i.to_string()).message_body(body);
                entry.delay_seconds(*delay as i32).build().map_err(super::malformed)
            })
            .collect::<Result<Vec<_>>>()?;
        let sent = clients.sqs.send_message_batch().queue_url(queue).set_entries(Some(entries)).send().await;
        let sent = sent.map_err(aws)?;
        if let Some(failed) = sent.failed().first() {
            return Err(super::StoreError::Aws(format!("SQS refused a push job: {failed:?}")));
        }
    }
    Ok(())
}

/// A user's settings and mutes: `settings#<user>`, the flags ([`Flag`]) and map `mutes` of
/// conversation → until (seconds), read with the registrations by the push worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    #[serde(default = "enabled")]
    pub push_preview: bool,
    #[serde(default = "enabled")]
    pub read_receipts: bool,
    #[serde(default)]
    pub presence: Visibility,
    #[serde(default)]
    pub mutes: HashMap<String, u64>,
}

/// Who sees a user's presence: their friends (the default), or nobody.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    #[default]
    Friends,
    Nobody,
}

impl Visibility {
    pub fn parse(text: &str) -> Option<Visibility> {
        match text {
            "friends" => Some(Visibility::Friends),
            "nobody" => Some(Visibility::Nobody),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Friends => "friends",
            Visibility::Nobody => "nobody",
        }
    }
}

impl Default for Settings {
    /// Every flag on, nothing muted.
    fn default() -> Settings {
        Settings { push_preview: true, read_receipts: true, presence: Visibility::Friends, mutes: HashMap::new() }
    }
}

/// A user's on/off settings, by the attribute that holds each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flag {
    /// A push shows the message's text (else only `New message`).
    PushPreview,
    /// Others hear when this user read (`NOTIFY_READ`).
    ReadReceipts,
}

impl Flag {
    pub fn name(self) -> &'static str {
        match self {
            Flag::PushPreview => "push_preview",
            Flag::ReadReceipts => "read_receipts",
        }
    }
}

impl Settings {
    /// Whether `conversation` is muted at `now` (seconds).
    pub fn muted(&self, conversation: &str, now: u64) -> bool {
        self.mutes.get(conversation).is_some_and(|until| *until > now)
    }
}

fn settings_key(user: UserId) -> String {
    format!("settings#{user}")
}

/// The user's settings (the defaults when never set), read consistently.
pub async fn settings(clients: &Clients, user: UserId) -> Result<Settings> {
    let get = clients.dynamodb.get_item().table_name(&clients.config.tables.users);
    let out = get.key("pk", s(settings_key(user))).consistent_read(true).send().await.map_err(aws)?;
    match out.item {
        Some(item) => from_item(item),
        None => Ok(Settings::default()),
    }
}

/// The settings of each of `users`, in their order (one BatchGetItem per 100; the defaults for
/// a user who never set any).
pub async fn settings_of(clients: &Clients, users: &[UserId]) -> Result<Vec<Settings>> {
    let keys = users.iter().map(|u| HashMap::from([("pk".to_string(), s(settings_key(*u)))])).collect();
    let mut found: HashMap<String, Settings> = HashMap::new();
    for mut item in super::batch_get(clients, &clients.config.tables.users, keys, false).await? {
        let Some(pk) = item.remove("pk").and_then(|pk| pk.as_s().ok().cloned()) else { continue };
        found.insert(pk, from_item(item)?);
    }
    Ok(users.iter().map(|u| found.remove(&settings_key(*u)).unwrap_or_default()).collect())
}

/// Sets who sees the user's presence.
pub async fn set_presence(clients: &Clients, user: UserId, visibility: Visibility) -> Result<()> {
    let update = clients.dynamodb.update_item().table_name(&clients.config.tables.users);
    let update = update.key("pk", s(settings_key(user))).update_expression("SET presence = :v");
    update.expression_attribute_values(":v", s(visibility.as_str())).send().await.map_err(aws)?;
    Ok(())
}

/// Sets one flag.
pub async fn set_flag(clients: &Clients, user: UserId, flag: Flag, on: bool) -> Result<()> {
    let update = clients.dynamodb.update_item().table_name(&clients.config.tables.users);
    let update = update.key("pk", s(settings_key(user))).update_expression("SET #flag = :on");
    update
        .expression_attribute_names("#flag", flag.name())
        .expression_attribute_values(":on", aws_sdk_dynamodb::types::AttributeValue::Bool(on))
        .send()
        .await
        .map_err(aws)?;
    Ok(())
}

/// Mutes a conversation until `until` (seconds); 0 unmutes it (nothing to do when the user
/// never muted anything: DynamoDB refuses a path into a map that is not there).
pub async fn set_mute(clients: &Clients, user: UserId, conversation: &str, until: u64) -> Result<()> {
    let (table, key) = (&clients.config.tables.users, settings_key(user));
    if until > 0 {
        return put_in_map(clients, table, &key, ("mutes", conversation), super::n(until)).await;
    }
    let update = clients.dynamodb.update_item().table_name(table).key("pk", s(key));
    let update = update.update_expression("REMOVE #mutes.#c").condition_expression("attribute_exists(#mutes)");
    let update = update.expression_attribute_names("#mutes", "mutes").expression_attribute_names("#c", conversation);
    match update.send().await {
        Ok(_) => Ok(()),
        Err(err) if super::lost_condition(&err) => Ok(()),
        Err(err) => Err(aws(err)),
    }
}
