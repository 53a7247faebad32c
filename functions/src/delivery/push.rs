//! Mobile push: every registered device of a recipient that has not confirmed an entry hears
//! of it through SNS. The function that stored the entry queues jobs on the push queue (SQS)
//! beside its socket posts: at once for the devices without a live socket, after
//! `PUSH_AFTER_SECS` for those with one (the backgrounded phone whose socket API Gateway still
//! holds: pushed only if it has not confirmed by then). The push worker (`push`, the queue's
//! event source) sends them. A job is a user and an entry; what to say and to whom is read
//! when it runs, so a confirmation, an unregistering or a block in between counts.

use crate::domain::entry::Entry;
use crate::domain::ids::{device_key, Actor, ConversationId, UserId};
use crate::domain::message::MessageKind;
use crate::domain::notification::{preview, Alert, Notification};
use crate::domain::push::Registration;
use crate::store::connections::Connection;
use crate::store::push::{Holder, Published};
use crate::store::{self, Backend};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One push job: an entry for one user's devices, each pushed only if it has not confirmed
/// the entry by the time the job runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub user: UserId,
    pub conversation: String,
    pub seq: u64,
    pub devices: Vec<String>,
}

/// The jobs for an entry whose recipients have the push-registered devices `pushable` and the
/// live connections `live`: per recipient one job at once for their registered devices without
/// a socket, and one after `after` seconds for those with one. Nothing for a recipient without
/// registered devices (most web users: no queue request, no worker run), nothing to the sender.
pub fn jobs(
    actor: &Actor,
    entry: &Entry,
    pushable: &[(UserId, String)],
    live: &[Connection],
    after: u32,
) -> Vec<(Job, u32)> {
    let mut by_user: BTreeMap<UserId, (Vec<String>, Vec<String>)> = BTreeMap::new();
    for (user, device) in pushable.iter().filter(|(user, _)| *user != actor.user_id) {
        let has_socket = live.iter().any(|c| c.user_id == Some(*user) && device_key(&c.device, &c.tag) == *device);
        let (now, later) = by_user.entry(*user).or_default();
        match has_socket {
            true => later.push(device.clone()),
            false => now.push(device.clone()),
        }
    }
    let mut jobs = vec![];
    for (user, (now, later)) in by_user {
        let job = |devices| Job { user, conversation: entry.conversation.to_string(), seq: entry.seq, devices };
        if !now.is_empty() {
            jobs.push((job(now), 0));
        }
        if !later.is_empty() {
            jobs.push((job(later), after));
        }
    }
    jobs
}

/// Queues the jobs of an entry ([`jobs`]); a failure is logged, never the sender's: the entry
/// is stored, and the device will sync it.
pub async fn queue(
    backend: &impl Backend,
    actor: &Actor,
    entry: &Entry,
    pushable: &[(UserId, String)],
    live: &[Connection],
) {
    let bodies: Vec<(String, u32)> = jobs(actor, entry, pushable, live, backend.push_after_secs())
        .into_iter()
        .filter_map(|(job, delay)| Some((serde_json::to_string(&job).ok()?, delay)))
        .collect();
    if bodies.is_empty() {
        return;
    }
    if let Err(err) = backend.enqueue_pushes(&bodies).await {
        tracing::warn!(error = %err, "could not queue pushes; devices sync the entry when they open");
    }
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
/// the entry, unless the user blocks its sender; an endpoint SNS says is gone loses its
/// registration.
pub async fn deliver(backend: &impl Backend, job: &Job) -> store::Result<()> {
    let conversation: ConversationId = job.conversation.parse().map_err(store::malformed)?;
    let mut devices: Vec<Registration> = vec![];
    for registration in backend.registrations(job.user).await? {
        if !job.devices.contains(&registration.device) {
            continue;
        }
        let position = backend.positions(job.user, &registration.device, &[conversation]).await?;
        if !position.first().is_some_and(|p| p.confirmed.contains(job.seq)) {
            devices.push(registration);
        }
    }
    if devices.is_empty() {
        return Ok(());
    }
    let (entries, _) = backend.read_range(conversation, job.seq.saturating_sub(1), job.seq, 1).await?;
    let Some(message) = entries.first().and_then(Entry::message).filter(|m| !m.deleted) else { return Ok(()) };
    let edge = backend.edge(job.user, message.from).await.map_err(|e| store::StoreError::Aws(e.to_string()))?;
    if edge.blocking {
        return Ok(());
    }
    let settings = backend.push_settings(job.user).await?;
    if settings.muted(&job.conversation, crate::domain::now_secs()) {
        return Ok(());
    }
    let title = match conversation {
        ConversationId::Group(group) => backend.info(group).await?.map(|info| info.name),
        _ => backend
            .profile(message.from)
            .await?
            .map(|p| p.view(Some(job.user))["name"].as_str().map_or_else(|| p.contact_key(), String::from)),
    };
    let body = preview(&message.c, message.t == MessageKind::Audio, settings.push_preview);
    let notification = Notification {
        alert: Some(Alert { title: title.unwrap_or_default(), body }),
        badge: unread_total(backend, job.user).await?,
        thread: job.conversation.clone(),
        data: BTreeMap::from([
            ("conversation".to_string(), job.conversation.clone()),
            ("id".to_string(), format!("{}:{}", job.conversation, job.seq)),
            ("seq".to_string(), job.seq.to_string()),
        ]),
    };
    for registration in devices {
        let message = notification.sns_message(registration.platform);
        if let Published::Gone(why) = backend.publish(&registration.endpoint, &message).await? {
            tracing::info!(device = %registration.device, why, "push endpoint gone: registration removed");
            backend.remove_registrations(job.user, std::slice::from_ref(&registration.device)).await?;
            backend.mark_pushable(job.user, &registration.device, false).await?;
            let holder = Holder { user_id: job.user, device: registration.device.clone() };
            backend.release_push_token(&registration.token, &holder).await?;
        }
    }
    Ok(())
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
    use crate::domain::ids::Target;
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
}
