//! The push port, beside `super::ports` (which re-exports it into
//! [`Backend`](super::ports::Backend)): registrations, their SNS endpoints, settings and mutes.

use super::push::{Flag, Holder, Published, Settings as PushSettings, Visibility};
use super::Result;
use crate::domain::ids::UserId;
use crate::domain::push::Registration;
use std::future::Future;

/// Push registrations (in the users table) and their SNS platform endpoints (`super::push`).
pub trait PushStore: Sync {
    /// The user's registrations, one per device.
    fn registrations(&self, user: UserId) -> impl Future<Output = Result<Vec<Registration>>> + Send;
    fn put_registration(&self, user: UserId, registration: &Registration) -> impl Future<Output = Result<()>> + Send;
    fn remove_registrations(&self, user: UserId, devices: &[String]) -> impl Future<Output = Result<()>> + Send;
    /// Makes `holder` the token's holder; the one it replaces, if any.
    fn claim_push_token(&self, token: &str, holder: &Holder) -> impl Future<Output = Result<Option<Holder>>> + Send;
    /// Lets the token go if `holder` still holds it; whether it did.
    fn release_push_token(&self, token: &str, holder: &Holder) -> impl Future<Output = Result<bool>> + Send;
    /// The token's SNS platform endpoint under `application`, enabled.
    fn push_endpoint(&self, application: &str, token: &str) -> impl Future<Output = Result<String>> + Send;
    fn delete_push_endpoint(&self, endpoint: &str) -> impl Future<Output = Result<()>> + Send;
    /// The user's push settings and mutes (`super::push::Settings`).
    fn push_settings(&self, user: UserId) -> impl Future<Output = Result<PushSettings>> + Send;
    fn set_flag(&self, user: UserId, flag: Flag, on: bool) -> impl Future<Output = Result<()>> + Send;
    fn set_presence(&self, user: UserId, visibility: Visibility) -> impl Future<Output = Result<()>> + Send;
    /// The settings of each of `users`, in their order.
    fn settings_of(&self, users: &[UserId]) -> impl Future<Output = Result<Vec<PushSettings>>> + Send;
    /// Mutes a conversation (by its id) until `until` seconds; 0 unmutes.
    fn set_mute(&self, user: UserId, conversation: &str, until: u64) -> impl Future<Output = Result<()>> + Send;
    /// Marks a device as registered for push (or not) where deliveries look (`Audience`).
    fn mark_pushable(&self, user: UserId, device: &str, on: bool) -> impl Future<Output = Result<()>> + Send;
    /// Publishes an SNS message (`Notification::sns_message`) to one endpoint.
    fn publish(&self, endpoint: &str, message: &str) -> impl Future<Output = Result<Published>> + Send;
    /// Queues push jobs for the push worker: each a body and the seconds it waits first.
    fn enqueue_pushes(&self, jobs: &[(String, u32)]) -> impl Future<Output = Result<()>> + Send;
    /// Whether SNS has an endpoint enabled, and its token; `None` when it has none.
    fn push_endpoint_state(&self, endpoint: &str) -> impl Future<Output = Result<Option<(bool, String)>>> + Send;
    /// Who holds a token, if anyone.
    fn push_token_holder(&self, token: &str) -> impl Future<Output = Result<Option<Holder>>> + Send;
}
