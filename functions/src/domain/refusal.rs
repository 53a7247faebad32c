//! Every refusal a client can meet, in one table: each variant knows its seed code (seed 004's
//! `404-12` ...), its HTTP status and its message. Surfaces render a refusal (HTTP in TOML or
//! JSON, socket frames in either dialect) and match on variants, never on strings.

/// A request the rules refuse. The message is shown to the client as it is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    // Seed 004's coded refusals.
    #[error("{0} must be a number")]
    BadUserId(String),
    #[error("user not found")]
    UserNotFound,
    #[error("user {0} not found")]
    MemberNotFound(u64),
    #[error("one of you has blocked the other")]
    Blocked,
    #[error("you cannot block yourself")]
    CannotBlockSelf,
    #[error("you cannot follow yourself")]
    CannotFollowSelf,
    #[error("already following")]
    AlreadyFollowing,
    #[error("not following")]
    NotFollowing,
    #[error("friend request already sent")]
    RequestAlreadySent,
    #[error("already friends")]
    AlreadyFriends,
    #[error("they already sent you a friend request: accept it")]
    TheyAlreadyAsked,
    #[error("you cannot add yourself")]
    CannotAddSelf,
    #[error("you cannot send a friend request to yourself")]
    CannotRequestSelf,
    #[error("only the sender of a friend request can withdraw it")]
    OnlySenderWithdraws,
    #[error("friend request not found")]
    RequestNotFound,

    // Refusals without a seed code.
    #[error("not a contact")]
    NotAContact,
    #[error("a user has no relationship with themselves")]
    SelfRelation,
    #[error("one of you has blocked the other")]
    MessageBlocked,
    #[error("you can only message your contacts")]
    NotYourContact,
    #[error("you cannot message yourself")]
    MessageSelf,
    #[error("you are not a member of this group")]
    NotGroupMember,
    #[error("user {0} is not your contact: only contacts may add someone to a group")]
    NotAddable(u64),
    #[error("not your conversation")]
    NotYourConversation,
    #[error("phone is already registered")]
    PhoneTaken,
    #[error("email is already registered")]
    EmailTaken,
    #[error("wrong phone, email or password")]
    WrongCredentials,
    #[error("too many attempts: try again in {0} s")]
    TooManyRequests(u64),
    #[error("password is too common: choose a less guessable one")]
    CommonPassword,
    #[error("too many concurrent changes, try again")]
    Contended,

    // Input that does not parse, and the refusals whose message names the case.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    UnsupportedMedia(String),
}

impl Refusal {
    /// The seed code (seed 004's `<status>-<n>`), when the seed gives the case one.
    pub fn code(&self) -> Option<&'static str> {
        use Refusal::*;
        Some(match self {
            BadUserId(_) => "400-3",
            UserNotFound | MemberNotFound(_) => "404-3",
            Blocked => "400-6",
            CannotBlockSelf => "400-16",
            CannotFollowSelf => "400-17",
            AlreadyFollowing => "400-18",
            NotFollowing => "400-19",
            RequestAlreadySent => "400-20",
            AlreadyFriends => "400-21",
            TheyAlreadyAsked => "400-22",
            CannotAddSelf | CannotRequestSelf => "400-23",
            OnlySenderWithdraws => "403-6",
            RequestNotFound => "404-12",
            _ => return None,
        })
    }

    /// The HTTP status: a code's prefix, else the kind of refusal.
    pub fn status(&self) -> u16 {
        use Refusal::*;
        if let Some(code) = self.code() {
            return code.split('-').next().and_then(|s| s.parse().ok()).unwrap_or(400);
        }
        match self {
            Unauthorized(_) | WrongCredentials => 401,
            MessageBlocked | NotYourContact | NotAddable(_) | NotGroupMember | Forbidden(_) => 403,
            NotAContact | NotFound(_) => 404,
            PhoneTaken | EmailTaken | Contended | Conflict(_) => 409,
            TooLarge(_) => 413,
            TooManyRequests(_) => 429,
            UnsupportedMedia(_) => 415,
            _ => 400,
        }
    }

    /// How long to wait before trying again (HTTP's `Retry-After`), when the refusal says.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Refusal::TooManyRequests(secs) => Some(*secs),
            _ => None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Refusal {
        Refusal::Invalid(message.into())
    }
}

/// What a use case ends with when it does not succeed: a refusal the client sees, or an
/// internal failure whose cause is logged and never sent.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("internal error: {0}")]
    Internal(String),
    /// A backend (DynamoDB, S3, `@connections`) did not answer in time or could not be
    /// reached: `503` with `Retry-After`, the cause logged.
    #[error("backend unavailable: {0}")]
    Unavailable(String),
}

/// Seconds a client waits before retrying after a `503`.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 2;

impl Error {
    /// Any internal failure, keeping its full cause for the log.
    pub fn internal(cause: impl std::fmt::Display) -> Error {
        Error::Internal(cause.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_carry_their_status_and_the_rest_their_kind() {
        assert_eq!(Refusal::RequestNotFound.status(), 404, "the status is the code's prefix");
        assert_eq!((Refusal::OnlySenderWithdraws.code(), Refusal::OnlySenderWithdraws.status()), (Some("403-6"), 403));
        assert_eq!((Refusal::MessageBlocked.code(), Refusal::MessageBlocked.status()), (None, 403));
        assert_eq!(Refusal::BadUserId("user id".into()).to_string(), "user id must be a number");
        assert_eq!(Refusal::Contended.status(), 409);
        assert_eq!(Refusal::invalid("x is required").status(), 400);
    }
}
