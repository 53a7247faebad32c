//! The users table: `user#<id>` (the profile and the password hash), `phone#<phone>` and
//! `email#<email>` (uniqueness claims pointing at the id, written in the same transaction as
//! the profile), `counter#<name>` (id sequences). Sessions live here too (see `sessions`).

use super::ports::UserStore;
use super::{aws, batch_get, from_item, malformed, n, pk, s, to_item, Claim, Item, Result, StoreError};
use crate::domain::ids::UserId;
use crate::domain::names::LoginName;
use crate::domain::now_secs;
use crate::domain::user::{Profile, ProfileChange};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, ReturnValue, TransactWriteItem};
use im_adapters::Clients;
use serde::Deserialize;
use std::collections::HashMap;

fn user_key(id: UserId) -> String {
    format!("user#{id}")
}

/// The claim that finds a user by a name they go by: `phone#<phone>`, `email#<email>`.
pub(super) fn claim_key(name: &LoginName) -> String {
    match name {
        LoginName::Phone(phone) => format!("phone#{}", phone.as_str()),
        LoginName::Email(email) => format!("email#{}", email.as_str()),
    }
}

/// The claims a new profile makes, in a fixed order (phone, email).
pub(super) fn claims_of(profile: &Profile) -> Vec<(Claim, String)> {
    let phone = profile.phone.clone().map(|p| (Claim::Phone, claim_key(&LoginName::Phone(p))));
    let email = profile.email.clone().map(|e| (Claim::Email, claim_key(&LoginName::Email(e))));
    phone.into_iter().chain(email).collect()
}

/// Stores a new user under a fresh id. Phone and email are claimed in the same transaction as
/// the profile, so two sign-ups with one phone can never both succeed.
pub async fn insert(clients: &Clients, profile: &Profile, password_hash: String) -> Result<UserId> {
    let id = UserId(next_id(clients, "counter#users").await?);
    let table = &clients.config.tables.users;
    let mut item = to_item(&Profile { id, ..profile.clone() })?;
    item.insert("pk".into(), s(user_key(id)));
    item.insert("password_hash".into(), s(password_hash));
    item.insert("created_at".into(), n(now_secs()));
    let put = |item: Item| {
        let put =
            Put::builder().table_name(table).set_item(Some(item)).condition_expression("attribute_not_exists(pk)");
        Ok::<_, StoreError>(TransactWriteItem::builder().put(put.build().map_err(malformed)?).build())
    };
    let claim = |key: String| put(Item::from([("pk".into(), s(key)), ("user_id".into(), n(id))]));
    // Claims in a fixed order, so a cancellation reason's index names the taken claim.
    let claims =
        claims_of(profile).into_iter().map(|(kind, key)| Ok((kind, claim(key)?))).collect::<Result<Vec<_>>>()?;
    let mut writes = vec![put(item)?];
    writes.extend(claims.iter().map(|(_, w)| w.clone()));
    let written = clients.dynamodb.transact_write_items().set_transact_items(Some(writes)).send().await;
    if let Err(err) = written {
        let taken = match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(c)) => c
                .cancellation_reasons()
                .iter()
                .skip(1)
                .position(|r| r.code() == Some("ConditionalCheckFailed"))
                .map(|i| claims[i].0),
            _ => None,
        };
        return Err(match taken {
            Some(claim) => StoreError::Taken(claim),
            None => aws(err),
        });
    }
    Ok(id)
}

/// Deletes an account's own items in one transaction: the profile with its password hash, its
/// phone and email claims (each only while it is still theirs), its sessions list and any reset
/// code. The phone and email are free to sign up again; the id is never given again.
pub async fn erase(clients: &Clients, profile: &Profile) -> Result<()> {
    let table = &clients.config.tables.users;
    let own = [user_key(profile.id), super::sessions::index_key(profile.id), super::resets::key(profile.id)];
    let delete = |key: String, claim: bool| {
        let delete = Delete::builder().table_name(table).key("pk", s(key));
        let delete = match claim {
            true => delete
                .condition_expression("attribute_not_exists(pk) OR user_id = :id")
                .expression_attribute_values(":id", n(profile.id)),
            false => delete,
        };
        Ok::<_, StoreError>(TransactWriteItem::builder().delete(delete.build().map_err(malformed)?).build())
    };
    let mut deletes = own.into_iter().map(|key| delete(key, false)).collect::<Result<Vec<_>>>()?;
    for (_, key) in claims_of(profile) {
        deletes.push(delete(key, true)?);
    }
    clients.dynamodb.transact_write_items().set_transact_items(Some(deletes)).send().await.map_err(aws)?;
    Ok(())
}

/// Draws the next number of a counter item (`counter#users`, `counter#requests`,
/// `counter#groups`). A failed write after it leaves a gap: ids are unique, not dense.
pub async fn next_id(clients: &Clients, counter: &str) -> Result<u64> {
    increment(clients, counter, "value", None).await
}

/// Adds 1 to the number `attribute` of the item `key` (created at 1) and returns it; with
/// `expires_at`, the item also gets that TTL. One atomic UpdateItem: ids and rate-limit counts.
pub async fn increment(clients: &Clients, key: &str, attribute: &str, expires_at: Option<u64>) -> Result<u64> {
    add(clients, key, attribute, 1, expires_at).await
}

/// Adds `by` (negative: takes away) to a counter; the count after it (never below 0).
pub async fn add(clients: &Clients, key: &str, attribute: &str, by: i64, expires_at: Option<u64>) -> Result<u64> {
    let mut update = clients
        .dynamodb
        .update_item()
        .table_name(&clients.config.tables.users)
        .key("pk", s(key))
        .update_expression("ADD #v :one")
        .expression_attribute_names("#v", attribute)
        .expression_attribute_values(":one", AttributeValue::N(by.to_string()))
        .return_values(ReturnValue::UpdatedNew);
    if let Some(at) = expires_at {
        update = update
            .update_expression("ADD #v :one SET expires_at = :expires")
            .expression_attribute_values(":expires", n(at));
    }
    let out = update.send().await.map_err(aws)?;
    let counted = out.attributes.as_ref().and_then(|a| a.get(attribute)).and_then(|v| v.as_n().ok());
    let counted: i64 = counted.and_then(|v| v.parse().ok()).ok_or_else(|| malformed("a counter without its number"))?;
    Ok(counted.max(0) as u64)
}

async fn get(clients: &Clients, key: String) -> Result<Option<Item>> {
    let out = clients
        .dynamodb
        .get_item()
        .table_name(&clients.config.tables.users)
        .key("pk", s(key))
        .send()
        .await
        .map_err(aws)?;
    Ok(out.item)
}

/// A profile by id; `None` when there is no such user.
pub async fn profile(clients: &Clients, id: UserId) -> Result<Option<Profile>> {
    get(clients, user_key(id)).await?.map(from_item).transpose()
}

/// Profiles of many users (BatchGetItem, 100 ids a call); unknown ids are left out.
pub async fn profiles(clients: &Clients, ids: &[UserId]) -> Result<HashMap<UserId, Profile>> {
    let mut unique = ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    let keys = unique.iter().map(|id| pk(user_key(*id))).collect();
    let items = batch_get(clients, &clients.config.tables.users, keys, false).await?;
    items.into_iter().map(|item| from_item::<Profile>(item).map(|p| (p.id, p))).collect()
}

/// The user who goes by `name`, following its claim.
pub async fn claimed_by(clients: &Clients, name: &LoginName) -> Result<Option<UserId>> {
    #[derive(Deserialize)]
    struct ClaimItem {
        user_id: UserId,
    }
    Ok(get(clients, claim_key(name)).await?.map(from_item::<ClaimItem>).transpose()?.map(|c| c.user_id))
}

/// The stored password hash of a user.
pub async fn password_hash(clients: &Clients, id: UserId) -> Result<Option<String>> {
    #[derive(Deserialize)]
    struct Secret {
        password_hash: String,
    }
    Ok(get(clients, user_key(id)).await?.map(from_item::<Secret>).transpose()?.map(|s| s.password_hash))
}

/// Replaces a user's password hash.
pub async fn set_password_hash(clients: &Clients, id: UserId, hash: String) -> Result<()> {
    let update = clients.dynamodb.update_item().table_name(&clients.config.tables.users).key("pk", s(user_key(id)));
    let update = update.update_expression("SET password_hash = :h").condition_expression("attribute_exists(pk)");
    update.expression_attribute_values(":h", s(hash)).send().await.map_err(aws)?;
    Ok(())
}

/// Sets the fields a partial update gives, on an existing user only: one UpdateItem, so two
/// updates of different fields never undo each other. The profile as it now stands; `None`:
/// no such user.
pub async fn update_profile(clients: &Clients, id: UserId, change: &ProfileChange) -> Result<Option<Profile>> {
    let mut update = clients
        .dynamodb
        .update_item()
        .table_name(&clients.config.tables.users)
        .key("pk", s(user_key(id)))
        .condition_expression("attribute_exists(pk)")
        .return_values(ReturnValue::AllNew);
    let mut sets = vec![];
    for (i, (name, value)) in change.attributes().into_iter().enumerate() {
        sets.push(format!("#f{i} = :v{i}"));
        let value: AttributeValue = serde_dynamo::to_attribute_value(value).map_err(malformed)?;
        update = update
            .expression_attribute_names(format!("#f{i}"), name)
            .expression_attribute_values(format!(":v{i}"), value);
    }
    if sets.is_empty() {
        return profile(clients, id).await;
    }
    match update.update_expression(format!("SET {}", sets.join(", "))).send().await {
        Ok(out) => out.attributes.map(from_item).transpose(),
        Err(err) if super::lost_condition(&err) => Ok(None),
        Err(err) => Err(aws(err)),
    }
}

impl UserStore for Clients {
    async fn profile(&self, id: UserId) -> Result<Option<Profile>> {
        profile(self, id).await
    }
    async fn profiles(&self, ids: &[UserId]) -> Result<HashMap<UserId, Profile>> {
        profiles(self, ids).await
    }
    async fn insert_user(&self, profile: &Profile, password_hash: String) -> Result<UserId> {
        insert(self, profile, password_hash).await
    }
    async fn next_id(&self, counter: &str) -> Result<u64> {
        next_id(self, counter).await
    }
    async fn claimed_by(&self, name: &LoginName) -> Result<Option<UserId>> {
        claimed_by(self, name).await
    }
    async fn password_hash(&self, id: UserId) -> Result<Option<String>> {
        password_hash(self, id).await
    }
    async fn set_password_hash(&self, id: UserId, hash: String) -> Result<()> {
        set_password_hash(self, id, hash).await
    }
    async fn update_profile(&self, id: UserId, change: &ProfileChange) -> Result<Option<Profile>> {
        update_profile(self, id, change).await
    }
    async fn erase_user(&self, profile: &Profile) -> Result<()> {
        erase(self, profile).await
    }
}
