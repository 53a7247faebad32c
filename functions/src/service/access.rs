//! Who takes part in a conversation: the one check every use case on a conversation's
//! messages starts from (history, sync, a change, an attachment's download).

use crate::domain::ids::{ConversationId, UserId};
use crate::domain::refusal::Result;
use crate::store::Backend;

/// Whether `user` takes part in a conversation (its id names them, or they are a member).
pub async fn is_member(backend: &impl Backend, user: UserId, conversation: ConversationId) -> Result<bool> {
    match conversation {
        ConversationId::Group(group) => Ok(backend.members(group).await?.contains(&user)),
        other => Ok(other.names(user)),
    }
}
