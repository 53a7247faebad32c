//! Looking users up: by id, by phone, by the names seeds 002 and 003 use.

use crate::domain::ids::{UserId, UserRef};
use crate::domain::names::{LoginName, Phone};
use crate::domain::refusal::{Refusal, Result};
use crate::domain::relation::Flags;
use crate::domain::user::Profile;
use crate::store::Backend;
use std::collections::HashMap;

/// `GET /user/id/{id}`'s look-up: 404 "user not found".
pub async fn by_id(backend: &impl Backend, id: UserId) -> Result<Profile> {
    backend.profile(id).await?.ok_or_else(|| Refusal::NotFound("user not found".into()).into())
}

/// `GET /user/phone/{phone}`'s look-up.
pub async fn by_phone(backend: &impl Backend, phone: &str) -> Result<Profile> {
    let phone = Phone::parse(phone)?;
    match backend.claimed_by(&LoginName::Phone(phone)).await? {
        Some(id) => by_id(backend, id).await,
        None => Err(Refusal::NotFound("user not found".into()).into()),
    }
}

/// What `viewer` is to `other` (seed 004's flags); `None` for oneself.
pub async fn flags(backend: &impl Backend, viewer: UserId, other: UserId) -> Result<Option<Flags>> {
    if viewer == other {
        return Ok(None);
    }
    Ok(Some(Flags::from(&backend.pair(viewer, other).await?.ab)))
}

/// Seed 004's check that the other user exists: 404-3.
pub async fn existing(backend: &impl Backend, id: UserId) -> Result<()> {
    match backend.profile(id).await? {
        Some(_) => Ok(()),
        None => Err(Refusal::UserNotFound.into()),
    }
}

/// Profiles of many users; unknown ids are left out.
pub async fn profiles(backend: &impl Backend, ids: &[UserId]) -> Result<HashMap<UserId, Profile>> {
    Ok(backend.profiles(ids).await?)
}

/// The user a frame names: an id (a number), or an email or a phone (a string: never taken as
/// an id, so a phone cannot shadow one); `None` when nobody has that name.
pub async fn resolve(backend: &impl Backend, who: &UserRef) -> Result<Option<UserId>> {
    match who {
        UserRef::Id(id) => Ok(backend.profile(*id).await?.map(|p| p.id)),
        UserRef::Name(name) => match LoginName::written(name) {
            Some(name) => Ok(backend.claimed_by(&name).await?),
            None => Ok(None),
        },
    }
}

/// A user named as seed 003 does; 404 "No such user" when nobody has that name.
pub async fn named(backend: &impl Backend, name: &UserRef) -> Result<UserId> {
    resolve(backend, name).await?.ok_or_else(|| Refusal::NotFound("No such user".into()).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::{refused, Memory};
    use crate::store::ports::UserStore;

    #[tokio::test]
    async fn a_user_is_named_by_id_email_or_phone_and_digits_are_never_an_id() {
        let memory = Memory::default();
        let email = crate::domain::names::Email::parse;
        let profile = |phone: &str, address: &str| {
            Profile::named("x".into(), Some(Phone::parse(phone).unwrap()), Some(email(address).unwrap()))
        };
        let eva = memory.insert_user(&profile("8618266175357", "eva@example.com"), "hash".into()).await.unwrap();
        assert_eq!(resolve(&memory, &UserRef::Id(eva)).await.unwrap(), Some(eva));
        assert_eq!(resolve(&memory, &"Eva@Example.com ".into()).await.unwrap(), Some(eva));
        assert_eq!(resolve(&memory, &"8618266175357".into()).await.unwrap(), Some(eva));
        assert_eq!(
            resolve(&memory, &eva.to_string().as_str().into()).await.unwrap(),
            None,
            "a string of digits is a phone"
        );
        assert_eq!(refused(named(&memory, &UserRef::Id(UserId(99))).await), Refusal::NotFound("No such user".into()));
        assert_eq!(by_phone(&memory, "8618266175357").await.unwrap().id, eva);
        assert!(matches!(refused(by_phone(&memory, "12").await), Refusal::Invalid(_)));
    }
}
