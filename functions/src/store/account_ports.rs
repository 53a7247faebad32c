//! The ports of the everyday account (issue 27), beside `super::ports` (which re-exports them
//! into [`Backend`](super::ports::Backend)): the inbox index, reports, password reset codes, and
//! messages to people outside the app.

use super::Result;
use crate::domain::entry::Entry;
use crate::domain::ids::{ConversationId, UserId};
use crate::domain::inbox::Cursor;
use crate::domain::report::Report;
use crate::domain::reset::Reset;
use std::future::Future;

/// The inbox (`super::inbox`): each user's conversations by their last activity.
pub trait InboxStore: Sync {
    /// Notes activity at `at` (ms) in a conversation in each user's inbox.
    fn touch_inbox(
        &self,
        users: &[UserId],
        conversation: ConversationId,
        at: u64,
    ) -> impl Future<Output = Result<()>> + Send;
    fn forget_in_inbox(
        &self,
        users: &[UserId],
        conversation: ConversationId,
    ) -> impl Future<Output = Result<()>> + Send;
    /// At most `limit` of `user`'s conversations, newest activity first, after `after`; where
    /// the next page starts, if one may follow.
    fn inbox_page(
        &self,
        user: UserId,
        limit: usize,
        after: Option<&Cursor>,
    ) -> impl Future<Output = Result<(Vec<Cursor>, Option<Cursor>)>> + Send;
    /// A conversation's last entry.
    fn latest(&self, conversation: ConversationId) -> impl Future<Output = Result<Option<Entry>>> + Send;
    /// Claims the writing of a conversation's activity into inboxes at `now` (ms), unless it
    /// was claimed within `every` ms.
    fn claim_inbox_refresh(
        &self,
        conversation: ConversationId,
        now: u64,
        every: u64,
    ) -> impl Future<Output = Result<bool>> + Send;
}

/// Password reset codes (`super::resets`), one per account.
pub trait ResetStore: Sync {
    fn put_reset(&self, user: UserId, reset: &Reset) -> impl Future<Output = Result<()>> + Send;
    /// The account's code, read strongly consistent.
    fn reset_of(&self, user: UserId) -> impl Future<Output = Result<Option<Reset>>> + Send;
    /// Counts a wrong guess: the guesses so far (`u64::MAX` once the code is gone).
    fn count_reset_try(&self, user: UserId) -> impl Future<Output = Result<u64>> + Send;
    fn delete_reset(&self, user: UserId) -> impl Future<Output = Result<()>> + Send;
}

/// Messages to people outside the app: SMS (SNS), email (SES), the operator's topic (SNS).
pub trait Messenger: Sync {
    /// One SMS to an E.164 number.
    fn send_sms(&self, number: &str, text: &str) -> impl Future<Output = Result<()>> + Send;
    fn send_email(&self, to: &str, subject: &str, text: &str) -> impl Future<Output = Result<()>> + Send;
    /// Tells the operator (the deployment's `ReportTopic`; nothing when there is none).
    fn notify_operator(&self, subject: &str, text: &str) -> impl Future<Output = Result<()>> + Send;
    /// Whether the deployment has a sender for emails (`ResetEmailFrom`).
    fn can_email(&self) -> bool;
    /// The calling code of phones written without one (`SmsCallingCode`).
    fn calling_code(&self) -> &str;
}

/// Reports of abuse, kept for the operator (`super::reports`).
pub trait ReportStore: Sync {
    /// Stores a report under its day at `number`; `false` when the number is taken.
    fn file_report(&self, day: &str, number: u64, report: &Report) -> impl Future<Output = Result<bool>> + Send;
}
