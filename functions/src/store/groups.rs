//! The groups table (`pk`, `sk`): `group#<id>`,`#info` (name, creator, g_key);
//! `group#<id>`,`member#<user>`; `member#<user>`,`group#<id>` (a user's groups).

use super::{aws, from_item, malformed, n, query_all, s, to_item, Item, Result};
use crate::domain::ids::ConversationId;
use crate::domain::now_secs;
use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
use im_adapters::Clients;
use serde::{Deserialize, Serialize};

/// A group's own record.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Info {
    pub name: String,
    pub creator: u64,
    pub g_key: String,
}

#[derive(Serialize)]
struct InfoItem<'a> {
    pk: String,
    sk: &'static str,
    #[serde(flatten)]
    info: &'a Info,
    created_at: u64,
}

fn group_key(group: u64) -> String {
    ConversationId::Group(group).to_string()
}

fn info_key(group: u64) -> Item {
    Item::from([("pk".to_string(), s(group_key(group))), ("sk".to_string(), s("#info"))])
}

/// A group's record; `None` when there is no such group.
pub async fn info(clients: &Clients, group: u64) -> Result<Option<Info>> {
    let get = clients.dynamodb.get_item().table_name(&clients.config.tables.groups);
    let out = get.set_key(Some(info_key(group))).consistent_read(true).send().await.map_err(aws)?;
    out.item.map(from_item).transpose()
}

/// Writes a new group's record (never over an existing one).
pub async fn create(clients: &Clients, group: u64, info: &Info) -> Result<()> {
    let item = InfoItem { pk: group_key(group), sk: "#info", info, created_at: now_secs() };
    let put = clients.dynamodb.put_item().table_name(&clients.config.tables.groups).set_item(Some(to_item(&item)?));
    put.condition_expression("attribute_not_exists(pk)").send().await.map_err(aws)?;
    Ok(())
}

/// Removes a group's record.
pub async fn delete(clients: &Clients, group: u64) -> Result<()> {
    let delete = clients.dynamodb.delete_item().table_name(&clients.config.tables.groups);
    delete.set_key(Some(info_key(group))).send().await.map_err(aws)?;
    Ok(())
}

/// The numbers after `prefix` in the sort keys of one partition (a consistent Query).
async fn ids_under(clients: &Clients, pk: String, prefix: &str) -> Result<Vec<u64>> {
    let query = clients
        .dynamodb
        .query()
        .table_name(&clients.config.tables.groups)
        .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
        .expression_attribute_values(":pk", s(&pk))
        .expression_attribute_values(":prefix", s(prefix))
        .consistent_read(true);
    #[derive(Deserialize)]
    struct Row {
        sk: String,
    }
    let rows = query_all(query).await?.into_iter().map(from_item::<Row>).collect::<Result<Vec<_>>>()?;
    Ok(rows.iter().filter_map(|r| r.sk.strip_prefix(prefix)?.parse().ok()).collect())
}

/// A group's members (a Query on the group's partition).
pub async fn members(clients: &Clients, group: u64) -> Result<Vec<u64>> {
    ids_under(clients, group_key(group), "member#").await
}

/// The groups a user belongs to.
pub async fn groups_of(clients: &Clients, user: u64) -> Result<Vec<u64>> {
    ids_under(clients, format!("member#{user}"), "group#").await
}

/// Writes (or deletes) both membership items of each user, 25 requests per BatchWriteItem.
pub async fn write_memberships(clients: &Clients, group: u64, users: &[u64], add: bool) -> Result<()> {
    let table = &clients.config.tables.groups;
    let mut requests = vec![];
    for user in users {
        for (pk, sk) in [(group_key(group), format!("member#{user}")), (format!("member#{user}"), group_key(group))] {
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
    for chunk in requests.chunks(25) {
        let mut pending = chunk.to_vec();
        while !pending.is_empty() {
            let write = clients.dynamodb.batch_write_item().request_items(table, pending);
            let out = write.send().await.map_err(aws)?;
            pending = out.unprocessed_items.unwrap_or_default().remove(table).unwrap_or_default();
        }
    }
    Ok(())
}
