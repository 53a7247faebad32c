//! What devices confirmed: every confirmation is kept for the device and for its user, so a
//! device seen for the first time starts where its user stands (`service::sync::start_device`).

use crate::domain::ids::{ConversationId, UserId};
use crate::domain::now_secs;
use crate::store::{self, Backend};

pub use crate::domain::ids::ANY_DEVICE;

/// Confirms for `device` and for its user ([`ANY_DEVICE`]), both at once: what one device
/// confirmed counts as delivered to the user's devices that come later. A device's cursor dies
/// with the longest session it can have; the user's lives on. Answers the highest entry any
/// device of the user has confirmed, when this raised it (a delivered receipt's news).
pub async fn confirm(
    backend: &impl Backend,
    user: UserId,
    device: &str,
    conversation: ConversationId,
    head: u64,
    seqs: &[u64],
    up_to: Option<u64>,
) -> store::Result<Option<u64>> {
    let expires_at = now_secs() + backend.token_lifetime();
    let (own, any) = futures::join!(
        backend.confirm(user, device, conversation, head, seqs, up_to, Some(expires_at)),
        backend.confirm(user, ANY_DEVICE, conversation, head, seqs, up_to, None),
    );
    own?;
    any
}
