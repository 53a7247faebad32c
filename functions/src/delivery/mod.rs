//! The delivery layer (simple_im's Middleman): how anything that happened reaches devices. An
//! entry is stored durably first, once (in each recipient's feed, or once in a shared
//! conversation), then posted to every live connection of every recipient and to the actor's
//! other devices, with bounded concurrency. A failed push never fails the request and never
//! loses the entry: it waits in its stream until each device confirms it.
//!
//! One family of verbs, named by who is reached: `tell_*` stores, then pushes; `push_*` only
//! pushes (what is pushed is stored already, or can be asked again); `close_*` ends sockets.

pub mod confirmations;
pub mod fan_out;
pub mod feedback;
mod posts;
pub mod presence;
pub mod push;
pub mod render;
pub mod signals;

use crate::domain::entry::{Body, Entry};
use crate::domain::format::Format;
use crate::domain::ids::{device_key, Actor, ConversationId, UserId};
use crate::domain::notice::{Change, Notice};
use crate::domain::now_secs;
use crate::domain::relation::Friendship;
use crate::store::connections::{Audience, Connection};
use crate::store::relations::List;
use crate::store::streams::NewEntry;
use crate::store::{self, Backend};
use futures::{StreamExt, TryStreamExt};
use im_adapters::PostOutcome;
use posts::{forget, post_forgetting_gone};
use render::Contacts;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// The feeds a notice to `recipients` goes into: each recipient's (the actor aside), and the
/// actor's own, marked as the acting device's echo (its other devices get it; it does not).
pub fn feeds(actor: &Actor, recipients: &[UserId]) -> Vec<(UserId, Option<String>)> {
    let mut targets: Vec<UserId> = recipients.iter().copied().filter(|r| *r != actor.user_id).collect();
    targets.sort_unstable();
    targets.dedup();
    let mut feeds: Vec<(UserId, Option<String>)> = targets.into_iter().map(|user| (user, None)).collect();
    feeds.push((actor.user_id, Some(device_key(&actor.device, &actor.tag))));
    feeds
}

/// How many feed appends one notification runs at once.
const FEED_APPENDS_AT_ONCE: usize = 16;

/// Tells `recipients` (and the actor's other devices) of a change the actor made: the notice
/// goes into each one's feed, then is pushed. Returns once it is durable; push failures are
/// only logged.
pub async fn tell_users(
    backend: &impl Backend,
    actor: &Actor,
    recipients: &[UserId],
    change: Change,
    to: Option<u64>,
) -> store::Result<()> {
    let body = Body::Notice(Notice::new(change, actor, to, now_secs()));
    // Each feed is its own stream: appends to different users run side by side.
    let appends = feeds(actor, recipients).into_iter().map(|(user, echo_of)| {
        let body = &body;
        async move {
            let conversation = ConversationId::Feed(user);
            let new = NewEntry { echo_of: echo_of.as_deref(), body };
            let seq = backend.append(conversation, new).await?;
            Ok::<_, store::StoreError>((user, Entry { conversation, seq, echo_of, body: body.clone() }))
        }
    });
    let stored: Vec<(UserId, Entry)> =
        futures::stream::iter(appends).buffer_unordered(FEED_APPENDS_AT_ONCE).try_collect().await?;
    push_stored(backend, actor, &stored).await;
    Ok(())
}

/// Tells a group: the notice is stored once in its conversation and pushed to every member's
/// live connections and the actor's other devices. Writes stay two, whatever the number of
/// members; look-ups grow as members / 100.
pub async fn tell_group(
    backend: &impl Backend,
    actor: &Actor,
    conversation: ConversationId,
    members: &[UserId],
    notice: &Notice,
) -> store::Result<u64> {
    let body = Body::Notice(notice.clone());
    let seq = backend.append(conversation, NewEntry { echo_of: None, body: &body }).await?;
    push_to_members(backend, actor, members, &Entry { conversation, seq, echo_of: None, body }).await;
    Ok(seq)
}

/// Pushes one stored notice of a shared conversation to `members` and the actor's other
/// devices ([`push_message`]), and confirms it for the acting device.
pub async fn push_to_members(backend: &impl Backend, actor: &Actor, members: &[UserId], entry: &Entry) {
    let posts = async {
        let reach = reach(backend, actor, entry.conversation, members).await;
        push_message(backend, actor, reach, entry, None).await
    };
    futures::join!(confirm_for_acting_device(backend, actor, vec![entry]), posts);
}

/// Who an entry for `members` reaches from this function: the members and the actor (for its
/// other devices), with their live connections and push-registered devices, looked up already
/// unless the audience goes to the fan-out worker. A send looks them up beside the message's
/// write, once its number is taken (docs/ARCHITECTURE.md, Messages: why not earlier).
pub struct Reach {
    users: Vec<UserId>,
    audience: Option<store::Result<Audience>>,
}

/// Looks up who an entry of `conversation` for `members` reaches ([`Reach`]).
pub async fn reach(backend: &impl Backend, actor: &Actor, conversation: ConversationId, members: &[UserId]) -> Reach {
    let mut users = members.to_vec();
    users.push(actor.user_id);
    users.sort_unstable();
    users.dedup();
    let handed_off = backend.fan_out_worker().is_some_and(|(_, direct)| users.len() > direct);
    let audience = match handed_off {
        true => None,
        false => Some(audience_of(backend, conversation, &users, users.len(), true).await),
    };
    Reach { users, audience }
}

/// The largest audience whose connections are read from its group's index: past it (no group
/// reaches it under the member cap, 500), each of the fan-out worker's invocations would read
/// the whole index for its thousand users, and looking up by user is cheaper.
pub const INDEXED_AUDIENCE: usize = 1_000;

/// The live connections and (`pushable`) push-registered devices of `users` (sorted), the whole audience
/// of an entry of `conversation` (or a part of an `audience` past [`INDEXED_AUDIENCE`]): a
/// group's from its indexes (two Queries side by side, `store::live`, `store::pushable`), kept
/// to `users` (the members the caller checked: a leaver's may linger in an index); anyone
/// else's by user.
async fn audience_of(
    backend: &impl Backend,
    conversation: ConversationId,
    users: &[UserId],
    audience: usize,
    pushable: bool,
) -> store::Result<Audience> {
    let mut found = match conversation {
        ConversationId::Group(group) if audience <= INDEXED_AUDIENCE => backend.group_audience(group, pushable).await?,
        _ => return backend.audience(users).await,
    };
    let member = |user: &UserId| users.binary_search(user).is_ok();
    found.live.retain(|c| c.user_id.is_some_and(|user| member(&user)));
    found.pushable.retain(|(user, _)| member(user));
    Ok(found)
}

/// A frame of derived state for one user's JSON connections (seed 003's unread count), posted
/// with an entry through the same connection look-up. Not stored: it can be asked again.
pub struct Event {
    pub user: UserId,
    pub name: &'static str,
    pub data: Value,
}

/// Pushes one stored entry of a shared conversation to `members` and the actor's other devices,
/// with `event` for its user's JSON connections; an audience beyond `DIRECT_AUDIENCE` is handed
/// to the fan-out worker ([`fan_out`]), so the caller is answered without waiting for the
/// posts. Nothing is confirmed for the acting device: sync never offers a device its own
/// messages (their echo names it), and its next confirmation takes them in
/// (`streams::cursors::confirm`), its user's cursor likewise.
pub async fn push_message(backend: &impl Backend, actor: &Actor, reach: Reach, entry: &Entry, event: Option<Event>) {
    let posted = match reach.audience {
        Some(found) => match found {
            Ok(found) => {
                let reached: Vec<(UserId, &Entry)> = reach.users.iter().map(|user| (*user, entry)).collect();
                deliver_to(backend, actor, &reached, found, event.as_ref()).await;
                Ok(())
            }
            Err(err) => Err(err),
        },
        None => {
            // Users Lambda did not take are posted to here.
            let here = fan_out::hand_off(backend, actor, entry, reach.users).await;
            let reached: Vec<(UserId, &Entry)> = here.into_iter().map(|user| (user, entry)).collect();
            push_to_live(backend, actor, &reached, event.as_ref()).await
        }
    };
    if let Err(err) = posted {
        tracing::warn!(error = %err, "connection look-up failed; the stream keeps the entry");
    }
}

/// Posts stored entries to their users' live connections and queues their pushes, side by side.
async fn deliver_to(
    backend: &impl Backend,
    actor: &Actor,
    reached: &[(UserId, &Entry)],
    found: Audience,
    event: Option<&Event>,
) {
    let pushes = push::queue(backend, actor, reached, &found);
    futures::join!(post_to_live(backend, actor, reached, found.live.clone(), event), pushes);
}

/// Pushes entries already stored in their users' feeds to every live connection of those users,
/// except the actor's own device, and confirms the actor's own entries for its device. A failed
/// look-up is only logged: the stream keeps the entry for sync.
pub async fn push_stored(backend: &impl Backend, actor: &Actor, stored: &[(UserId, Entry)]) {
    let own: Vec<&Entry> = stored.iter().filter(|(user, _)| *user == actor.user_id).map(|(_, entry)| entry).collect();
    let reached: Vec<(UserId, &Entry)> = stored.iter().map(|(user, entry)| (*user, entry)).collect();
    let ((), posted) =
        futures::join!(confirm_for_acting_device(backend, actor, own), push_to_live(backend, actor, &reached, None));
    if let Err(err) = posted {
        tracing::warn!(error = %err, "connection look-up failed; the stream keeps the entry");
    }
}

/// What tells one rendered frame from another: the entry (stream, sequence), the dialect, and for
/// a contact change with its count, who sees it.
type FrameKey = (ConversationId, u64, Format, Option<UserId>);

/// Posts stored entries to their users' live connections (looked up here) and queues their
/// pushes ([`deliver_to`]). Fails when the connections cannot be looked up (nothing posted).
async fn push_to_live(
    backend: &impl Backend,
    actor: &Actor,
    reached: &[(UserId, &Entry)],
    event: Option<&Event>,
) -> store::Result<()> {
    if reached.is_empty() {
        return Ok(());
    }
    let users: Vec<UserId> = reached.iter().map(|(u, _)| *u).collect();
    let found = backend.audience(&users).await?;
    deliver_to(backend, actor, reached, found, event).await;
    Ok(())
}

/// Posts stored entries to their users' connections `live`, except the acting device, and
/// `event` to its user's JSON connections, after the entries; 410 Gone forgets a connection.
/// Each distinct frame is rendered once and its bytes shared by every connection that gets it.
async fn post_to_live(
    backend: &impl Backend,
    actor: &Actor,
    reached: &[(UserId, &Entry)],
    live: Vec<Connection>,
    event: Option<&Event>,
) {
    let event_frame = event.map(|e| (e.user, Arc::<[u8]>::from(Format::Json.frame("", e.name, &e.data).into_bytes())));
    let mut by_user: HashMap<UserId, Vec<&Entry>> = HashMap::new();
    for (user, entry) in reached {
        by_user.entry(*user).or_default().push(entry);
    }
    let lists = contact_lists(backend, reached).await;
    let mut frames: HashMap<FrameKey, Arc<[u8]>> = HashMap::new();
    let (mut posts, mut events) = (vec![], vec![]);
    for conn in &live {
        let Some(user) = conn.user_id else { continue };
        let acting = user == actor.user_id
            && match &actor.connection_id {
                Some(cid) => *cid == conn.connection_id,
                None => conn.device == actor.device && conn.tag == actor.tag,
            };
        if acting {
            continue;
        }
        for entry in by_user.get(&user).into_iter().flatten() {
            let list = lists.get(&user).filter(|_| conn.format == Format::Json);
            let key = (entry.conversation, entry.seq, conn.format, list.map(|_| user));
            let frame = frames.entry(key).or_insert_with(|| {
                let text = match conn.format {
                    Format::Toml => render::toml_frame(entry),
                    Format::Json => render::json_frame(entry, list),
                };
                Arc::from(text.into_bytes())
            });
            posts.push((conn.connection_id.clone(), frame.clone()));
        }
        if let Some((_, frame)) = event_frame.as_ref().filter(|(to, _)| *to == user && conn.format == Format::Json) {
            events.push((conn.connection_id.clone(), frame.clone()));
        }
    }
    // Posts to one connection run side by side: the event follows the entries it is about.
    post_forgetting_gone(backend, posts).await;
    post_forgetting_gone(backend, events).await;
}

/// Seed 003's `NOTIFY_UPDATE_CONTACT` carries the recipient's whole contact list with unread
/// counts: read once for each user a contact change reaches (a contact change is rare). A
/// failed read leaves the list out of that user's frames.
async fn contact_lists(backend: &impl Backend, reached: &[(UserId, &Entry)]) -> HashMap<UserId, Contacts> {
    let mut lists = HashMap::new();
    for (user, entry) in reached {
        if !entry.is_contact_change() || lists.contains_key(user) {
            continue;
        }
        match contacts_unread(backend, *user).await {
            Ok(list) => {
                lists.insert(*user, list);
            }
            Err(err) => tracing::warn!(error = %err, "could not read a contact list"),
        }
    }
    lists
}

/// A user's contacts by contact key (the public email, else the phone, else the id), each with
/// its unread count: seed 003's `contacts` map.
pub async fn contacts_unread(backend: &impl Backend, user: UserId) -> store::Result<Contacts> {
    let correspondents = backend.list(user, List::Correspondents).await?;
    let ids: Vec<UserId> = correspondents.iter().map(|c| c.other).collect();
    let profiles = backend.profiles(&ids).await?;
    let known: Vec<_> = ids.iter().filter_map(|id| profiles.get(id)).collect();
    let conversations: Vec<ConversationId> = known.iter().map(|p| ConversationId::direct(user, p.id)).collect();
    let unread = backend.unread_in(user, &conversations).await?;
    Ok(known.iter().zip(unread).map(|(profile, count)| (profile.contact_key(), count)).collect())
}

/// The conversations a user takes part in: one per correspondent (contact or pending request),
/// one per group.
pub async fn conversations_of(backend: &impl Backend, user: UserId) -> store::Result<Vec<ConversationId>> {
    Ok(conversations_and_requests(backend, user).await?.0)
}

/// [`conversations_of`], and how many friend requests wait for the user (seed 004's count),
/// from the same Query of their correspondents.
pub async fn conversations_and_requests(
    backend: &impl Backend,
    user: UserId,
) -> store::Result<(Vec<ConversationId>, usize)> {
    let correspondents = backend.list(user, List::Correspondents).await?;
    let requests = correspondents.iter().filter(|c| c.edge.friendship == Friendship::RequestedBy).count();
    let mut conversations: Vec<ConversationId> =
        correspondents.iter().map(|c| ConversationId::direct(user, c.other)).collect();
    conversations.extend(backend.groups_of(user).await?.into_iter().map(ConversationId::Group));
    Ok((conversations, requests))
}

/// The acting device has what it did itself: its own entries are confirmed for it, so they
/// leave no hole that would keep its confirmed prefix from moving. A failure here only means
/// the device is offered its own entry again by sync.
async fn confirm_for_acting_device(backend: &impl Backend, actor: &Actor, own: Vec<&Entry>) {
    let device = device_key(&actor.device, &actor.tag);
    for entry in own {
        let confirmed =
            confirmations::confirm(backend, actor.user_id, &device, entry.conversation, entry.seq, &[entry.seq], None)
                .await;
        if let Err(err) = confirmed {
            tracing::warn!(error = %err, "could not confirm the acting device's own entry");
        }
    }
}

/// Pushes a frame of derived state (an unread count, say) to `user`'s JSON connections. Not
/// stored: whatever it says can be asked again (`LIST_CONTACTS_UNREAD`), so a lost one loses
/// nothing.
pub async fn push_event_to_user(backend: &impl Backend, user: UserId, event: &str, data: Value) {
    let live = match backend.of_users(&[user]).await {
        Ok(live) => live,
        Err(err) => {
            tracing::warn!(error = %err, "connection look-up failed");
            return;
        }
    };
    let frame: Arc<[u8]> = Arc::from(Format::Json.frame("", event, &data).into_bytes());
    let posts =
        live.into_iter().filter(|c| c.format == Format::Json).map(|c| (c.connection_id, frame.clone())).collect();
    post_forgetting_gone(backend, posts).await;
}

/// Pushes frames to one connection one after another, so they arrive in this order (a login's
/// answer, then what was pending). A gone connection is forgotten and the rest not sent.
pub async fn push_to_connection_in_order(backend: &impl Backend, cid: &str, frames: Vec<String>) {
    for frame in frames {
        if backend.post(cid, frame.as_bytes()).await == PostOutcome::Gone {
            forget(backend, cid, "gone").await;
            return;
        }
    }
}

/// Closes connections from the server side and forgets them.
pub async fn close_connections(backend: &impl Backend, cids: &[String]) {
    for cid in cids {
        backend.disconnect(cid).await;
        forget(backend, cid, "closed").await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::entry::Message;
    use crate::domain::ids::GroupId;
    use crate::domain::ids::Target;
    use crate::domain::message::MessageKind;
    use crate::store::memory::{actor, Memory};

    fn group_message(group: GroupId, seq: u64) -> Entry {
        let message = Message {
            client_id: format!("c{seq}"),
            t: MessageKind::Text,
            c: "hi all".into(),
            from: UserId(1),
            from_email: None,
            target: Target::Group(group),
            ts: 0,
            us: 0,
            d: "web".into(),
            deleted: false,
            details: Default::default(),
        };
        Entry { conversation: ConversationId::Group(group), seq, echo_of: None, body: Body::Message(message) }
    }

    #[tokio::test]
    async fn a_notice_goes_into_each_recipients_feed_and_the_actors_own_as_an_echo() {
        let memory = Memory::default();
        let bob = memory.connect(2, "android", Format::Toml);
        let (alice_ipad, alice_web) = (memory.connect(1, "ipad", Format::Json), memory.connect(1, "web", Format::Json));
        tell_users(&memory, &actor(1, "web"), &[UserId(2), UserId(2), UserId(1)], Change::Follow, Some(2))
            .await
            .unwrap();
        assert_eq!(memory.stream(ConversationId::Feed(UserId(2))).len(), 1, "once in bob's feed, however often named");
        let own = memory.stream(ConversationId::Feed(UserId(1)));
        assert_eq!((own.len(), own[0].echo_of.as_deref()), (1, Some("web")));
        let to_bob = memory.frames_to(&bob);
        assert!(to_bob.len() == 1 && to_bob[0].starts_with("[[n]]") && to_bob[0].contains("t = \"follow\""));
        assert_eq!(memory.frames_to(&alice_ipad).len(), 1, "the actor's other devices are told");
        assert!(memory.frames_to(&alice_web).is_empty(), "the acting device is not");
        let cursors = &memory.state().cursors;
        assert!(
            cursors[&(UserId(1), "web".to_string(), ConversationId::Feed(UserId(1)))].contains(1),
            "its own echo is confirmed"
        );
    }

    #[tokio::test]
    async fn a_gone_connection_is_forgotten_and_the_entry_stays_for_sync() {
        let memory = Memory::default();
        let (stale, live) = (memory.connect(2, "iphone", Format::Json), memory.connect(2, "ipad", Format::Json));
        memory.state().gone.insert(stale.clone());
        tell_users(&memory, &actor(1, "web"), &[UserId(2)], Change::Block, Some(2)).await.unwrap();
        let state = memory.state();
        let left: Vec<&str> = state.connections.iter().map(|c| c.connection_id.as_str()).collect();
        assert_eq!(left, [live.as_str()]);
        drop(state);
        assert_eq!(memory.frames_to(&live).len(), 1);
        assert_eq!(memory.stream(ConversationId::Feed(UserId(2))).len(), 1);
    }

    #[tokio::test]
    async fn each_distinct_frame_is_rendered_once_and_its_bytes_shared() {
        let memory = Memory::default();
        let members = [1, 2, 3, 4];
        memory.group(9, &members);
        let (mut toml, mut json) = (vec![], vec![]);
        for &user in &members[1..] {
            toml.push(memory.connect(user, "android", Format::Toml));
            json.push(memory.connect(user, "web", Format::Json));
        }
        push_to_members(&memory, &actor(1, "web"), &members.map(UserId), &group_message(GroupId(9), 1)).await;
        let state = memory.state();
        let buffer = |cid: &String| state.posts.iter().find(|(c, _)| c == cid).map(|(_, f)| f.clone()).unwrap();
        let (first_toml, first_json) = (buffer(&toml[0]), buffer(&json[0]));
        assert!(toml.iter().all(|c| Arc::ptr_eq(&buffer(c), &first_toml)), "one TOML frame for every TOML socket");
        assert!(json.iter().all(|c| Arc::ptr_eq(&buffer(c), &first_json)));
        assert!(first_toml.starts_with(b"[[gm]]") && first_json.starts_with(b"{\"event\":\"NOTIFY_NEW_MSG\""));
        assert_eq!(state.posts.len(), 6);
    }

    #[tokio::test]
    async fn a_group_entry_reaches_only_the_members_the_sender_checked() {
        let memory = Memory::default();
        memory.group(9, &[1, 2, 3]);
        let (member, leaver) = (memory.connect(2, "web", Format::Json), memory.connect(3, "web", Format::Json));
        // Member 3's socket is still listed for the group (the index lags a leave); the
        // members the send checked no longer hold them.
        push_to_members(&memory, &actor(1, "web"), &[UserId(1), UserId(2)], &group_message(GroupId(9), 1)).await;
        assert_eq!(memory.frames_to(&member).len(), 1);
        assert!(memory.frames_to(&leaver).is_empty());
    }

    #[tokio::test]
    async fn a_contact_change_tells_json_devices_the_contacts_unread_count() {
        let memory = Memory::default();
        memory.user(1, Some("alice@example.com"));
        memory.user(2, Some("bob@example.com"));
        memory.user(3, Some("carol@example.com"));
        memory.befriend(1, 2);
        memory.befriend(2, 3);
        let (json, toml) = (memory.connect(2, "web", Format::Json), memory.connect(2, "android", Format::Toml));
        tell_users(&memory, &actor(1, "ipad"), &[UserId(2)], Change::AcceptContact, Some(2)).await.unwrap();
        let frame: Value = serde_json::from_str(&memory.frames_to(&json)[0]).unwrap();
        assert_eq!(frame["event"], "NOTIFY_UPDATE_CONTACT");
        let whole_list = serde_json::json!({ "alice@example.com": 0, "carol@example.com": 0 });
        assert_eq!(frame["data"]["contacts"], whole_list, "bob's whole list, not the changed contact alone");
        assert!(!memory.frames_to(&toml)[0].contains("contacts"));
    }

    #[tokio::test]
    async fn a_large_audience_goes_to_the_worker_and_nothing_is_posted_here() {
        let memory = Memory::with_worker("fan-out", 2);
        let member = memory.connect(5, "web", Format::Json);
        push_to_members(
            &memory,
            &actor(1, "web"),
            &[UserId(1), UserId(2), UserId(3), UserId(4), UserId(5)],
            &group_message(GroupId(9), 1),
        )
        .await;
        let state = memory.state();
        assert_eq!(state.queued.len(), 1);
        let batch: fan_out::Batch = serde_json::from_slice(&state.queued[0].1).unwrap();
        assert_eq!((batch.users, batch.seq), ([1, 2, 3, 4, 5].map(UserId).to_vec(), 1));
        assert!(state.posts.iter().all(|(cid, _)| *cid != member));
    }

    #[tokio::test]
    async fn derived_state_goes_to_json_devices_only_and_is_not_stored() {
        let memory = Memory::default();
        let (json, toml) = (memory.connect(2, "web", Format::Json), memory.connect(2, "android", Format::Toml));
        push_event_to_user(
            &memory,
            UserId(2),
            "NOTIFY_UPDATE_UNREAD",
            serde_json::json!({ "unread_msg_count": { "1": 3 } }),
        )
        .await;
        assert_eq!(memory.frames_to(&json).len(), 1);
        assert!(memory.frames_to(&toml).is_empty() && memory.state().entries.is_empty());
    }

    #[tokio::test]
    async fn closed_connections_are_disconnected_and_forgotten() {
        let memory = Memory::default();
        let socket = memory.connect(2, "web", Format::Json);
        close_connections(&memory, std::slice::from_ref(&socket)).await;
        assert_eq!(memory.state().disconnected, [socket]);
        assert!(memory.state().connections.is_empty());
    }
}
