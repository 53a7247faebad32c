//! The delivery layer (simple_im's Middleman): how anything that happened reaches devices. An
//! entry is stored durably first, once (in each recipient's feed, or once in a shared
//! conversation), then posted to every live connection of every recipient and to the actor's
//! other devices, with bounded concurrency. A failed push never fails the request and never
//! loses the entry: it waits in its stream until each device confirms it.

pub mod fan_out;
pub mod render;

use crate::domain::entry::{Entry, EntryKind};
use crate::domain::format::Format;
use crate::domain::ids::{device_key, Actor, ConversationId};
use crate::domain::notice::{Notice, NoticeKind};
use crate::domain::now_secs;
use crate::store::streams::{self, NewEntry};
use crate::store::{self, connections, users};
use futures::{StreamExt, TryStreamExt};
use im_adapters::{Clients, PostOutcome};
use serde_json::Value;
use std::collections::HashMap;

/// The feeds a notice to `recipients` goes into: each recipient's (the actor aside), and the
/// actor's own, marked as the acting device's echo (its other devices get it; it does not).
pub fn feeds(actor: &Actor, recipients: &[u64]) -> Vec<(u64, Option<String>)> {
    let mut targets: Vec<u64> = recipients.iter().copied().filter(|r| *r != actor.user_id).collect();
    targets.sort_unstable();
    targets.dedup();
    let mut feeds: Vec<(u64, Option<String>)> = targets.into_iter().map(|user| (user, None)).collect();
    feeds.push((actor.user_id, Some(actor.device.as_str().to_string())));
    feeds
}

/// How many feed appends one notification runs at once.
const FEED_APPENDS_AT_ONCE: usize = 16;

/// Stores `notice` in each recipient's feed and in the actor's own (for its other devices),
/// then pushes it. Returns once the notification is durable; push failures are only logged.
pub async fn notify(clients: &Clients, actor: &Actor, recipients: &[u64], notice: &Notice) -> store::Result<()> {
    // Each feed is its own stream: appends to different users run side by side.
    let appends = feeds(actor, recipients).into_iter().map(|(user, echo_of)| async move {
        let conversation = ConversationId::Feed(user);
        let new = NewEntry { kind: EntryKind::Notice, echo_of: echo_of.as_deref(), body: &notice.body, reader: None };
        let (seq, _) = streams::append(clients, conversation, new, None).await?;
        let entry = Entry { conversation, seq, kind: EntryKind::Notice, echo_of, body: notice.body.clone() };
        Ok::<_, store::StoreError>((user, entry))
    });
    let stored: Vec<(u64, Entry)> =
        futures::stream::iter(appends).buffer_unordered(FEED_APPENDS_AT_ONCE).try_collect().await?;
    deliver(clients, actor, &stored).await;
    Ok(())
}

/// Stores `notice` once in the shared conversation (a group's) and pushes it to every member's
/// live connections and the actor's other devices. Writes stay two, whatever the number of
/// members; look-ups grow as members / 100.
pub async fn broadcast(
    clients: &Clients,
    actor: &Actor,
    conversation: ConversationId,
    members: &[u64],
    notice: &Notice,
) -> store::Result<u64> {
    let new = NewEntry { kind: EntryKind::Notice, echo_of: None, body: &notice.body, reader: None };
    let (seq, _) = streams::append(clients, conversation, new, None).await?;
    let entry = Entry { conversation, seq, kind: EntryKind::Notice, echo_of: None, body: notice.body.clone() };
    to_members(clients, actor, members, &entry).await;
    Ok(seq)
}

/// Pushes one stored entry of a shared conversation to `members` and the actor's other devices;
/// an audience beyond `DIRECT_AUDIENCE` is handed to the fan-out worker ([`fan_out`]), so the
/// caller is answered without waiting for the posts.
pub async fn to_members(clients: &Clients, actor: &Actor, members: &[u64], entry: &Entry) {
    let mut audience = members.to_vec();
    audience.push(actor.user_id);
    audience.sort_unstable();
    audience.dedup();
    let own = [(actor.user_id, entry.clone())];
    let posts = async {
        let here = fan_out::hand_off(clients, actor, entry, audience).await;
        let stored: Vec<(u64, Entry)> = here.into_iter().map(|user| (user, entry.clone())).collect();
        if let Err(err) = post_to_live(clients, actor, &stored).await {
            tracing::warn!(error = %err, "connection look-up failed; the stream keeps the entry");
        }
    };
    futures::join!(confirm_for_acting_device(clients, actor, &own), posts);
}

/// Posts already-stored entries to every live connection of their users, except the actor's
/// own device, and confirms the actor's own entries for its device. A failed look-up is only
/// logged: the stream keeps the entry for sync.
pub async fn deliver(clients: &Clients, actor: &Actor, stored: &[(u64, Entry)]) {
    let ((), posted) =
        futures::join!(confirm_for_acting_device(clients, actor, stored), post_to_live(clients, actor, stored));
    if let Err(err) = posted {
        tracing::warn!(error = %err, "connection look-up failed; the stream keeps the entry");
    }
}

/// Posts stored entries to their users' live connections, except the acting device; 410 Gone
/// forgets a connection. Fails when the connections cannot be looked up (nothing was posted
/// then): the fan-out worker fails its run so that Lambda retries it.
async fn post_to_live(clients: &Clients, actor: &Actor, stored: &[(u64, Entry)]) -> store::Result<()> {
    if stored.is_empty() {
        return Ok(());
    }
    let users: Vec<u64> = stored.iter().map(|(u, _)| *u).collect();
    let live = connections::of_users(clients, &users).await?;
    let mut by_user: HashMap<u64, Vec<&Entry>> = HashMap::new();
    for (user, entry) in stored {
        by_user.entry(*user).or_default().push(entry);
    }
    let summaries = contact_summaries(clients, stored).await;
    let mut posts = vec![];
    for conn in &live {
        let acting = conn.user_id == Some(actor.user_id)
            && match &actor.connection_id {
                Some(cid) => *cid == conn.connection_id,
                None => conn.device == actor.device,
            };
        if acting {
            continue;
        }
        for entry in conn.user_id.and_then(|u| by_user.get(&u)).into_iter().flatten() {
            let entry = match summaries.get(&(conn.user_id, entry.conversation, entry.seq)) {
                Some(summarized) if conn.format == Format::Json => summarized,
                _ => *entry,
            };
            posts.push((conn.connection_id.clone(), render::push_frame(conn.format, entry).into_bytes()));
        }
    }
    post_frames(clients, posts).await;
    Ok(())
}

/// Seed 003's `NOTIFY_UPDATE_CONTACT` names the contact and its unread count,
/// `{contacts: {<email>: <n>}}`: contact-change entries as JSON connections get them, by
/// (recipient, stream, sequence). A contact change is rare; a failed look-up leaves it out.
async fn contact_summaries(
    clients: &Clients,
    stored: &[(u64, Entry)],
) -> HashMap<(Option<u64>, ConversationId, u64), Entry> {
    let mut summaries = HashMap::new();
    for (user, entry) in stored.iter().filter(|(_, e)| render::json_event(e) == "NOTIFY_UPDATE_CONTACT") {
        let field = |name: &str| entry.body.get(name).and_then(Value::as_u64);
        let Some(other) = (if field("from") == Some(*user) { field("to") } else { field("from") }) else { continue };
        let dm = ConversationId::direct(*user, other);
        let (Ok(Some(profile)), Ok(unread)) =
            (users::profile(clients, other).await, streams::unread(clients, dm, *user).await)
        else {
            continue;
        };
        let mut summarized = entry.clone();
        summarized.body.insert("contacts".into(), serde_json::json!({ profile.contact_key(): unread }));
        summaries.insert((Some(*user), entry.conversation, entry.seq), summarized);
    }
    summaries
}

/// The acting device has what it did itself: its own entries are confirmed for it, so they
/// leave no hole that would keep its confirmed prefix from moving. A failure here only means
/// the device is offered its own entry again by sync.
async fn confirm_for_acting_device(clients: &Clients, actor: &Actor, stored: &[(u64, Entry)]) {
    for (_, entry) in stored.iter().filter(|(user, _)| *user == actor.user_id) {
        let device = device_key(&actor.device, &actor.tag);
        let confirmed =
            streams::confirm(clients, actor.user_id, &device, entry.conversation, entry.seq, &[entry.seq], None).await;
        if let Err(err) = confirmed {
            tracing::warn!(error = %err, "could not confirm the acting device's own entry");
        }
    }
}

/// Posts frames; a connection that answers 410 Gone is forgotten.
async fn post_frames(clients: &Clients, posts: Vec<(String, Vec<u8>)>) {
    for (cid, outcome) in clients.pusher.post_all(posts).await {
        if outcome == PostOutcome::Gone {
            if let Err(err) = connections::forget(clients, &cid).await {
                tracing::warn!(error = %err, "could not forget a gone connection");
            }
        }
    }
}

/// Posts a frame of derived state (an unread count, say) to `user`'s JSON connections. Not
/// stored: whatever it says can be asked again (`LIST_CONTACTS_UNREAD`), so a lost one loses
/// nothing.
pub async fn post_json_event(clients: &Clients, user: u64, event: &str, data: Value) {
    let live = match connections::of_users(clients, &[user]).await {
        Ok(live) => live,
        Err(err) => {
            tracing::warn!(error = %err, "connection look-up failed");
            return;
        }
    };
    let frame = Format::Json.frame("", event, &data).into_bytes();
    let posts =
        live.into_iter().filter(|c| c.format == Format::Json).map(|c| (c.connection_id, frame.clone())).collect();
    post_frames(clients, posts).await;
}

/// Tells `recipients` (and the actor's other devices) of a change the actor made, in simple_im's
/// `[[n]]` shape: `t`, `from`, `to`, the extra fields, `ts`, `d`.
pub async fn tell(
    clients: &Clients,
    actor: &Actor,
    recipients: &[u64],
    kind: NoticeKind,
    to: u64,
    extra: Value,
) -> store::Result<()> {
    let notice = Notice::new(kind, &actor.caller(), to, extra, now_secs());
    notify(clients, actor, recipients, &notice).await
}

/// Posts frames to one connection one after another, so they arrive in this order (a login's
/// answer, then what was pending). A gone connection is forgotten and the rest not sent.
pub async fn post_in_order(clients: &Clients, cid: &str, frames: Vec<String>) {
    for frame in frames {
        if clients.pusher.post(cid, frame.as_bytes()).await == PostOutcome::Gone {
            if let Err(err) = connections::forget(clients, cid).await {
                tracing::warn!(error = %err, "could not forget a gone connection");
            }
            return;
        }
    }
}

/// Closes connections from the server side and forgets them.
pub async fn close(clients: &Clients, cids: &[String]) {
    for cid in cids {
        clients.pusher.disconnect(cid).await;
        if let Err(err) = connections::forget(clients, cid).await {
            tracing::warn!(error = %err, "could not forget a closed connection");
        }
    }
}
