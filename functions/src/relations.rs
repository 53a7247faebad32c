//! What two users are to each other, in one model that every seed surface views: a pending
//! request either way, friends, a follow each way, a block each way.
//!
//! Each pair is stored as two edges, A's view of B and B's view of A, in the relations table:
//! `rel#<a>`, `<b>`. Each user also has a head (`rel#<a>`, `#head`) whose `version` counts the
//! changes to their list; every changed edge carries the version of its change, so a sync from
//! version v is a Query on the `by_version` index (deleted contacts stay as tombstones, so
//! deletions sync too). A transition reads both edges and both heads, decides, and writes all
//! four in one transaction conditioned on the heads not having moved: two racing transitions on
//! the same pair (or the same user) cannot both win; the loser re-reads and decides again.

use crate::api::{ApiError, ApiResult};
use crate::db::{n, now_secs, query_all, s, transact, until_won, Item, ItemExt};
use aws_sdk_dynamodb::types::{AttributeValue, Get, Put, TransactGetItem, TransactWriteItem};
use im_adapters::Clients;
use std::collections::HashMap;

/// Where a friendship stands, from one side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Friendship {
    #[default]
    None,
    /// I asked them.
    Requested,
    /// They asked me.
    RequestedBy,
    Friends,
}

impl Friendship {
    fn as_str(self) -> &'static str {
        match self {
            Friendship::None => "none",
            Friendship::Requested => "requested",
            Friendship::RequestedBy => "requested_by",
            Friendship::Friends => "friend",
        }
    }
    fn parse(raw: Option<&str>) -> Friendship {
        match raw {
            Some("requested") => Friendship::Requested,
            Some("requested_by") => Friendship::RequestedBy,
            Some("friend") => Friendship::Friends,
            _ => Friendship::None,
        }
    }
}

/// One user's view of another.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Edge {
    pub friendship: Friendship,
    /// The note sent with a pending request (simple_im's `ask`).
    pub ask: String,
    /// When the pending request was made (seconds), for request lists.
    pub requested_at: u64,
    /// Seed 004's `friend_request_id` of the pending request (0 when none).
    pub request_id: u64,
    pub following: bool,
    pub followed_by: bool,
    pub blocking: bool,
    pub blocked_by: bool,
    /// Version of the owner's list at this edge's last change.
    pub version: u64,
}

impl Edge {
    fn from_item(item: &Item) -> Edge {
        Edge {
            friendship: Friendship::parse(item.str("friendship")),
            ask: item.str("ask").unwrap_or_default().to_string(),
            requested_at: item.u64("requested_at").unwrap_or(0),
            request_id: item.u64("request_id").unwrap_or(0),
            following: item.bool("following").unwrap_or(false),
            followed_by: item.bool("followed_by").unwrap_or(false),
            blocking: item.bool("blocking").unwrap_or(false),
            blocked_by: item.bool("blocked_by").unwrap_or(false),
            version: item.u64("version").unwrap_or(0),
        }
    }

    /// The same edge, ignoring the version: what a transition compares to see if anything changed.
    fn state(&self) -> Edge {
        Edge { version: 0, ..self.clone() }
    }
}

/// Both sides of a pair after a transition.
#[derive(Clone, Debug)]
pub struct Pair {
    /// A's view of B.
    pub ab: Edge,
    /// B's view of A.
    pub ba: Edge,
}

fn edge_key(owner: u64, other: u64) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".to_string(), s(format!("rel#{owner}"))), ("sk".to_string(), s(other.to_string()))])
}

fn head_key(owner: u64) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".to_string(), s(format!("rel#{owner}"))), ("sk".to_string(), s("#head"))])
}

/// Reads both edges and both heads in one TransactGetItems. Not a BatchGetItem: a batch is
/// only read-committed item by item, so it can see half of a concurrent transition (new heads,
/// old edges) and decide on a state that never existed; a transactional read is serialized
/// with TransactWriteItems.
async fn read_pair(clients: &Clients, a: u64, b: u64) -> ApiResult<(Edge, Edge, u64, u64)> {
    let table = &clients.config.tables.relations;
    let mut read = clients.dynamodb.transact_get_items();
    for key in [edge_key(a, b), edge_key(b, a), head_key(a), head_key(b)] {
        let get = Get::builder().table_name(table).set_key(Some(key)).build().map_err(ApiError::internal)?;
        read = read.transact_items(TransactGetItem::builder().get(get).build());
    }
    let out = read.send().await.map_err(ApiError::aws)?;
    let items: Vec<Option<Item>> = out.responses.unwrap_or_default().into_iter().map(|r| r.item).collect();
    let item = |i: usize| items.get(i).and_then(Option::as_ref);
    let ab = item(0).map(Edge::from_item).unwrap_or_default();
    let ba = item(1).map(Edge::from_item).unwrap_or_default();
    let va = item(2).and_then(|i| i.u64("version")).unwrap_or(0);
    let vb = item(3).and_then(|i| i.u64("version")).unwrap_or(0);
    Ok((ab, ba, va, vb))
}

fn put_edge(table: &str, owner: u64, other: u64, edge: &Edge, version: u64) -> ApiResult<TransactWriteItem> {
    let put = Put::builder()
        .table_name(table)
        .item("pk", s(format!("rel#{owner}")))
        .item("sk", s(other.to_string()))
        .item("other", n(other))
        .item("friendship", s(edge.friendship.as_str()))
        .item("ask", s(&edge.ask))
        .item("requested_at", n(edge.requested_at))
        .item("request_id", n(edge.request_id))
        .item("following", AttributeValue::Bool(edge.following))
        .item("followed_by", AttributeValue::Bool(edge.followed_by))
        .item("blocking", AttributeValue::Bool(edge.blocking))
        .item("blocked_by", AttributeValue::Bool(edge.blocked_by))
        .item("version", n(version))
        .item("updated_at", n(now_secs()))
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

fn put_head(table: &str, owner: u64, seen: u64) -> ApiResult<TransactWriteItem> {
    let put = Put::builder()
        .table_name(table)
        .item("pk", s(format!("rel#{owner}")))
        .item("sk", s("#head"))
        .item("version", n(seen + 1))
        .condition_expression("attribute_not_exists(version) OR version = :seen")
        .expression_attribute_values(":seen", n(seen))
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Applies `decide` to the pair (A's view, B's view) and stores the result atomically.
/// `decide` returns the new edges or the client error that forbids the change; when nothing
/// changes nothing is written. Returns the pair as stored.
pub async fn transition<F>(clients: &Clients, a: u64, b: u64, decide: F) -> ApiResult<Pair>
where
    F: Fn(&Edge, &Edge) -> ApiResult<(Edge, Edge)>,
{
    if a == b {
        return Err(ApiError::bad_request("a user has no relationship with themselves"));
    }
    let table = &clients.config.tables.relations;
    until_won(|| async {
        let (ab, ba, va, vb) = read_pair(clients, a, b).await?;
        let (new_ab, new_ba) = decide(&ab, &ba)?;
        if new_ab.state() == ab.state() && new_ba.state() == ba.state() {
            return Ok(Some(Pair { ab, ba }));
        }
        let writes = vec![
            put_head(table, a, va)?,
            put_head(table, b, vb)?,
            put_edge(table, a, b, &new_ab, va + 1)?,
            put_edge(table, b, a, &new_ba, vb + 1)?,
        ];
        let won = transact(clients, writes).await?;
        Ok(won.then(|| Pair { ab: Edge { version: va + 1, ..new_ab }, ba: Edge { version: vb + 1, ..new_ba } }))
    })
    .await
}

/// One changed edge of a user's list, for syncs and lists.
#[derive(Clone, Debug)]
pub struct ListedEdge {
    pub other: u64,
    pub edge: Edge,
}

/// The current version of a user's list.
pub async fn version(clients: &Clients, owner: u64) -> ApiResult<u64> {
    let out = clients
        .dynamodb
        .get_item()
        .table_name(&clients.config.tables.relations)
        .set_key(Some(head_key(owner)))
        .consistent_read(true)
        .send()
        .await
        .map_err(ApiError::aws)?;
    Ok(out.item.as_ref().and_then(|i| i.u64("version")).unwrap_or(0))
}

/// Edges of `owner` changed after version `since`, oldest change first (a Query on the
/// `by_version` index, paginated by DynamoDB; never a Scan).
pub async fn changed_since(clients: &Clients, owner: u64, since: u64) -> ApiResult<Vec<ListedEdge>> {
    let query = clients
        .dynamodb
        .query()
        .table_name(&clients.config.tables.relations)
        .index_name("by_version")
        .key_condition_expression("pk = :pk AND version > :since")
        .expression_attribute_values(":pk", s(format!("rel#{owner}")))
        .expression_attribute_values(":since", n(since));
    Ok(listed(query_all(query).await?))
}

fn listed(items: Vec<Item>) -> Vec<ListedEdge> {
    items
        .iter()
        .filter_map(|item| Some(ListedEdge { other: item.u64("other")?, edge: Edge::from_item(item) }))
        .collect()
}

/// Which of a user's edges a list wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum List {
    Friends,
    /// Requests waiting for the owner.
    RequestsReceived,
    /// Requests the owner sent.
    RequestsSent,
    Following,
    Followers,
    Blocking,
}

impl List {
    fn filter(self) -> (&'static str, AttributeValue) {
        match self {
            List::Friends => ("friendship = :v", s("friend")),
            List::RequestsReceived => ("friendship = :v", s("requested_by")),
            List::RequestsSent => ("friendship = :v", s("requested")),
            List::Following => ("following = :v", AttributeValue::Bool(true)),
            List::Followers => ("followed_by = :v", AttributeValue::Bool(true)),
            List::Blocking => ("blocking = :v", AttributeValue::Bool(true)),
        }
    }
}

/// The owner's edges in one list: a Query over the owner's partition (paginated by DynamoDB,
/// consistent, never a Scan). Reads the owner's edges once; lists are small next to the
/// requests and messages that fill the other tables.
pub async fn list(clients: &Clients, owner: u64, which: List) -> ApiResult<Vec<ListedEdge>> {
    let (filter, value) = which.filter();
    let query = clients
        .dynamodb
        .query()
        .table_name(&clients.config.tables.relations)
        .key_condition_expression("pk = :pk")
        .filter_expression(filter)
        .expression_attribute_values(":pk", s(format!("rel#{owner}")))
        .expression_attribute_values(":v", value)
        .consistent_read(true);
    Ok(listed(query_all(query).await?))
}

/// Both views of a pair as they stand (one TransactGetItems).
pub async fn pair(clients: &Clients, a: u64, b: u64) -> ApiResult<Pair> {
    if a == b {
        return Err(ApiError::bad_request("a user has no relationship with themselves"));
    }
    let (ab, ba, _, _) = read_pair(clients, a, b).await?;
    Ok(Pair { ab, ba })
}

/// Remembers which pair a friend request id belongs to (`request#<id>`), for seed 004's
/// `friend_request_id` parameters.
pub async fn remember_request(clients: &Clients, request_id: u64, from: u64, to: u64) -> ApiResult<()> {
    clients
        .dynamodb
        .put_item()
        .table_name(&clients.config.tables.relations)
        .item("pk", s(format!("request#{request_id}")))
        .item("sk", s("#"))
        .item("from", n(from))
        .item("to", n(to))
        .send()
        .await
        .map_err(ApiError::aws)?;
    Ok(())
}

/// The (from, to) pair of a friend request id, if it was ever made.
pub async fn find_request(clients: &Clients, request_id: u64) -> ApiResult<Option<(u64, u64)>> {
    let out = clients
        .dynamodb
        .get_item()
        .table_name(&clients.config.tables.relations)
        .key("pk", s(format!("request#{request_id}")))
        .key("sk", s("#"))
        .send()
        .await
        .map_err(ApiError::aws)?;
    Ok(out.item.and_then(|i| Some((i.u64("from")?, i.u64("to")?))))
}
