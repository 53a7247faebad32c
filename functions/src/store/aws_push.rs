//! The push port on AWS (`super::ports::PushStore`): registrations and settings in the users
//! table, the push-registered devices beside the connections, SNS endpoints and publishes, SQS
//! jobs (`super::push`, `super::connections`). Apart from `aws.rs` only for its length.

use super::ports::PushStore;
use super::push::{self, Holder, Published};
use super::Result;
use super::{connections, pushable};
use crate::domain::ids::UserId;
use crate::domain::push::Registration;
use im_adapters::Clients;

impl PushStore for Clients {
    async fn registrations(&self, user: UserId) -> Result<Vec<Registration>> {
        push::registrations(self, user).await
    }
    async fn put_registration(&self, user: UserId, registration: &Registration) -> Result<()> {
        push::put_registration(self, user, registration).await
    }
    async fn remove_registrations(&self, user: UserId, devices: &[String]) -> Result<()> {
        push::remove_registrations(self, user, devices).await
    }
    async fn claim_push_token(&self, token: &str, holder: &Holder) -> Result<Option<Holder>> {
        push::claim_token(self, token, holder).await
    }
    async fn release_push_token(&self, token: &str, holder: &Holder) -> Result<bool> {
        push::release_token(self, token, holder).await
    }
    async fn push_endpoint(&self, application: &str, token: &str) -> Result<String> {
        push::endpoint_for(self, application, token).await
    }
    async fn delete_push_endpoint(&self, endpoint: &str) -> Result<()> {
        push::delete_endpoint(self, endpoint).await
    }
    async fn push_settings(&self, user: UserId) -> Result<push::Settings> {
        push::settings(self, user).await
    }
    async fn set_presence(&self, user: UserId, visibility: push::Visibility) -> Result<()> {
        push::set_presence(self, user, visibility).await
    }
    async fn settings_of(&self, users: &[UserId]) -> Result<Vec<push::Settings>> {
        push::settings_of(self, users).await
    }
    async fn set_flag(&self, user: UserId, flag: push::Flag, on: bool) -> Result<()> {
        push::set_flag(self, user, flag, on).await
    }
    async fn set_mute(&self, user: UserId, conversation: &str, until: u64) -> Result<()> {
        push::set_mute(self, user, conversation, until).await
    }
    async fn mark_pushable(&self, user: UserId, device: &str, on: bool) -> Result<()> {
        // The user's item first: a join in between, which writes the membership before it reads
        // the user's devices, finds the device or is found here (as a bind and a join do).
        connections::mark_pushable(self, user, device, on).await?;
        pushable::mark(self, user, device, on).await
    }
    async fn publish(&self, endpoint: &str, message: &str) -> Result<Published> {
        push::publish(self, endpoint, message).await
    }
    async fn enqueue_pushes(&self, jobs: &[(String, u32)]) -> Result<()> {
        push::enqueue(self, jobs).await
    }
    async fn push_endpoint_state(&self, endpoint: &str) -> Result<Option<(bool, String)>> {
        push::endpoint_state(self, endpoint).await
    }
    async fn push_token_holder(&self, token: &str) -> Result<Option<Holder>> {
        push::token_holder(self, token).await
    }
}
