//! Leaving for good and taking one's data along (issue 28): `DELETE /user` (App Store Review
//! Guideline 5.1.1(v), GDPR Art. 17) and `GET /user/export` (Art. 20).
//!
//! A deletion undoes what the account holds, each step safe to run again, so a deletion cut
//! short is finished by asking again (the session and password still work until the last
//! step): uploads, group memberships, relationships, push registrations, the inbox index,
//! sessions and sockets, and last the profile with its phone and email claims. Messages the
//! user sent stay in the other side's history under the old id, whose profile answers 404:
//! clients show them as from a deleted user (docs/API.md §2.4e).

use crate::domain::entry::Entry;
use crate::domain::ids::{Actor, Caller, ConversationId, GroupId, UserId};
use crate::domain::inbox::Cursor;
use crate::domain::limits::EXPORTS_PER_USER;
use crate::domain::names::Password;
use crate::domain::notice::Change;
use crate::domain::now_secs;
use crate::domain::refusal::{Refusal, Result};
use crate::domain::relation::{self, Friendship};
use crate::service::contacts::{self, Telling};
use crate::service::profile::AVATAR_PREFIX;
use crate::service::{auth, groups, limits, media, push};
use crate::store::blobs::Download;
use crate::store::relations::List;
use crate::store::Backend;
use serde_json::{json, Value};

/// What `GET /user/export` answers inline at most: a Lambda answer holds 6 MB, and the
/// gateway's encoding and headers need some of it. A larger archive goes to S3.
pub const EXPORT_INLINE_MAX: usize = 5 * 1024 * 1024;

/// Where exports larger than an answer are written (a lifecycle rule deletes them after a day).
pub const EXPORT_PREFIX: &str = "export/";

/// How many conversations one read of the inbox index takes.
const PAGE: usize = 100;

/// How many entries one read of a conversation's history takes: a whole history is read, so in
/// large Queries (DynamoDB stops a page at 1 MB first, and the reading goes on from there).
const HISTORY_PAGE: usize = 1000;

/// `DELETE /user`: the password again (a wrong one counts as a failed login), then everything
/// the account holds, the profile last.
pub async fn delete(backend: &impl Backend, caller: &Caller, password: Password) -> Result<()> {
    let me = caller.user_id;
    if !auth::check_account_password(backend, me, password).await? {
        return Err(Refusal::WrongCredentials.into());
    }
    let profile = backend.profile(me).await?.ok_or(Refusal::UserNotFound)?;
    let actor = Actor::from(caller);
    let groups = backend.groups_of(me).await?;
    let conversations = conversations_of(backend, me, &groups).await?;
    for conversation in &conversations {
        for entry in sent_in(backend, me, *conversation).await? {
            let objects = entry.message().and_then(media::attached_objects).unwrap_or_default();
            media::discard_attached(backend, (me, *conversation), &objects).await?;
        }
    }
    for group in groups {
        leave_group(backend, &actor, group).await?;
    }
    for listed in backend.list(me, List::Any).await? {
        // They hear of it where they had a friendship or a request with the account.
        let tell = listed.edge.friendship != Friendship::None;
        contacts::change(backend, &actor, listed.other, relation::erase, |_| {
            Telling::plain(Change::DeleteContact, tell)
        })
        .await?;
    }
    for registration in push::list(backend, me).await? {
        push::unregister(backend, (me, &registration.device)).await?;
    }
    for conversation in conversations {
        backend.forget_in_inbox(&[me], conversation).await?;
    }
    if let Some(avatar) = profile.avatar.strip_prefix("file/").filter(|a| a.starts_with(AVATAR_PREFIX)) {
        backend.delete(avatar).await?;
    }
    auth::end_sessions(backend, me, None).await?;
    Ok(backend.erase_user(&profile).await?)
}

/// Leaves a group on the way out. A group the account created passes to the member with the
/// oldest account (the lowest id: ids grow with sign-ups); with no one else in it, it is deleted.
async fn leave_group(backend: &impl Backend, actor: &Actor, group: GroupId) -> Result<()> {
    let Some(info) = backend.info(group).await? else { return Ok(()) };
    if info.creator == actor.user_id {
        let heir = backend.members(group).await?.into_iter().filter(|m| *m != actor.user_id).min();
        match heir {
            Some(heir) => backend.pass_group(group, heir).await?,
            None => return groups::delete(backend, actor, group).await,
        }
    }
    groups::take_out(backend, actor, group, actor.user_id).await
}

/// Every conversation in the user's inbox index (one-to-one and groups), oldest pages last, and
/// the user's `groups` not in it.
async fn conversations_of(backend: &impl Backend, user: UserId, groups: &[GroupId]) -> Result<Vec<ConversationId>> {
    let mut found = vec![];
    let mut after: Option<Cursor> = None;
    loop {
        let (page, next) = backend.inbox_page(user, PAGE, after.as_ref()).await?;
        found.extend(page.into_iter().map(|cursor| cursor.conversation));
        match next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    for group in groups {
        if !found.contains(&ConversationId::Group(*group)) {
            found.push(ConversationId::Group(*group));
        }
    }
    Ok(found)
}

/// The messages `user` sent in one conversation, oldest first (the whole history is read: an
/// export or a deletion is rare, and its cost is said in docs/BENCHMARKS.md).
async fn sent_in(backend: &impl Backend, user: UserId, conversation: ConversationId) -> Result<Vec<Entry>> {
    let head = backend.head(conversation).await?;
    let (mut sent, mut after) = (vec![], 0);
    loop {
        let (entries, more) = backend.read_range(conversation, after, head, HISTORY_PAGE).await?;
        after = entries.last().map_or(head, |entry| entry.seq);
        sent.extend(entries.into_iter().filter(|entry| entry.message().is_some_and(|m| m.from == user)));
        if !more || after >= head {
            return Ok(sent);
        }
    }
}

/// What `GET /user/export` answers: the archive itself, or where a larger one was written.
#[derive(Debug, PartialEq)]
pub enum Export {
    Inline(Value),
    Stored { url: String, bytes: usize },
}

/// `GET /user/export`: the caller's profile, relationships, groups and the messages they sent,
/// as JSON; past `inline_max` bytes it is written to S3 and a signed link answers.
pub async fn export(backend: &impl Backend, user: UserId, inline_max: usize) -> Result<Export> {
    limits::check(backend, &EXPORTS_PER_USER, &user.to_string()).await?;
    let profile = backend.profile(user).await?.ok_or(Refusal::UserNotFound)?;
    let relationships: Vec<Value> = backend
        .list(user, List::Any)
        .await?
        .into_iter()
        .map(|listed| {
            let edge = listed.edge;
            json!({
                "user": listed.other, "friendship": edge.friendship.as_str(), "following": edge.following,
                "followed_by": edge.followed_by, "blocking": edge.blocking, "blocked_by": edge.blocked_by,
            })
        })
        .collect();
    let memberships = groups::of_user(backend, user).await?;
    let ids: Vec<GroupId> = memberships.iter().map(|(id, _)| *id).collect();
    let groups: Vec<Value> = memberships
        .into_iter()
        .map(|(id, info)| json!({ "g_id": id, "name": info.name, "creator": info.creator }))
        .collect();
    let mut messages = vec![];
    for conversation in conversations_of(backend, user, &ids).await? {
        for entry in sent_in(backend, user, conversation).await? {
            // A view is plain fields: it always serializes.
            let mut view = serde_json::to_value(entry.view()).unwrap_or_default();
            view["conversation"] = json!(conversation.to_string());
            messages.push(view);
        }
    }
    let archive = json!({
        "format": "im-export/1", "exported_at": now_secs(), "profile": profile.view(Some(user)),
        "relationships": relationships, "groups": groups, "messages": messages,
    });
    let bytes = serde_json::to_vec(&archive).unwrap_or_default();
    if bytes.len() <= inline_max {
        return Ok(Export::Inline(archive));
    }
    let key = format!("{EXPORT_PREFIX}{user}/{:032x}.json", rand::random::<u128>());
    let size = bytes.len();
    backend.put_blob(&key, bytes, "application/json").await?;
    let download = Download { content_type: Some("application/json".into()), file_name: Some("export.json".into()) };
    Ok(Export::Stored { url: backend.download_url(&key, &download).await?, bytes: size })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::Target;
    use crate::domain::message::Outgoing;
    use crate::domain::push::Platform;
    use crate::domain::relation::Edge;
    use crate::service::messages;
    use crate::store::memory::{actor, refused, Memory};

    async fn say(memory: &Memory, from: u64, id: &str, to: u64) {
        let out = Outgoing::new(id.into(), "text", format!("text {id}"), Target::User(UserId(to))).unwrap();
        messages::send(memory, &actor(from, "web"), &out).await.unwrap();
    }

    #[tokio::test]
    async fn an_export_holds_only_what_the_user_sent_and_past_the_limit_goes_to_s3() {
        let memory = Memory::default();
        memory.user(1, None);
        memory.user(2, None);
        memory.befriend(1, 2);
        say(&memory, 1, "a", 2).await;
        say(&memory, 2, "b", 1).await;
        say(&memory, 1, "c", 2).await;
        let Export::Inline(archive) = export(&memory, UserId(1), EXPORT_INLINE_MAX).await.unwrap() else {
            panic!("a small archive is answered inline");
        };
        let texts: Vec<&str> = archive["messages"].as_array().unwrap().iter().filter_map(|m| m["c"].as_str()).collect();
        assert_eq!(texts, ["text a", "text c"]);
        assert_eq!(archive["relationships"][0]["friendship"], "friend");

        let Export::Stored { url, bytes } = export(&memory, UserId(1), 100).await.unwrap() else {
            panic!("past the limit it is stored");
        };
        let key = url.strip_prefix("memory://").unwrap();
        assert!(key.starts_with("export/1/"), "{key}");
        let stored: Value = serde_json::from_slice(&memory.state().blobs[key]).unwrap();
        assert_eq!((stored["messages"].as_array().map(Vec::len), bytes > 100), (Some(2), true));
    }

    #[tokio::test]
    async fn a_deletion_leaves_nothing_of_the_account_but_its_messages() {
        let memory = Memory::default();
        for user in 1..=3 {
            memory.user(user, None);
        }
        memory.befriend(1, 2);
        memory.befriend(1, 3);
        memory.group(7, &[1, 3, 2]);
        memory.group(8, &[1]);
        say(&memory, 1, "a", 2).await;
        let hash = auth::hash_password("pw-of-one".into()).await.unwrap();
        memory.state().password_hashes.insert(UserId(1), hash);
        push::register(&memory, (UserId(1), "phone~1", "s1"), Platform::Fcm, "fcm-token-of-one").await.unwrap();
        let device = crate::domain::ids::DeviceName::parse(Some("phone")).unwrap();
        let caller = Caller { user_id: UserId(1), device, tag: "1".into(), session: "s1".into() };

        delete(&memory, &caller, Password::from("pw-of-one")).await.unwrap();

        let state = memory.state();
        assert!(!state.profiles.contains_key(&UserId(1)));
        assert!(!state.claims.values().any(|id| *id == UserId(1)), "its phone can sign up again");
        // What stays is a tombstone: no relationship, only the version the other side's contact
        // sync reads to learn of the removal (`GET /contact/version/{v}`).
        let left = state.edges.iter().filter(|((a, b), _)| *a == UserId(1) || *b == UserId(1));
        let relationships: Vec<_> =
            left.filter(|(_, edge)| **edge != Edge { version: edge.version, ..Edge::default() }).collect();
        assert!(relationships.is_empty(), "no relationship left: {relationships:?}");
        assert!(state.push.get(&UserId(1)).is_none_or(|r| r.is_empty()), "no push registration left");
        assert!(!state.push_tokens.contains_key("fcm-token-of-one"));
        assert_eq!(state.members[&GroupId(7)], [UserId(3), UserId(2)]);
        assert_eq!(state.groups[&GroupId(7)].creator, UserId(2), "the oldest account takes the group over");
        assert!(!state.groups.contains_key(&GroupId(8)), "a group of one goes with it");
        drop(state);
        assert_eq!(memory.told(2), ["delete_contact"], "a friend is told");
        assert_eq!(memory.stream(ConversationId::Group(GroupId(7))).len(), 1, "the members hear it left the group");
        let dm = ConversationId::direct(UserId(1), UserId(2));
        assert_eq!(memory.stream(dm).len(), 1, "the message stays in the other side's history");
    }

    #[tokio::test]
    async fn a_wrong_password_deletes_nothing() {
        let memory = Memory::default();
        memory.user(1, None);
        memory.user(2, None);
        memory.befriend(1, 2);
        let device = crate::domain::ids::DeviceName::parse(Some("web")).unwrap();
        let caller = Caller { user_id: UserId(1), device, tag: String::new(), session: String::new() };
        let wrong = delete(&memory, &caller, Password::from("not-the-password")).await;
        assert!(matches!(refused(wrong), Refusal::WrongCredentials));
        assert!(memory.state().profiles.contains_key(&UserId(1)));
        assert_eq!(memory.state().profiles.len(), 2);
    }
}
