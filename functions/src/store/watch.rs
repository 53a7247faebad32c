//! Presence in the connections table. A user is online while their `user#<id>` item lists a
//! live connection; `last_seen` on it is when the last one closed. Who watches a user is
//! `watch#<id>`, a map `w` of the watching connections (connection id → subscriber, when), and
//! each watching connection's record lists the users it watches (`watching`), so a new
//! subscription or the socket's close takes it out again. A change of one user reads one item
//! and posts to its watchers: its cost is bounded by the watchers, never by who is online.

use super::connections::LIFETIME_SECS;
use super::{aws, batch_get, from_item, lost_condition, n, put_in_map, remove_from_map, s, Result};
use crate::domain::ids::UserId;
use crate::domain::now_secs;
use aws_sdk_dynamodb::types::AttributeValue;
use im_adapters::Clients;
use serde::Deserialize;
use std::collections::HashMap;

fn watch_key(user: UserId) -> String {
    format!("watch#{user}")
}

#[derive(Deserialize)]
struct Watcher {
    u: UserId,
    at: u64,
}

/// Makes connection `cid` (of `subscriber`) watch exactly `users`: out of the maps of the users
/// it watched before and no longer does, into those of `users`, and the list on its record.
/// A connection that closed meanwhile is left alone (its record is gone).
pub async fn subscribe(clients: &Clients, cid: &str, subscriber: UserId, users: &[UserId]) -> Result<()> {
    let table = &clients.config.tables.connections;
    let record = format!("conn#{cid}");
    let get = clients.dynamodb.get_item().table_name(table).key("pk", s(&record)).consistent_read(true);
    let Some(item) = get.send().await.map_err(aws)?.item else { return Ok(()) };
    #[derive(Deserialize)]
    struct Watching {
        #[serde(default)]
        watching: Vec<UserId>,
    }
    let before = from_item::<Watching>(item)?.watching;
    for user in before.iter().filter(|u| !users.contains(u)) {
        remove_from_map(clients, table, &watch_key(*user), "w", &[cid.to_string()]).await?;
    }
    let now = now_secs();
    for user in users {
        let entry = AttributeValue::M(HashMap::from([("u".to_string(), n(subscriber.0)), ("at".to_string(), n(now))]));
        put_in_map(clients, table, &watch_key(*user), ("w", cid), entry).await?;
    }
    let list = AttributeValue::L(users.iter().map(|u| n(u.0)).collect());
    let update = clients.dynamodb.update_item().table_name(table).key("pk", s(&record));
    let update = update.update_expression("SET watching = :list").condition_expression("attribute_exists(pk)");
    match update.expression_attribute_values(":list", list).send().await {
        Ok(_) => Ok(()),
        Err(err) if lost_condition(&err) => Ok(()),
        Err(err) => Err(aws(err)),
    }
}

/// Takes a closed connection out of the maps of the users it watched.
pub async fn unwatch(clients: &Clients, cid: &str, users: &[UserId]) -> Result<()> {
    for user in users {
        remove_from_map(clients, &clients.config.tables.connections, &watch_key(*user), "w", &[cid.to_string()])
            .await?;
    }
    Ok(())
}

/// The connections watching `user` (connection id, subscriber), those of the last two hours.
pub async fn watchers(clients: &Clients, user: UserId) -> Result<Vec<(String, UserId)>> {
    // A batch of one: the functions that forget connections read users' items that way already.
    let key = HashMap::from([("pk".to_string(), s(watch_key(user)))]);
    let found = batch_get(clients, &clients.config.tables.connections, vec![key], false).await?;
    let Some(item) = found.into_iter().next() else { return Ok(vec![]) };
    #[derive(Deserialize)]
    struct Watched {
        #[serde(default)]
        w: HashMap<String, Watcher>,
    }
    let oldest = now_secs().saturating_sub(LIFETIME_SECS);
    let watched = from_item::<Watched>(item)?.w;
    Ok(watched.into_iter().filter(|(_, w)| w.at >= oldest).map(|(cid, w)| (cid, w.u)).collect())
}

/// Whether each of `users` is online (a live connection listed) and when they were last seen
/// (0: never closed a socket), in their order: one BatchGetItem per 100.
pub async fn presence_of(clients: &Clients, users: &[UserId]) -> Result<Vec<(bool, u64)>> {
    #[derive(Deserialize)]
    struct Seen {
        pk: String,
        #[serde(default)]
        conns: HashMap<String, super::connections::Live>,
        #[serde(default)]
        last_seen: u64,
    }
    let keys = users.iter().map(|u| HashMap::from([("pk".to_string(), s(format!("user#{u}")))])).collect();
    let oldest = now_secs().saturating_sub(LIFETIME_SECS);
    let mut found = HashMap::new();
    for item in batch_get(clients, &clients.config.tables.connections, keys, true).await? {
        let seen: Seen = from_item(item)?;
        let online = seen.conns.values().any(|live| live.at >= oldest);
        found.insert(seen.pk, (online, seen.last_seen));
    }
    Ok(users.iter().map(|u| found.get(&format!("user#{u}")).copied().unwrap_or((false, 0))).collect())
}

/// Notes that `user`'s last socket closed at `at`.
pub async fn mark_seen(clients: &Clients, user: UserId, at: u64) -> Result<()> {
    let update = clients.dynamodb.update_item().table_name(&clients.config.tables.connections);
    let update = update.key("pk", s(format!("user#{user}"))).update_expression("SET last_seen = :at");
    update.expression_attribute_values(":at", n(at)).send().await.map_err(aws)?;
    Ok(())
}
