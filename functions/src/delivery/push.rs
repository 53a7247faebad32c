//! Mobile push: every registered device of a recipient that has not confirmed an entry hears
//! of it through SNS. The function that stored the entry queues jobs on the push queue (SQS)
//! beside its socket posts: at once for the devices without a live socket, after
//! `PUSH_AFTER_SECS` for those with one (the backgrounded phone whose socket API Gateway still
//! holds: pushed only if it has not confirmed by then). The push worker (`push`, the queue's
//! event source) sends them. A job is a user and an entry; what to say and to whom is read
//! when it runs, so a confirmation, an unregistering or a block in between counts.

use crate::domain::entry::{Body, Entry, Message};
use crate::domain::ids::{device_key, Actor, ConversationId, EntryId, UserId};
use crate::domain::notification::{notice_body, preview, Alert, Notification};
use crate::domain::push::Registration;
use crate::store::connections::Audience;
use crate::store::push::{Holder, Published};
use crate::store::{self, Backend};
use im_adapters::emf::{self, Unit};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One push job: an entry for one user's devices, each pushed only if it has not confirmed
/// the entry by the time the job runs; or, `badge_only`, the user's new unread total for
/// devices other than the one that read (no alert: the phone only updates its badge).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub user: UserId,
    pub conversation: String,
    pub seq: u64,
    pub devices: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub badge_only: bool,
}

/// The jobs for entries reaching users (`reached`) whose push-registered devices and live
/// connections are `found`: per recipient and entry that alerts them (`Entry::alerts`), one
/// job at once for their registered devices without a socket, and one after `after` seconds
/// for those with one. Nothing for a recipient without registered devices (most web users: no
/// queue request, no worker run), nothing to the actor.
pub fn jobs(actor: &Actor, reached: &[(UserId, &Entry)], found: &Audience, after: u32) -> Vec<(Job, u32)> {
    let mut jobs = vec![];
    for (user, entry) in reached.iter().filter(|(user, entry)| *user != actor.user_id && entry.alerts(*user)) {
        let (mut now, mut later) = (vec![], vec![]);
        for (_, device) in found.pushable.iter().filter(|(owner, _)| owner == user) {
            let has_socket =
                found.live.iter().any(|c| c.user_id == Some(*user) && device_key(&c.device, &c.tag) == *device);
            match has_socket {
                true => later.push(device.clone()),
                false => now.push(device.clone()),
            }
        }
        let conversation = entry.conversation.to_string();
        let job = |devices| Job {
            user: *user,
            conversation: conversation.clone(),
            seq: entry.seq,
            devices,
            badge_only: false,
        };
        if !now.is_empty() {
            jobs.push((job(now), 0));
        }
        if !later.is_empty() {
            jobs.push((job(later), after));
        }
    }
    jobs
}

/// Queues the jobs of entries ([`jobs`]); a failure is logged, never the sender's: the entry
/// is stored, and the device will sync it.
pub async fn queue(backend: &impl Backend, actor: &Actor, reached: &[(UserId, &Entry)], found: &Audience) {
    let jobs = jobs(actor, reached, found, backend.push_after_secs());
    enqueue(backend, jobs).await;
}

async fn enqueue(backend: &impl Backend, jobs: Vec<(Job, u32)>) {
    let bodies: Vec<(String, u32)> =
        jobs.into_iter().filter_map(|(job, delay)| Some((serde_json::to_string(&job).ok()?, delay))).collect();
    if bodies.is_empty() {
        return;
    }
    if let Err(err) = backend.enqueue_pushes(&bodies).await {
        tracing::warn!(error = %err, "could not queue pushes; devices sync the entry when they open");
    }
}

/// After `actor` read `conversation` up to `seq`: a badge-only job for the user's other
/// registered devices, so a phone's badge falls when its user reads on another device. One
/// look-up of the user's item; nothing queued for a user without other registered devices.
pub async fn queue_badge(backend: &impl Backend, actor: &Actor, conversation: ConversationId, seq: u64) {
    let found = match backend.audience(&[actor.user_id]).await {
        Ok(found) => found,
        Err(err) => return tracing::warn!(error = %err, "could not look up devices for a badge push"),
    };
    let reader = device_key(&actor.device, &actor.tag);
    let devices: Vec<String> = found.pushable.into_iter().map(|(_, device)| device).filter(|d| *d != reader).collect();
    if devices.is_empty() {
        return;
    }
    let job = Job { user: actor.user_id, conversation: conversation.to_string(), seq, devices, badge_only: true };
    enqueue(backend, vec![(job, 0)]).await;
}

/// The push worker: an SQS batch of jobs in, the ids of the jobs to retry out
/// (`ReportBatchItemFailures`): SQS redelivers those, and after three tries moves them to the
/// dead-letter queue.
pub async fn run(backend: &impl Backend, event: Value) -> Result<Value, String> {
    let mut failures = vec![];
    for record in event["Records"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let id = record["messageId"].as_str().unwrap_or_default();
        let job = serde_json::from_str::<Job>(record["body"].as_str().unwrap_or_default());
        let outcome = match job {
            Ok(job) => deliver(backend, &job).await.map_err(|e| e.to_string()),
            // A body no version of this code wrote: retrying cannot help.
            Err(err) => {
                tracing::error!(error = %err, "a push job that does not parse was dropped");
                Ok(())
            }
        };
        if let Err(err) = outcome {
            tracing::warn!(error = %err, job = id, "push job failed; SQS retries it");
            failures.push(json!({ "itemIdentifier": id }));
        }
    }
    Ok(json!({ "batchItemFailures": failures }))
}

/// Sends one job: to each of the user's registered devices it names that has not confirmed
/// the entry (a badge-only job: to each), unless the entry no longer alerts them ([`alert`]);
/// an endpoint SNS says is gone loses its registration.
pub async fn deliver(backend: &impl Backend, job: &Job) -> store::Result<()> {
    let conversation: ConversationId = job.conversation.parse().map_err(store::malformed)?;
    let mut devices: Vec<Registration> = vec![];
    for registration in backend.registrations(job.user).await? {
        if !job.devices.contains(&registration.device) {
            continue;
        }
        let confirmed = match job.badge_only {
            true => false,
            false => {
                let position = backend.positions(job.user, &registration.device, &[conversation]).await?;
                position.first().is_some_and(|p| p.confirmed.contains(job.seq))
            }
        };
        if !confirmed {
            devices.push(registration);
        }
    }
    if devices.is_empty() {
        return Ok(());
    }
    let mut data = BTreeMap::from([
        ("conversation".to_string(), job.conversation.clone()),
        ("id".to_string(), EntryId::of(conversation, job.seq).to_string()),
        ("seq".to_string(), job.seq.to_string()),
    ]);
    let alert = match job.badge_only {
        true => None,
        false => match alert(backend, job, conversation).await? {
            Some((alert, reply)) => {
                data.extend(reply);
                Some(alert)
            }
            None => return Ok(()),
        },
    };
    let notification =
        Notification { alert, badge: unread_total(backend, job.user).await?, thread: job.conversation.clone(), data };
    let (mut sent, mut gone) = (0.0, 0.0);
    for registration in devices {
        let message = notification.sns_message(registration.platform);
        if let Published::Gone(why) = backend.publish(&registration.endpoint, &message).await? {
            tracing::info!(device = %registration.device, why, "push endpoint gone: registration removed");
            forget(backend, job.user, &registration).await?;
            gone += 1.0;
        } else {
            sent += 1.0;
        }
    }
    emf::emit(&[("PushesSent", sent, Unit::Count), ("PushesFailed", gone, Unit::Count)]);
    Ok(())
}

/// Removes a registration whose endpoint is gone, and frees its token.
pub async fn forget(backend: &impl Backend, user: UserId, registration: &Registration) -> store::Result<()> {
    backend.remove_registrations(user, std::slice::from_ref(&registration.device)).await?;
    backend.mark_pushable(user, &registration.device, false).await?;
    let holder = Holder { user_id: user, device: registration.device.clone() };
    backend.release_push_token(&registration.token, &holder).await?;
    Ok(())
}

/// What the push of a job's entry says: the group's name or the sender's (as the recipient may
/// see it), and a preview of the message or what the notice was. `None` when it is not to be
/// pushed any more: deleted, from someone the user blocks, in a conversation they muted. A
/// reply's push also carries `reply_to` and, with previews on, `reply_snippet`.
async fn alert(
    backend: &impl Backend,
    job: &Job,
    conversation: ConversationId,
) -> store::Result<Option<(Alert, Vec<(String, String)>)>> {
    let (entries, _) = backend.read_range(conversation, job.seq.saturating_sub(1), job.seq, 1).await?;
    let Some(entry) = entries.into_iter().next().filter(|e| e.alerts(job.user)) else { return Ok(None) };
    let from = entry.sender();
    let edge = backend.edge(job.user, from).await.map_err(|e| store::StoreError::Aws(e.to_string()))?;
    if edge.blocking {
        return Ok(None);
    }
    let settings = backend.push_settings(job.user).await?;
    if settings.muted(&job.conversation, crate::domain::now_secs()) {
        return Ok(None);
    }
    let sender = backend
        .profile(from)
        .await?
        .map(|p| p.view(Some(job.user))["name"].as_str().map_or_else(|| p.contact_key(), String::from))
        .unwrap_or_default();
    let group = match conversation {
        ConversationId::Group(group) => backend.info(group).await?.map(|info| info.name),
        _ => None,
    };
    let (body, reply) = match &entry.body {
        Body::Message(m) => (preview(&m.c, m.t, settings.push_preview), reply_data(m, settings.push_preview)),
        Body::Notice(n) => (notice_body(&n.what, &sender), vec![]),
    };
    Ok(Some((Alert { title: group.unwrap_or(sender), body }, reply)))
}

/// A reply's fields for a push's data: what it answers, and its quote when previews are on.
fn reply_data(message: &Message, preview: bool) -> Vec<(String, String)> {
    let Some(reply_to) = &message.details.reply_to else { return vec![] };
    let mut data = vec![("reply_to".to_string(), reply_to.clone())];
    if let Some(snippet) = message.details.reply_snippet.as_ref().filter(|_| preview) {
        data.push(("reply_snippet".to_string(), snippet.clone()));
    }
    data
}

/// The user's exact unread total: every conversation's head less their read marker, the same
/// numbers the unread counts give (reads, no per-recipient counter).
async fn unread_total(backend: &impl Backend, user: UserId) -> store::Result<u64> {
    let conversations = super::conversations_of(backend, user).await?;
    Ok(backend.unread_in(user, &conversations).await?.iter().sum())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::format::Format;
    use crate::domain::ids::{GroupId, Target};
    use crate::domain::message::Outgoing;
    use crate::domain::push::Platform;
    use crate::store::memory::{actor, Memory};
    use crate::store::ports::StreamStore;

    /// Ann (1) and Bob (2), friends; Bob's phone registered for FCM.
    async fn ann_and_bobs_phone() -> Memory {
        let memory = Memory::default();
        memory.user(1, Some("ann@example.com"));
        memory.user(2, None);
        memory.befriend(1, 2);
        crate::service::push::register(&memory, (UserId(2), "android~p", "s2"), Platform::Fcm, "tok-bob-phone")
            .await
            .unwrap();
        memory
    }

    async fn send(memory: &Memory, text: &str) -> Vec<(Job, u32)> {
        let out = Outgoing::new(format!("c-{text}"), "text", text.into(), Target::User(UserId(2))).unwrap();
        crate::service::messages::send(memory, &actor(1, "web"), &out).await.unwrap();
        let jobs = std::mem::take(&mut memory.state().push_jobs);
        jobs.into_iter().map(|(body, delay)| (serde_json::from_str(&body).unwrap(), delay)).collect()
    }

    fn published_gcm(memory: &Memory) -> Vec<Value> {
        let messages = memory.state().published.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>();
        let gcm = |m: &String| {
            serde_json::from_str::<Value>(serde_json::from_str::<Value>(m).unwrap()["GCM"].as_str().unwrap()).unwrap()
        };
        messages.iter().map(gcm).collect()
    }

    #[tokio::test]
    async fn a_device_without_a_socket_is_pushed_at_once_with_the_badge() {
        let memory = ann_and_bobs_phone().await;
        let jobs = send(&memory, "hello").await;
        assert_eq!(jobs.len(), 1, "no live socket: one job, at once");
        assert_eq!((jobs[0].1, jobs[0].0.user), (0, UserId(2)));
        deliver(&memory, &jobs[0].0).await.unwrap();
        let jobs = send(&memory, "again").await;
        deliver(&memory, &jobs[0].0).await.unwrap();
        let sent = published_gcm(&memory);
        let message = &sent[1]["fcmV1Message"]["message"];
        assert_eq!(message["notification"], json!({ "title": "user 1", "body": "again" }), "{message}");
        assert_eq!(message["android"]["notification"]["notification_count"], 2);
        assert_eq!(message["data"]["badge"], "2");
    }

    #[tokio::test]
    async fn a_live_device_gets_a_delayed_job_that_a_confirmation_cancels() {
        let memory = ann_and_bobs_phone().await;
        let phone = memory.connect(2, "android", Format::Json);
        memory.state().connections.iter_mut().for_each(|c| c.tag = "p".into());
        let jobs = send(&memory, "hello").await;
        assert_eq!(jobs.len(), 1, "the only registered device is live: one job, later");
        let (delayed, after) = &jobs[0];
        assert_eq!((*after, delayed.devices.clone()), (10, vec!["android~p".to_string()]));
        let dm = ConversationId::direct(UserId(1), UserId(2));
        memory.confirm(UserId(2), "android~p", dm, delayed.seq, &[delayed.seq], None, None).await.unwrap();
        deliver(&memory, delayed).await.unwrap();
        assert!(memory.state().published.is_empty(), "confirmed in time: no push");
        let _ = phone;
    }

    #[tokio::test]
    async fn a_recipient_without_a_registered_device_costs_no_job() {
        let memory = ann_and_bobs_phone().await;
        crate::service::push::unregister(&memory, (UserId(2), "android~p")).await.unwrap();
        assert!(send(&memory, "hello").await.is_empty());
    }

    #[tokio::test]
    async fn an_endpoint_sns_calls_gone_loses_its_registration() {
        let memory = ann_and_bobs_phone().await;
        let jobs = send(&memory, "hello").await;
        memory.state().gone_endpoints.insert("tok-bob-phone@app/fcm".into());
        deliver(&memory, &jobs[0].0).await.unwrap();
        assert!(memory.state().push.get(&UserId(2)).is_none_or(|r| r.is_empty()), "the registration went");
        assert!(memory.state().push_tokens.is_empty(), "its token is free");
    }

    #[tokio::test]
    async fn a_group_message_queues_one_job_per_registered_member_but_the_sender() {
        let memory = ann_and_bobs_phone().await;
        memory.user(3, None);
        memory.group(9, &[1, 2, 3]);
        crate::service::push::register(&memory, (UserId(3), "ios~p", "s3"), Platform::Fcm, "tok-cy").await.unwrap();
        crate::service::push::register(&memory, (UserId(1), "ios~p", "s1"), Platform::Fcm, "tok-ann").await.unwrap();
        let out = Outgoing::new("g1".into(), "text", "hi all".into(), Target::Group(GroupId(9))).unwrap();
        crate::service::messages::send(&memory, &actor(1, "web"), &out).await.unwrap();
        let mut users: Vec<UserId> =
            memory.state().push_jobs.iter().map(|(body, _)| serde_json::from_str::<Job>(body).unwrap().user).collect();
        users.sort_unstable();
        assert_eq!(users, [UserId(2), UserId(3)], "each member once, the sender not");
    }

    #[tokio::test]
    async fn a_friend_request_is_pushed_and_a_follow_is_not() {
        let memory = Memory::default();
        memory.user(1, Some("ann@example.com"));
        memory.user(2, None);
        crate::service::push::register(&memory, (UserId(2), "android~p", "s2"), Platform::Fcm, "tok-bob")
            .await
            .unwrap();
        crate::service::friends::request(&memory, &actor(1, "web"), UserId(2), false).await.unwrap();
        let jobs = std::mem::take(&mut memory.state().push_jobs);
        assert_eq!(jobs.len(), 1, "the request alerts its recipient only");
        let job: Job = serde_json::from_str(&jobs[0].0).unwrap();
        deliver(&memory, &job).await.unwrap();
        let sent = published_gcm(&memory);
        assert_eq!(sent[0]["fcmV1Message"]["message"]["notification"]["body"], "user 1 sent you a friend request");
        crate::service::friends::tie(&memory, &actor(1, "web"), UserId(2), crate::service::friends::Tie::Follow)
            .await
            .unwrap();
        assert!(memory.state().push_jobs.is_empty(), "a follow reaches sockets and sync only");
    }

    #[tokio::test]
    async fn reading_on_one_device_sends_the_others_their_badge_alone() {
        let memory = ann_and_bobs_phone().await;
        send(&memory, "hello").await;
        crate::service::signals::read(&memory, &actor(2, "web"), Target::User(UserId(1)), u64::MAX).await.unwrap();
        let jobs = std::mem::take(&mut memory.state().push_jobs);
        let job: Job = serde_json::from_str(&jobs[0].0).unwrap();
        assert!(job.badge_only && job.devices == ["android~p"], "{job:?}");
        deliver(&memory, &job).await.unwrap();
        let message = &published_gcm(&memory)[0]["fcmV1Message"]["message"];
        assert!(message.get("notification").is_none(), "no alert: {message}");
        assert_eq!(message["data"]["badge"], "0");
        crate::service::signals::read(&memory, &actor(2, "web"), Target::User(UserId(1)), u64::MAX).await.unwrap();
        assert!(memory.state().push_jobs.is_empty(), "a marker that did not move sends nothing");
    }
}
