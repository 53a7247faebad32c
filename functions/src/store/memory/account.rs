//! Password reset codes and messages to people outside the app, in memory: codes as
//! `store::resets` keeps them, every SMS and email recorded for tests to read.

use super::Memory;
use crate::domain::ids::UserId;
use crate::domain::reset::Reset;
use crate::store::ports::{Messenger, ResetStore};
use crate::store::Result;

impl ResetStore for Memory {
    async fn put_reset(&self, user: UserId, reset: &Reset) -> Result<()> {
        self.state().resets.insert(user, reset.clone());
        Ok(())
    }
    async fn reset_of(&self, user: UserId) -> Result<Option<Reset>> {
        Ok(self.state().resets.get(&user).cloned())
    }
    async fn count_reset_try(&self, user: UserId) -> Result<u64> {
        let mut state = self.state();
        Ok(state.resets.get_mut(&user).map_or(u64::MAX, |reset| {
            reset.tries += 1;
            reset.tries
        }))
    }
    async fn delete_reset(&self, user: UserId) -> Result<()> {
        self.state().resets.remove(&user);
        Ok(())
    }
}

impl Messenger for Memory {
    async fn send_sms(&self, number: &str, text: &str) -> Result<()> {
        self.state().outbox.push((number.to_string(), text.to_string()));
        Ok(())
    }
    async fn send_email(&self, to: &str, _subject: &str, text: &str) -> Result<()> {
        self.state().outbox.push((to.to_string(), text.to_string()));
        Ok(())
    }
    async fn notify_operator(&self, subject: &str, _text: &str) -> Result<()> {
        self.state().outbox.push(("operator".to_string(), subject.to_string()));
        Ok(())
    }
    fn can_email(&self) -> bool {
        true
    }
    fn calling_code(&self) -> &str {
        "1"
    }
}
