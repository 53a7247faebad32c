//! The inbox (issue 27): every conversation of a user, one-to-one and group, newest activity
//! first, each with the other side, its last entry, the unread count and whether it is muted.
//! The order is an index (`store::inbox`) that sends keep: a conversation's activity is written
//! into its participants' items at most once a minute ([`INBOX_REFRESH_MS`]), so a lively chat
//! or a busy group costs no write per message. A page reads the index once, then only the
//! conversations on it, and orders itself by their last entries' own times.

use crate::domain::entry::Entry;
use crate::domain::ids::{ConversationId, GroupId, Target, UserId};
use crate::domain::inbox::{last_line, refresh_due, Cursor, DEFAULT_PAGE, INBOX_REFRESH_MS, MAX_PAGE};
use crate::domain::refusal::{Refusal, Result};
use crate::domain::{now_millis, now_secs};
use crate::store::Backend;
use serde_json::{json, Value};

/// One page of the inbox, and where the next starts.
#[derive(Debug)]
pub struct Page {
    pub conversations: Vec<Value>,
    pub next: Option<String>,
}

impl Page {
    /// The page as both surfaces answer it: `conversation` (a list) and `next`, the cursor of
    /// the page after, only when one may follow.
    pub fn fields(self) -> Value {
        let mut fields = json!({ "conversation": self.conversations });
        if let Some(next) = self.next {
            fields["next"] = json!(next);
        }
        fields
    }
}

/// `GET /conversations` and `CONVERSATIONS {}`: at most `limit` of the user's conversations,
/// after the cursor `after`. Reads: one Query of the index, then for the page alone one
/// BatchGetItem of heads and markers, one Query per conversation for its last entry, one
/// BatchGetItem of profiles, one of groups, one GetItem of the user's mutes, side by side.
pub async fn list(backend: &impl Backend, user: UserId, limit: Option<u64>, after: Option<&str>) -> Result<Page> {
    let limit = match limit {
        None => DEFAULT_PAGE,
        Some(n) if (1..=MAX_PAGE as u64).contains(&n) => n as usize,
        Some(_) => return Err(Refusal::invalid(format!("limit must be 1 to {MAX_PAGE}")).into()),
    };
    let after = after.map(Cursor::parse).transpose()?;
    let (listed, next) = backend.inbox_page(user, limit, after.as_ref()).await?;
    let conversations: Vec<ConversationId> = listed.iter().map(|c| c.conversation).collect();
    let (people, groups) = sides(user, &conversations);
    let (unread, latest, profiles, infos, settings) = futures::join!(
        backend.unread_in(user, &conversations),
        futures::future::join_all(conversations.iter().map(|c| backend.latest(*c))),
        backend.profiles(&people),
        backend.infos(&groups),
        backend.push_settings(user),
    );
    let (unread, profiles, infos, settings) = (unread?, profiles?, infos?, settings?);
    let now = now_secs();
    let mut page = vec![];
    for (((cursor, unread), latest), conversation) in listed.iter().zip(unread).zip(latest).zip(&conversations) {
        let with = match conversation.target_for(user) {
            Some(Target::User(other)) => match profiles.get(&other) {
                Some(profile) => json!({ "type": "user", "user": profile.view(Some(user)) }),
                None => continue,
            },
            Some(Target::Group(group)) => match infos.iter().find(|(id, _)| *id == group) {
                Some((_, info)) => json!({ "type": "group", "group": { "g_id": group, "name": info.name } }),
                // A group deleted while its index item stayed (a forget that failed): not shown.
                None => continue,
            },
            None => continue,
        };
        let last: Option<Entry> = latest?.map(|entry| entry.seen_by(user));
        let at = last.as_ref().map_or(cursor.at, |entry| cursor.at.max(entry.body.ts() * 1000));
        let muted = settings.mutes.get(&conversation.to_string()).is_some_and(|until| *until > now);
        let mut item = json!({ "id": conversation.to_string(), "at": at, "unread": unread, "muted": muted });
        if let (Some(fields), Some(side)) = (item.as_object_mut(), with.as_object()) {
            fields.extend(side.clone());
        }
        if let Some(entry) = &last {
            item["last"] = last_line(entry);
        }
        page.push((at, item));
    }
    // The index orders by when each item was last written; a busy group's may be up to a minute
    // behind its own last entry, so the page is ordered by what it read.
    page.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    Ok(Page { conversations: page.into_iter().map(|(_, item)| item).collect(), next: next.map(|c| c.text()) })
}

/// The other users and the groups of a page's conversations.
fn sides(user: UserId, conversations: &[ConversationId]) -> (Vec<UserId>, Vec<GroupId>) {
    let (mut people, mut groups) = (vec![], vec![]);
    for conversation in conversations {
        match conversation.target_for(user) {
            Some(Target::User(other)) => people.push(other),
            Some(Target::Group(group)) => groups.push(group),
            None => {}
        }
    }
    (people, groups)
}

/// A message was stored: the conversation moves up in its participants' inboxes, at most once
/// a minute ([`INBOX_REFRESH_MS`]): the head's update that numbered the message read when it
/// last did (`inbox_at`), so a message in a conversation written there within the minute costs
/// nothing more, and another claims the refresh on the head (one conditional update) and writes
/// one item per participant (a BatchWriteItem per 25). The message is durable already: a write
/// that fails here is logged, and a later message writes again.
pub async fn note_message(
    backend: &impl Backend,
    conversation: ConversationId,
    members: &[UserId],
    inbox_at: Option<u64>,
) {
    let now = now_millis();
    let Some(inbox_at) = inbox_at.filter(|at| refresh_due(*at, now)) else { return };
    let participants = match conversation {
        ConversationId::Direct(a, b) => vec![a, b],
        _ => members.to_vec(),
    };
    let result = match backend.claim_inbox_refresh(conversation, now, INBOX_REFRESH_MS).await {
        Ok(true) => backend.touch_inbox(&participants, conversation, now).await,
        other => other.map(|_| ()),
    };
    if let Err(err) = result {
        tracing::warn!(error = %err, %conversation, inbox_at, "could not note a message in the inbox");
    }
}

/// Users joined a conversation (a group made or joined): it shows in their inboxes from now.
pub async fn enter(backend: &impl Backend, users: &[UserId], conversation: ConversationId) {
    if let Err(err) = backend.touch_inbox(users, conversation, now_millis()).await {
        tracing::warn!(error = %err, %conversation, "could not add a conversation to inboxes");
    }
}

/// Users left a conversation (or it is gone): it leaves their inboxes.
pub async fn leave(backend: &impl Backend, users: &[UserId], conversation: ConversationId) {
    if let Err(err) = backend.forget_in_inbox(users, conversation).await {
        tracing::warn!(error = %err, %conversation, "could not take a conversation out of inboxes");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::message::Outgoing;
    use crate::service::{groups, messages};
    use crate::store::memory::{actor, refused, Memory};

    fn text(id: &str, target: Target) -> Outgoing {
        Outgoing::new(id.into(), "text", format!("hello {id}"), target).unwrap()
    }

    #[tokio::test]
    async fn the_inbox_lists_conversations_newest_first_with_unread_and_pages() {
        let memory = Memory::default();
        for user in 1..=3 {
            memory.user(user, None);
        }
        memory.befriend(1, 2);
        memory.befriend(1, 3);
        let (alice, bob) = (actor(1, "web"), actor(2, "android"));
        messages::send(&memory, &alice, &text("a1", Target::User(UserId(2)))).await.unwrap();
        messages::send(&memory, &bob, &text("b1", Target::User(UserId(1)))).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let group = groups::create(&memory, &actor(3, "web"), "trip", &[UserId(1)], None).await.unwrap().id;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        messages::send(&memory, &actor(3, "web"), &text("c1", Target::Group(group))).await.unwrap();

        let page = list(&memory, UserId(1), None, None).await.unwrap();
        let ids: Vec<&str> = page.conversations.iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [format!("group#{}", group.0).as_str(), "dm#1#2"]);
        assert_eq!(page.conversations[1]["unread"], 1, "Bob's message");
        assert_eq!(page.conversations[1]["last"]["snippet"], "hello b1");
        assert_eq!(page.conversations[1]["user"]["id"], 2);
        assert_eq!(page.conversations[0]["group"]["name"], "trip");
        assert!(page.next.is_none());

        let first = list(&memory, UserId(1), Some(1), None).await.unwrap();
        let second = list(&memory, UserId(1), Some(1), first.next.as_deref()).await.unwrap();
        assert_eq!(
            (first.conversations[0]["id"].clone(), second.conversations[0]["id"].clone()),
            (json!(ids[0]), json!(ids[1]))
        );
        assert!(second.next.is_none(), "two conversations, two pages");

        assert!(matches!(refused(list(&memory, UserId(1), Some(0), None).await), Refusal::Invalid(_)));
        assert!(matches!(refused(list(&memory, UserId(1), None, Some("nope")).await), Refusal::Invalid(_)));
        assert!(list(&memory, UserId(2), None, None).await.unwrap().conversations.len() == 1, "Bob has one");
    }

    #[tokio::test]
    async fn a_busy_group_is_written_into_inboxes_once_a_minute() {
        let memory = Memory::default();
        memory.user(1, None);
        memory.user(2, None);
        memory.befriend(1, 2);
        let group = groups::create(&memory, &actor(1, "web"), "g", &[UserId(2)], None).await.unwrap().id;
        let conversation = ConversationId::Group(group);
        messages::send(&memory, &actor(1, "web"), &text("m1", Target::Group(group))).await.unwrap();
        let first = memory.state().inbox[&(UserId(2), conversation)];
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        messages::send(&memory, &actor(1, "web"), &text("m2", Target::Group(group))).await.unwrap();
        assert_eq!(memory.state().inbox[&(UserId(2), conversation)], first, "within the minute: not written again");
        groups::leave(&memory, &actor(2, "android"), group).await.unwrap();
        assert!(!memory.state().inbox.contains_key(&(UserId(2), conversation)), "a leaver's inbox drops it");
    }
}
