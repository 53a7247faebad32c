//! Each group's push-registered devices, beside its live connections (`store::live`):
//! `group#<id>`, `push#<user>#<device key>`, one small item a device. A send to a group reads
//! them with one eventually consistent Query, as it reads the live connections, instead of one
//! item per member. Kept by registering and unregistering (one item per group of the user) and
//! by joins (one per registered device of the joiner). As with the live index, who may receive
//! is the member list the send checked: a leaver's items deliver nothing (a rejoin writes them
//! again).

use super::groups::{self, group_key};
use super::{batch_write, from_item, malformed, query_all, s, Result};
use crate::domain::ids::{GroupId, UserId};
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};
use im_adapters::Clients;
use serde::Deserialize;
use std::collections::HashMap;

const PREFIX: &str = "push#";

fn sort_key(user: UserId, device: &str) -> String {
    format!("{PREFIX}{user}#{device}")
}

/// The push-registered devices listed in a group (one Query; pages past 1 MB).
pub async fn in_group(clients: &Clients, group: GroupId) -> Result<Vec<(UserId, String)>> {
    #[derive(Deserialize)]
    struct Row {
        sk: String,
    }
    let query = groups::under(clients, &group_key(group), PREFIX).projection_expression("sk");
    let mut found = vec![];
    for item in query_all(query).await? {
        let row: Row = from_item(item)?;
        let parsed = row.sk.strip_prefix(PREFIX).and_then(|rest| rest.split_once('#'));
        if let Some((user, device)) = parsed.and_then(|(u, d)| Some((u.parse().ok()?, d.to_string()))) {
            found.push((UserId(user), device));
        }
    }
    Ok(found)
}

/// Lists `devices` (user, device key) in `group`, after their users joined it.
pub async fn add(clients: &Clients, group: GroupId, devices: &[(UserId, String)]) -> Result<()> {
    let mut requests = vec![];
    for (user, device) in devices {
        let item =
            HashMap::from([("pk".to_string(), s(group_key(group))), ("sk".to_string(), s(sort_key(*user, device)))]);
        let put = PutRequest::builder().set_item(Some(item)).build().map_err(malformed)?;
        requests.push(WriteRequest::builder().put_request(put).build());
    }
    batch_write(clients, &clients.config.tables.groups, requests).await
}

/// Lists one device of `user` in each of the user's groups, or takes it out of them (`on`).
pub async fn mark(clients: &Clients, user: UserId, device: &str, on: bool) -> Result<()> {
    let mut requests = vec![];
    for group in groups::groups_of(clients, user).await? {
        let (pk, sk): (AttributeValue, AttributeValue) = (s(group_key(group)), s(sort_key(user, device)));
        requests.push(match on {
            true => {
                let item = HashMap::from([("pk".to_string(), pk), ("sk".to_string(), sk)]);
                WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build().map_err(malformed)?)
            }
            false => WriteRequest::builder()
                .delete_request(DeleteRequest::builder().key("pk", pk).key("sk", sk).build().map_err(malformed)?),
        });
    }
    let requests = requests.into_iter().map(|r| r.build()).collect();
    batch_write(clients, &clients.config.tables.groups, requests).await
}
