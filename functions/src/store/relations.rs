//! The relations table: each pair is two edges, A's view of B and B's view of A (`rel#<a>`,
//! `<b>`), and each user has a head (`rel#<a>`, `#head`) whose `version` counts the changes to
//! their list; every changed edge carries the version of its change, so a sync from version v
//! is a Query on the `by_version` index (deleted contacts stay as tombstones, so deletions sync
//! too). A transition reads both edges and both heads, applies a rule, and writes all four in
//! one transaction conditioned on the heads not having moved: two racing transitions on the
//! same pair (or the same user) cannot both win; the loser re-reads and decides again.
//! `request#<id>` remembers which pair a friend request id belongs to.

use super::streams::{self, NewEntry};
use super::{aws, from_item, malformed, n, query_all, s, to_item, transact, until_won, Item, Result};
use crate::domain::entry::{Body, Entry};
use crate::domain::ids::{ConversationId, UserId};
use crate::domain::notice::Notice;
use crate::domain::now_secs;
use crate::domain::refusal::{Error, Refusal};
use crate::domain::relation::{Edge, Friendship, Rule};
use aws_sdk_dynamodb::types::{AttributeValue, Get, Put, TransactGetItem, TransactWriteItem};
use im_adapters::Clients;
use serde::{Deserialize, Serialize};

/// The sort key of each owner's head item (the version of their list).
const HEAD_SK: &str = "#head";

/// An edge as stored: the edge's own fields beside its key.
#[derive(Serialize, Deserialize)]
struct EdgeItem {
    pk: String,
    sk: String,
    other: UserId,
    #[serde(flatten)]
    edge: Edge,
    #[serde(default)]
    updated_at: u64,
}

impl EdgeItem {
    fn new(owner: UserId, other: UserId, edge: &Edge, version: u64) -> EdgeItem {
        let edge = Edge { version, ..edge.clone() };
        EdgeItem { pk: format!("rel#{owner}"), sk: other.to_string(), other, edge, updated_at: now_secs() }
    }
}

#[derive(Deserialize)]
struct Head {
    #[serde(default)]
    version: u64,
}

/// Both sides of a pair.
#[derive(Clone, Debug)]
pub struct Pair {
    /// A's view of B.
    pub ab: Edge,
    /// B's view of A.
    pub ba: Edge,
    /// Whether the transition that gave it wrote anything (a rule that changes nothing writes
    /// nothing, and nobody is told).
    pub changed: bool,
}

/// One edge of a user's list, for syncs and lists.
#[derive(Clone, Debug)]
pub struct ListedEdge {
    pub other: UserId,
    pub edge: Edge,
}

fn key(owner: UserId, sk: String) -> Item {
    Item::from([("pk".to_string(), s(format!("rel#{owner}"))), ("sk".to_string(), s(sk))])
}

/// Reads both edges and both heads in one TransactGetItems. Not a BatchGetItem: a batch is
/// only read-committed item by item, so it can see half of a concurrent transition (new heads,
/// old edges) and decide on a state that never existed; a transactional read is serialized
/// with TransactWriteItems.
async fn read_pair(clients: &Clients, a: UserId, b: UserId) -> Result<(Edge, Edge, u64, u64)> {
    let table = &clients.config.tables.relations;
    let mut read = clients.dynamodb.transact_get_items();
    for key in [key(a, b.to_string()), key(b, a.to_string()), key(a, HEAD_SK.into()), key(b, HEAD_SK.into())] {
        let get = Get::builder().table_name(table).set_key(Some(key)).build().map_err(malformed)?;
        read = read.transact_items(TransactGetItem::builder().get(get).build());
    }
    let out = read.send().await.map_err(aws)?;
    let mut items = out.responses.unwrap_or_default().into_iter().map(|r| r.item);
    let mut next = || items.next().flatten();
    let edge =
        |item: Option<Item>| item.map(from_item::<EdgeItem>).transpose().map(|e| e.map(|e| e.edge).unwrap_or_default());
    let version = |item: Option<Item>| item.map(from_item::<Head>).transpose().map(|h| h.map_or(0, |h| h.version));
    Ok((edge(next())?, edge(next())?, version(next())?, version(next())?))
}

fn put_edge(table: &str, owner: UserId, other: UserId, edge: &Edge, version: u64) -> Result<TransactWriteItem> {
    let item = to_item(&EdgeItem::new(owner, other, edge, version))?;
    let put = Put::builder().table_name(table).set_item(Some(item)).build().map_err(malformed)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

fn put_head(table: &str, owner: UserId, seen: u64) -> Result<TransactWriteItem> {
    let put = Put::builder()
        .table_name(table)
        .item("pk", s(format!("rel#{owner}")))
        .item("sk", s(HEAD_SK))
        .item("version", n(seen + 1))
        .condition_expression("attribute_not_exists(version) OR version = :seen")
        .expression_attribute_values(":seen", n(seen))
        .build()
        .map_err(malformed)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// What a transition tells, stored in its own transaction so no crash can keep the change and
/// lose the telling: one notice into each of `feeds` (a user, and the device the actor's own
/// feed echoes for), and a new friend request's id with its pair (`request#<id>`).
pub struct Told {
    pub feeds: Vec<(UserId, Option<String>)>,
    pub notice: Notice,
    /// `(request id, from, to)`.
    pub request: Option<(u64, UserId, UserId)>,
}

/// Applies `rule` to the pair (A's view, B's view) and stores the result atomically, with what
/// `tell` says to tell about the new A's view; when nothing changes nothing is written or told.
/// Returns the pair as stored (or the rule's refusal) and the notices stored, by user, for the
/// caller to push.
pub async fn transition(
    clients: &Clients,
    a: UserId,
    b: UserId,
    rule: impl Rule,
    tell: impl Fn(&Edge) -> Told,
) -> Result<(Pair, Vec<(UserId, Entry)>), Error> {
    if a == b {
        return Err(Refusal::SelfRelation.into());
    }
    let table = &clients.config.tables.relations;
    until_won(|| async {
        let (ab, ba, va, vb) = read_pair(clients, a, b).await?;
        let (new_ab, new_ba) = rule(&ab, &ba)?;
        if new_ab.state() == ab.state() && new_ba.state() == ba.state() {
            return Ok(Some((Pair { ab, ba, changed: false }, vec![])));
        }
        let mut writes = vec![
            put_head(table, a, va)?,
            put_head(table, b, vb)?,
            put_edge(table, a, b, &new_ab, va + 1)?,
            put_edge(table, b, a, &new_ba, vb + 1)?,
        ];
        let told = tell(&new_ab);
        let body = Body::Notice(told.notice);
        let mut stored = vec![];
        for (user, echo_of) in &told.feeds {
            let conversation = ConversationId::Feed(*user);
            let seen = streams::head(clients, conversation).await?;
            let entry = NewEntry { echo_of: echo_of.as_deref(), body: &body };
            writes.extend(streams::append_writes(&clients.config.tables.conversations, conversation, seen, &entry)?);
            let (echo_of, body) = (echo_of.clone(), body.clone());
            stored.push((*user, Entry { conversation, seq: seen + 1, echo_of, body }));
        }
        if let Some((request_id, from, to)) = told.request {
            let item = RequestItem { pk: request_key(request_id), sk: "#".into(), from, to };
            let put = Put::builder().table_name(table).set_item(Some(to_item(&item)?)).build().map_err(malformed)?;
            writes.push(TransactWriteItem::builder().put(put).build());
        }
        let won = transact(clients, writes).await?;
        let (ab, ba) = (Edge { version: va + 1, ..new_ab }, Edge { version: vb + 1, ..new_ba });
        Ok(won.then_some((Pair { ab, ba, changed: true }, stored)))
    })
    .await
}

/// Both views of a pair as they stand (one TransactGetItems).
pub async fn pair(clients: &Clients, a: UserId, b: UserId) -> Result<Pair, Error> {
    if a == b {
        return Err(Refusal::SelfRelation.into());
    }
    let (ab, ba, _, _) = read_pair(clients, a, b).await?;
    Ok(Pair { ab, ba, changed: false })
}

/// `a`'s edge to `b` alone, read consistently: one item, one read unit. What a send checks: the
/// edge holds the friendship and both directions of a block, which every transition writes on
/// both edges at once (a decision on one edge never needs the other).
pub async fn edge(clients: &Clients, a: UserId, b: UserId) -> Result<Edge, Error> {
    if a == b {
        return Err(Refusal::SelfRelation.into());
    }
    let get = clients.dynamodb.get_item().table_name(&clients.config.tables.relations);
    let out = get.set_key(Some(key(a, b.to_string()))).consistent_read(true).send().await.map_err(aws)?;
    Ok(out.item.map(from_item::<EdgeItem>).transpose()?.map(|e| e.edge).unwrap_or_default())
}

/// The current version of a user's list.
pub async fn version(clients: &Clients, owner: UserId) -> Result<u64> {
    let get = clients.dynamodb.get_item().table_name(&clients.config.tables.relations);
    let out = get.set_key(Some(key(owner, HEAD_SK.into()))).consistent_read(true).send().await.map_err(aws)?;
    Ok(out.item.map(from_item::<Head>).transpose()?.map_or(0, |h| h.version))
}

/// The edges among items of an owner's partition. The owner's head (`#head`) shares the
/// partition and the `by_version` index, and is no edge: it is left out, not read as a contact
/// with id 0.
fn listed(items: Vec<Item>) -> Result<Vec<ListedEdge>> {
    let head = s(HEAD_SK);
    items
        .into_iter()
        .filter(|item| item.get("sk") != Some(&head))
        .map(from_item::<EdgeItem>)
        .map(|e| e.map(|e| ListedEdge { other: e.other, edge: e.edge }))
        .collect()
}

/// Edges of `owner` changed after version `since`, oldest change first, at most `limit` (one
/// Query page of the `by_version` index; never a Scan), and whether more follow.
pub async fn changed_since(
    clients: &Clients,
    owner: UserId,
    since: u64,
    limit: usize,
) -> Result<(Vec<ListedEdge>, bool)> {
    let out = clients
        .dynamodb
        .query()
        .table_name(&clients.config.tables.relations)
        .index_name("by_version")
        .key_condition_expression("pk = :pk AND version > :since")
        .expression_attribute_values(":pk", s(format!("rel#{owner}")))
        .expression_attribute_values(":since", n(since))
        .limit(limit as i32)
        .send()
        .await
        .map_err(aws)?;
    Ok((listed(out.items.unwrap_or_default())?, out.last_evaluated_key.is_some()))
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
    /// Everyone the owner has a conversation with: contacts and pending requests either way.
    Correspondents,
    /// Every edge that says anything: friendship, request, follow or block, either way.
    Any,
}

impl List {
    /// Whether an edge belongs in the list: what [`List::filter`] asks DynamoDB, as a rule.
    pub fn admits(self, edge: &Edge) -> bool {
        match self {
            List::Friends => edge.friendship == Friendship::Friends,
            List::RequestsReceived => edge.friendship == Friendship::RequestedBy,
            List::RequestsSent => edge.friendship == Friendship::Requested,
            List::Following => edge.following,
            List::Followers => edge.followed_by,
            List::Blocking => edge.blocking,
            List::Correspondents => edge.friendship != Friendship::None,
            List::Any => edge.state() != Edge::default(),
        }
    }

    fn filter(self) -> (&'static str, Vec<AttributeValue>) {
        let friendship = |f: Friendship| ("friendship = :v0", vec![s(f.as_str())]);
        match self {
            List::Friends => friendship(Friendship::Friends),
            List::RequestsReceived => friendship(Friendship::RequestedBy),
            List::RequestsSent => friendship(Friendship::Requested),
            List::Following => ("following = :v0", vec![AttributeValue::Bool(true)]),
            List::Followers => ("followed_by = :v0", vec![AttributeValue::Bool(true)]),
            List::Blocking => ("blocking = :v0", vec![AttributeValue::Bool(true)]),
            List::Correspondents => (
                "friendship IN (:v0, :v1, :v2)",
                [Friendship::Friends, Friendship::Requested, Friendship::RequestedBy].map(|f| s(f.as_str())).to_vec(),
            ),
            List::Any => (
                "friendship IN (:v0, :v1, :v2) OR following = :v3 OR followed_by = :v3 OR blocking = :v3 \
                 OR blocked_by = :v3",
                [Friendship::Friends, Friendship::Requested, Friendship::RequestedBy]
                    .map(|f| s(f.as_str()))
                    .into_iter()
                    .chain([AttributeValue::Bool(true)])
                    .collect(),
            ),
        }
    }
}

/// The owner's edges in one list: a Query over the owner's partition (paginated by DynamoDB,
/// consistent, never a Scan).
pub async fn list(clients: &Clients, owner: UserId, which: List) -> Result<Vec<ListedEdge>> {
    let (filter, values) = which.filter();
    let mut query = clients
        .dynamodb
        .query()
        .table_name(&clients.config.tables.relations)
        .key_condition_expression("pk = :pk")
        .filter_expression(filter)
        .expression_attribute_values(":pk", s(format!("rel#{owner}")))
        .consistent_read(true);
    for (i, value) in values.into_iter().enumerate() {
        query = query.expression_attribute_values(format!(":v{i}"), value);
    }
    listed(query_all(query).await?)
}

/// One page of a list: the users after `after` (in the list's order), at most `limit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub after: Option<UserId>,
    pub limit: usize,
}

/// One page of the owner's edges in one list, and the `after` of the next page when there is
/// one: Query pages (with the list's filter) are read until the page is full.
pub async fn list_page(
    clients: &Clients,
    owner: UserId,
    which: List,
    page: Page,
) -> Result<(Vec<ListedEdge>, Option<UserId>)> {
    let (filter, values) = which.filter();
    let mut query = clients
        .dynamodb
        .query()
        .table_name(&clients.config.tables.relations)
        .filter_expression(filter)
        .expression_attribute_values(":pk", s(format!("rel#{owner}")))
        .consistent_read(true);
    query = match page.after {
        Some(after) => query
            .key_condition_expression("pk = :pk AND sk > :after")
            .expression_attribute_values(":after", s(after.to_string())),
        None => query.key_condition_expression("pk = :pk"),
    };
    for (i, value) in values.into_iter().enumerate() {
        query = query.expression_attribute_values(format!(":v{i}"), value);
    }
    let mut found = vec![];
    let mut start = None;
    loop {
        let out = query.clone().set_exclusive_start_key(start).send().await.map_err(aws)?;
        found.extend(listed(out.items.unwrap_or_default())?);
        start = out.last_evaluated_key;
        if found.len() >= page.limit || start.is_none() {
            break;
        }
    }
    let more = found.len() > page.limit || (found.len() == page.limit && start.is_some());
    found.truncate(page.limit);
    let next = if more { found.last().map(|e| e.other) } else { None };
    Ok((found, next))
}

#[derive(Serialize, Deserialize)]
struct RequestItem {
    pk: String,
    sk: String,
    from: UserId,
    to: UserId,
}

fn request_key(request_id: u64) -> String {
    format!("request#{request_id}")
}

/// The (from, to) pair of a friend request id, if it was ever made.
pub async fn find_request(clients: &Clients, request_id: u64) -> Result<Option<(UserId, UserId)>> {
    let get = clients.dynamodb.get_item().table_name(&clients.config.tables.relations);
    let out = get.set_key(Some(key_of_request(request_id))).send().await.map_err(aws)?;
    Ok(out.item.map(from_item::<RequestItem>).transpose()?.map(|r| (r.from, r.to)))
}

fn key_of_request(request_id: u64) -> Item {
    Item::from([("pk".to_string(), s(request_key(request_id))), ("sk".to_string(), s("#"))])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::item;

    #[test]
    fn an_edge_is_read_from_the_fields_it_was_always_stored_as() {
        let stored = item(&[
            ("pk", s("rel#1")),
            ("sk", s("2")),
            ("other", n(2)),
            ("friendship", s("requested_by")),
            ("ask", s("hello")),
            ("requested_at", n(7)),
            ("request_id", n(9)),
            ("following", AttributeValue::Bool(true)),
            ("version", n(3)),
        ]);
        let edge = from_item::<EdgeItem>(stored).unwrap().edge;
        let expected = Edge {
            friendship: Friendship::RequestedBy,
            ask: "hello".into(),
            requested_at: 7,
            request_id: 9,
            following: true,
            version: 3,
            ..Edge::default()
        };
        assert_eq!(edge, expected, "absent fields are their defaults");
        let written = to_item(&EdgeItem::new(UserId(1), UserId(2), &expected, 4)).unwrap();
        assert_eq!((written.get("friendship"), written.get("version")), (Some(&s("requested_by")), Some(&n(4))));
    }

    #[test]
    fn the_owners_head_in_the_same_partition_is_no_edge() {
        let head = item(&[("pk", s("rel#1")), ("sk", s(HEAD_SK)), ("version", n(5))]);
        let edge = item(&[
            ("pk", s("rel#1")),
            ("sk", s("2")),
            ("other", n(2)),
            ("friendship", s("friend")),
            ("version", n(5)),
        ]);
        let listed = listed(vec![head, edge]).unwrap();
        assert_eq!(listed.iter().map(|l| l.other).collect::<Vec<_>>(), [UserId(2)]);
    }

    #[test]
    fn an_unknown_friendship_is_malformed_not_none() {
        let stored = item(&[("pk", s("rel#1")), ("sk", s("2")), ("other", n(2)), ("friendship", s("frenemy"))]);
        assert!(from_item::<EdgeItem>(stored).is_err());
    }
}
