//! Each group's live connections, in the groups table beside its members: `group#<id>`,
//! `live#<connection id>` (user, device, format, tag, when bound; `expires_at` with the
//! connection). A send to a group reads them with one eventually consistent Query, about 100
//! bytes an item, 40 to a read unit, where a look-up by member reads one item per member
//! (half a unit each, however small). Kept by binding and forgetting a connection (one item
//! per group of its user) and by joins (one per live connection of the user). The index only
//! finds connections: who may receive is still the member list the send checked
//! (`delivery::live_of`), so a leaver's item, left for the leave's own notice to reach them,
//! or one a race or a crash left behind, delivers nothing; it goes with its connection (TTL).

use super::connections::{Connection, Live, LIFETIME_SECS};
use super::groups::{self, group_key};
use super::{batch_write, from_item, malformed, query_all, s, to_item, Result};
use crate::domain::ids::{GroupId, UserId};
use crate::domain::now_secs;
use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
use im_adapters::Clients;
use serde::{Deserialize, Serialize};

const PREFIX: &str = "live#";

#[derive(Serialize, Deserialize)]
struct LiveItem {
    pk: String,
    sk: String,
    u: UserId,
    #[serde(flatten)]
    live: Live,
    #[serde(default)]
    expires_at: u64,
}

/// The live connections of a group's members, as bound (one Query; pages past 1 MB).
pub async fn in_group(clients: &Clients, group: GroupId) -> Result<Vec<Connection>> {
    let query = groups::under(clients, &group_key(group), PREFIX);
    let oldest = now_secs().saturating_sub(LIFETIME_SECS);
    let mut found = vec![];
    for item in query_all(query).await? {
        let item: LiveItem = from_item(item)?;
        let Some(cid) = item.sk.strip_prefix(PREFIX) else { continue };
        if item.live.at >= oldest {
            found.extend(item.live.connection(cid.to_string(), item.u));
        }
    }
    Ok(found)
}

/// Lists `connections` in each of `groups`: 25 items a BatchWriteItem.
pub async fn add(clients: &Clients, groups: &[GroupId], connections: &[Connection]) -> Result<()> {
    let mut requests = vec![];
    for group in groups {
        for conn in connections {
            let Some(user) = conn.user_id else { continue };
            let (pk, sk) = (group_key(*group), format!("{PREFIX}{}", conn.connection_id));
            let item = LiveItem { pk, sk, u: user, live: Live::of(conn), expires_at: conn.since + LIFETIME_SECS };
            let put = PutRequest::builder().set_item(Some(to_item(&item)?)).build().map_err(malformed)?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
    }
    batch_write(clients, &clients.config.tables.groups, requests).await
}

/// Takes the connections `cids` out of each of `groups`; taking out what is not there is no
/// error.
pub async fn remove(clients: &Clients, groups: &[GroupId], cids: &[String]) -> Result<()> {
    let mut requests = vec![];
    for group in groups {
        for cid in cids {
            let key = DeleteRequest::builder().key("pk", s(group_key(*group))).key("sk", s(format!("{PREFIX}{cid}")));
            requests.push(WriteRequest::builder().delete_request(key.build().map_err(malformed)?).build());
        }
    }
    batch_write(clients, &clients.config.tables.groups, requests).await
}

/// Lists the live connections and push-registered devices of `users` in `group` (this index
/// and `store::pushable`), after they joined it.
pub async fn list_members(clients: &Clients, group: GroupId, users: &[UserId]) -> Result<()> {
    let audience = super::connections::audience(clients, users, true).await?;
    add(clients, &[group], &audience.live).await?;
    super::pushable::add(clients, group, &audience.pushable).await
}
