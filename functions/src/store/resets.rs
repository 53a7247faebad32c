//! Password reset codes (issue 27), in the users table: `reset#<user>` holds the code's hash,
//! when it expires (the table's TTL sweeps it) and the wrong guesses so far. One code per
//! account: a new one replaces the last. The code reaches its owner through `super::outside`.

use super::ports::ResetStore;
use super::{aws, from_item, lost_condition, malformed, n, s, to_item, Result};
use crate::domain::ids::UserId;
use crate::domain::reset::Reset;
use aws_sdk_dynamodb::types::ReturnValue;
use im_adapters::Clients;

/// The item of a user's reset code (an account deletion deletes it too: `users::erase`).
pub(super) fn key(user: UserId) -> String {
    format!("reset#{user}")
}

impl ResetStore for Clients {
    async fn put_reset(&self, user: UserId, reset: &Reset) -> Result<()> {
        let mut item = to_item(reset)?;
        item.insert("pk".into(), s(key(user)));
        self.dynamodb
            .put_item()
            .table_name(&self.config.tables.users)
            .set_item(Some(item))
            .send()
            .await
            .map_err(aws)?;
        Ok(())
    }
    async fn reset_of(&self, user: UserId) -> Result<Option<Reset>> {
        let get = self.dynamodb.get_item().table_name(&self.config.tables.users).key("pk", s(key(user)));
        let out = get.consistent_read(true).send().await.map_err(aws)?;
        out.item.map(from_item).transpose()
    }
    async fn count_reset_try(&self, user: UserId) -> Result<u64> {
        let update = self
            .dynamodb
            .update_item()
            .table_name(&self.config.tables.users)
            .key("pk", s(key(user)))
            .update_expression("ADD tries :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match update {
            Ok(out) => {
                let tries = out.attributes.and_then(|a| a.get("tries").and_then(|v| v.as_n().ok()).cloned());
                tries.and_then(|t| t.parse().ok()).ok_or_else(|| malformed("a reset without its tries"))
            }
            // Used or replaced meanwhile: as many tries as a blocked code.
            Err(err) if lost_condition(&err) => Ok(u64::MAX),
            Err(err) => Err(aws(err)),
        }
    }
    async fn delete_reset(&self, user: UserId) -> Result<()> {
        let delete = self.dynamodb.delete_item().table_name(&self.config.tables.users).key("pk", s(key(user)));
        delete.send().await.map_err(aws)?;
        Ok(())
    }
}
