//! The groups table (`pk`, `sk`): `group#<id>`,`#info` (name, creator, g_key, `members`: how
//! many, kept in the same transaction as each join and leave so the cap holds under races);
//! `group#<id>`,`member#<user>`; `member#<user>`,`group#<id>` (a user's groups);
//! `create#<creator>#<client id>`,`#`: the group a `POST /group` with that id made (retries
//! resume it instead of making another).

use super::streams::{self, NewEntry};
use super::{
    aws, batch_get, batch_write, from_item, lost_condition, malformed, n, query_all, s, to_item, transact, Item, Result,
};
use crate::domain::entry::{Body, Entry};
use crate::domain::ids::{ConversationId, GroupId, UserId};
use crate::domain::notice::Notice;
use crate::domain::now_secs;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{Delete, DeleteRequest, Put, PutRequest, TransactWriteItem, Update, WriteRequest};
use im_adapters::Clients;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A group's own record.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Info {
    pub name: String,
    pub creator: UserId,
    pub g_key: String,
    /// The client id of the `POST /group` that made it: deleting the group deletes that
    /// creation's claim, so a retry cannot bring the group back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// What a `POST /group` with a client id claimed: the group, and the members it was asked
/// for (a resumed creation adds these, not what the retry asks).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Creation {
    pub group: GroupId,
    /// None on claims from before they were recorded.
    #[serde(default)]
    pub members: Vec<UserId>,
}

#[derive(Serialize)]
struct InfoItem<'a> {
    pk: String,
    sk: &'static str,
    #[serde(flatten)]
    info: &'a Info,
    created_at: u64,
    members: usize,
}

pub(super) fn group_key(group: GroupId) -> String {
    ConversationId::Group(group).to_string()
}

fn info_key(group: GroupId) -> Item {
    Item::from([("pk".to_string(), s(group_key(group))), ("sk".to_string(), s("#info"))])
}

/// A group's record; `None` when there is no such group.
pub async fn info(clients: &Clients, group: GroupId) -> Result<Option<Info>> {
    let get = clients.dynamodb.get_item().table_name(&clients.config.tables.groups);
    let out = get.set_key(Some(info_key(group))).consistent_read(true).send().await.map_err(aws)?;
    out.item.map(from_item).transpose()
}

/// The records of `groups` that exist, in their order: one BatchGetItem per 100 groups.
pub async fn infos(clients: &Clients, groups: &[GroupId]) -> Result<Vec<(GroupId, Info)>> {
    #[derive(Deserialize)]
    struct Stored {
        pk: String,
        #[serde(flatten)]
        info: Info,
    }
    let keys = groups.iter().map(|g| info_key(*g)).collect();
    let mut found: HashMap<String, Info> = HashMap::new();
    for item in batch_get(clients, &clients.config.tables.groups, keys, true).await? {
        let stored: Stored = from_item(item)?;
        found.insert(stored.pk, stored.info);
    }
    Ok(groups.iter().filter_map(|g| found.remove(&group_key(*g)).map(|info| (*g, info))).collect())
}

/// Writes a new group's record for its first `members`, never over an existing one: `false`
/// when the group exists already (a resumed creation).
pub async fn create(clients: &Clients, group: GroupId, info: &Info, members: usize) -> Result<bool> {
    let item = InfoItem { pk: group_key(group), sk: "#info", info, created_at: now_secs(), members };
    let put = clients.dynamodb.put_item().table_name(&clients.config.tables.groups).set_item(Some(to_item(&item)?));
    match put.condition_expression("attribute_not_exists(pk)").send().await {
        Ok(_) => Ok(true),
        Err(err) if lost_condition(&err) => Ok(false),
        Err(err) => Err(aws(err)),
    }
}

fn creation_key(creator: UserId, client_id: &str) -> Item {
    Item::from([("pk".to_string(), s(format!("create#{creator}#{client_id}"))), ("sk".to_string(), s("#"))])
}

/// The creation a creator's `POST /group` with this client id claimed, if any.
pub async fn created_by(clients: &Clients, creator: UserId, client_id: &str) -> Result<Option<Creation>> {
    let get = clients.dynamodb.get_item().table_name(&clients.config.tables.groups);
    let out = get.set_key(Some(creation_key(creator, client_id))).consistent_read(true).send().await.map_err(aws)?;
    out.item.map(from_item::<Creation>).transpose()
}

/// Claims a creation for a creator's client id; when a racing retry claimed first, its claim.
pub async fn claim_creation(
    clients: &Clients,
    creator: UserId,
    client_id: &str,
    creation: &Creation,
) -> Result<Creation> {
    let mut item = to_item(creation)?;
    item.extend(creation_key(creator, client_id));
    let put = clients.dynamodb.put_item().table_name(&clients.config.tables.groups).set_item(Some(item));
    match put.condition_expression("attribute_not_exists(pk)").send().await {
        Ok(_) => Ok(creation.clone()),
        Err(err) if lost_condition(&err) => {
            Ok(created_by(clients, creator, client_id).await?.unwrap_or(creation.clone()))
        }
        Err(err) => Err(aws(err)),
    }
}

/// Removes the claim of the creation that made a group, then the group's record.
pub async fn delete(clients: &Clients, group: GroupId, info: &Info) -> Result<()> {
    let table = &clients.config.tables.groups;
    if let Some(client_id) = &info.client_id {
        let delete = clients.dynamodb.delete_item().table_name(table);
        delete.set_key(Some(creation_key(info.creator, client_id))).send().await.map_err(aws)?;
    }
    let delete = clients.dynamodb.delete_item().table_name(table);
    delete.set_key(Some(info_key(group))).send().await.map_err(aws)?;
    Ok(())
}

/// Gives a group a new join key (the group must exist).
pub async fn set_key(clients: &Clients, group: GroupId, key: &str) -> Result<()> {
    let update =
        clients.dynamodb.update_item().table_name(&clients.config.tables.groups).set_key(Some(info_key(group)));
    let update = update.update_expression("SET g_key = :key").expression_attribute_values(":key", s(key));
    update.condition_expression("attribute_exists(pk)").send().await.map_err(aws)?;
    Ok(())
}

/// Gives an existing group to a new creator (its creator's account is being deleted).
pub async fn pass(clients: &Clients, group: GroupId, to: UserId) -> Result<()> {
    let update =
        clients.dynamodb.update_item().table_name(&clients.config.tables.groups).set_key(Some(info_key(group)));
    let update = update.update_expression("SET creator = :to").expression_attribute_values(":to", n(to));
    update.condition_expression("attribute_exists(pk)").send().await.map_err(aws)?;
    Ok(())
}

/// A Query of the items of one partition of the groups table whose sort keys start with
/// `prefix` (eventually consistent unless the caller asks).
pub(super) fn under(clients: &Clients, pk: &str, prefix: &str) -> QueryFluentBuilder {
    clients
        .dynamodb
        .query()
        .table_name(&clients.config.tables.groups)
        .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
        .expression_attribute_values(":pk", s(pk))
        .expression_attribute_values(":prefix", s(prefix))
}

/// The numbers after `prefix` in the sort keys of one partition (a consistent Query).
async fn ids_under<Id: std::str::FromStr>(clients: &Clients, pk: String, prefix: &str) -> Result<Vec<Id>> {
    let query = under(clients, &pk, prefix).consistent_read(true);
    #[derive(Deserialize)]
    struct Row {
        sk: String,
    }
    let rows = query_all(query).await?.into_iter().map(from_item::<Row>).collect::<Result<Vec<_>>>()?;
    Ok(rows.iter().filter_map(|r| r.sk.strip_prefix(prefix)?.parse().ok()).collect())
}

/// A group's members (a Query on the group's partition).
pub async fn members(clients: &Clients, group: GroupId) -> Result<Vec<UserId>> {
    ids_under(clients, group_key(group), "member#").await
}

/// The groups a user belongs to.
pub async fn groups_of(clients: &Clients, user: UserId) -> Result<Vec<GroupId>> {
    ids_under(clients, format!("member#{user}"), "group#").await
}

/// The two membership items of a user in a group: under the group, and under the user.
fn membership_keys(group: GroupId, user: UserId) -> [(String, String); 2] {
    [(group_key(group), format!("member#{user}")), (format!("member#{user}"), group_key(group))]
}

/// Adds one member if the group exists, has fewer than `max` members and does not hold them
/// already: the count, both membership items and the group's notice of it (`notice`, appended
/// to the group's conversation) in one transaction. `None` when refused or raced: read again.
pub async fn join(
    clients: &Clients,
    group: GroupId,
    user: UserId,
    max: usize,
    notice: &Notice,
) -> Result<Option<Entry>> {
    change_membership(clients, group, user, Some(max), notice).await
}

/// Removes one member, with the group's notice of it, in one transaction; `None` when they
/// were not one, or raced.
pub async fn leave(clients: &Clients, group: GroupId, user: UserId, notice: &Notice) -> Result<Option<Entry>> {
    change_membership(clients, group, user, None, notice).await
}

async fn change_membership(
    clients: &Clients,
    group: GroupId,
    user: UserId,
    join_under: Option<usize>,
    notice: &Notice,
) -> Result<Option<Entry>> {
    let table = &clients.config.tables.groups;
    let count =
        Update::builder().table_name(table).set_key(Some(info_key(group))).expression_attribute_names("#m", "members");
    let count = match join_under {
        Some(max) => count
            .update_expression("ADD #m :one")
            .condition_expression("attribute_exists(pk) AND (attribute_not_exists(#m) OR #m < :max)")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(max)),
        None => count
            .update_expression("ADD #m :minus")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":minus", n(-1)),
    };
    let mut writes = vec![TransactWriteItem::builder().update(count.build().map_err(malformed)?).build()];
    for (pk, sk) in membership_keys(group, user) {
        let write = if join_under.is_some() {
            let put =
                Put::builder().table_name(table).item("pk", s(pk)).item("sk", s(sk)).item("joined_at", n(now_secs()));
            TransactWriteItem::builder()
                .put(put.condition_expression("attribute_not_exists(pk)").build().map_err(malformed)?)
        } else {
            let delete = Delete::builder().table_name(table).key("pk", s(pk)).key("sk", s(sk));
            TransactWriteItem::builder()
                .delete(delete.condition_expression("attribute_exists(pk)").build().map_err(malformed)?)
        };
        writes.push(write.build());
    }
    let conversation = ConversationId::Group(group);
    let seen = streams::head(clients, conversation).await?;
    let body = Body::Notice(notice.clone());
    let entry = NewEntry { echo_of: None, body: &body };
    writes.extend(streams::append_writes(&clients.config.tables.conversations, conversation, seen, &entry)?);
    let stored = Entry { conversation, seq: seen + 1, echo_of: None, body };
    Ok(transact(clients, writes).await?.then_some(stored))
}

/// Writes (or deletes) both membership items of each user.
pub async fn write_memberships(clients: &Clients, group: GroupId, users: &[UserId], add: bool) -> Result<()> {
    let table = &clients.config.tables.groups;
    let mut requests = vec![];
    for user in users {
        for (pk, sk) in membership_keys(group, *user) {
            let request = if add {
                let put = PutRequest::builder().item("pk", s(pk)).item("sk", s(sk)).item("joined_at", n(now_secs()));
                WriteRequest::builder().put_request(put.build().map_err(malformed)?).build()
            } else {
                let delete = DeleteRequest::builder().key("pk", s(pk)).key("sk", s(sk));
                WriteRequest::builder().delete_request(delete.build().map_err(malformed)?).build()
            };
            requests.push(request);
        }
    }
    batch_write(clients, table, requests).await
}
