//! Reporting a user or a message (issue 27; App Store Review Guideline 1.2 asks it beside
//! blocking). A message can be reported by whoever can see it; the report keeps the message as
//! it was stored then, so a later edit or delete for everyone takes nothing from the operator.

use crate::domain::ids::{Actor, ConversationId, EntryId, UserId};
use crate::domain::limits::REPORTS_PER_USER;
use crate::domain::now_micros;
use crate::domain::refusal::{Refusal, Result};
use crate::domain::report::{day_of, Reason, Report, MAX_REPORT_TEXT};
use crate::service::access::is_member;
use crate::service::{changes, limits};
use crate::store::Backend;
use crate::store::StoreError;

/// What is reported.
#[derive(Clone, Debug, PartialEq)]
pub enum Reported {
    User(UserId),
    /// A message, by its id (`<conversation>:<seq>`).
    Message(String),
}

impl Reported {
    /// What a report names, as both surfaces give it: a user or a message, exactly one.
    pub fn named(user: Option<UserId>, message: Option<String>) -> Result<Reported> {
        match (user, message) {
            (Some(user), None) => Ok(Reported::User(user)),
            (None, Some(message)) => Ok(Reported::Message(message)),
            _ => Err(Refusal::invalid("give user (an id) or message (a message id)").into()),
        }
    }
}

/// `POST /report`: files the report (at most [`REPORTS_PER_USER`] an hour); its id.
pub async fn report(
    backend: &impl Backend,
    actor: &Actor,
    reported: Reported,
    reason: Reason,
    text: Option<String>,
) -> Result<String> {
    if text.as_ref().is_some_and(|t| t.chars().count() > MAX_REPORT_TEXT || t.chars().any(char::is_control)) {
        return Err(Refusal::invalid(format!("text is at most {MAX_REPORT_TEXT} characters, none a control")).into());
    }
    limits::check(backend, &REPORTS_PER_USER, &actor.user_id.to_string()).await?;
    let (user, message, content) = match reported {
        Reported::User(user) => {
            if backend.profile(user).await?.is_none() {
                return Err(Refusal::UserNotFound.into());
            }
            (user, None, None)
        }
        Reported::Message(id) => {
            let not_found = || Refusal::NotFound("no such message".into());
            let (conversation, seq): (ConversationId, u64) = EntryId::message(&id).ok_or_else(not_found)?;
            // A message the caller cannot see is not found, whether or not it exists.
            if !is_member(backend, actor.user_id, conversation).await? {
                return Err(not_found().into());
            }
            let entry = changes::message_at(backend, conversation, seq).await?;
            let message = entry.message().ok_or_else(not_found)?;
            if message.deleted {
                return Err(Refusal::Conflict("the message was deleted".into()).into());
            }
            (message.from, Some(id), Some(serde_json::to_value(message).map_err(crate::store::malformed)?))
        }
    };
    if user == actor.user_id {
        return Err(Refusal::invalid("one does not report oneself").into());
    }
    let (secs, micros) = now_micros();
    let day = day_of(secs);
    // Two reports in one microsecond: the later takes the next number.
    for number in (secs * 1_000_000 + u64::from(micros)..).take(5) {
        let filed = Report {
            id: format!("{day}:{number}"),
            by: actor.user_id,
            user,
            message: message.clone(),
            reason,
            text: text.clone(),
            content: content.clone(),
            at: secs,
        };
        if backend.file_report(&day, number, &filed).await? {
            tell_operator(backend, &filed).await;
            return Ok(filed.id);
        }
    }
    Err(StoreError::Contended.into())
}

/// Publishes a filed report to the operator's topic; stored already, so a failure is logged.
async fn tell_operator(backend: &impl Backend, report: &Report) {
    let subject =
        format!("Report {}: {} by user {} of user {}", report.id, report.reason.as_str(), report.by, report.user);
    let text = serde_json::to_string_pretty(report).unwrap_or_default();
    if let Err(err) = backend.notify_operator(&subject, &text).await {
        tracing::warn!(error = %err, report = %report.id, "could not tell the operator of a report");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::Target;
    use crate::domain::message::Outgoing;
    use crate::service::{changes, messages};
    use crate::store::memory::{actor, refused, Memory};

    #[tokio::test]
    async fn a_reported_message_is_kept_as_it_was_even_once_deleted() {
        let memory = Memory::default();
        for user in 1..=3 {
            memory.user(user, None);
        }
        memory.befriend(1, 2);
        let out = Outgoing::new("c1".into(), "text", "buy cheap pills".into(), Target::User(UserId(1))).unwrap();
        let sent = messages::send(&memory, &actor(2, "web"), &out).await.unwrap();
        let stranger = report(&memory, &actor(3, "web"), Reported::Message(sent.id.clone()), Reason::Spam, None).await;
        assert!(matches!(refused(stranger), Refusal::NotFound(_)), "not theirs to see");
        let own = report(&memory, &actor(2, "web"), Reported::Message(sent.id.clone()), Reason::Spam, None).await;
        assert!(matches!(refused(own), Refusal::Invalid(_)));

        let id =
            report(&memory, &actor(1, "web"), Reported::Message(sent.id.clone()), Reason::Spam, None).await.unwrap();
        let (conversation, seq) = EntryId::message(&sent.id).unwrap();
        changes::delete(&memory, &actor(2, "web"), conversation, seq).await.unwrap();
        {
            let state = memory.state();
            let filed = state.reports.values().find(|r| r.id == id).expect("filed");
            let told = state.outbox.iter().any(|(to, subject)| to == "operator" && subject.contains(&id));
            assert!(told, "the operator is told");
            assert_eq!((filed.user, filed.by, filed.reason), (UserId(2), UserId(1), Reason::Spam));
            assert_eq!(filed.content.as_ref().unwrap()["c"], "buy cheap pills", "as it was");
        }

        let long = Some("x".repeat(MAX_REPORT_TEXT + 1));
        assert!(matches!(
            refused(report(&memory, &actor(1, "web"), Reported::User(UserId(2)), Reason::Other, long).await),
            Refusal::Invalid(_)
        ));
        let nobody = report(&memory, &actor(1, "web"), Reported::User(UserId(99)), Reason::Abuse, None).await;
        assert_eq!(refused(nobody), Refusal::UserNotFound);
    }
}
