//! Looking users up: by id, by phone, by the names seeds 002 and 003 use.

use crate::domain::ids::{UserId, UserRef};
use crate::domain::limits::LOOKUPS_PER_USER;
use crate::domain::names::{LoginName, Phone};
use crate::domain::refusal::{Refusal, Result};
use crate::domain::relation::Flags;
use crate::domain::user::Profile;
use crate::service::limits;
use crate::store::Backend;
use std::collections::HashMap;

/// A user someone looked up: the profile, what the viewer is to them (`None` for oneself), and
/// whether the viewer may see the phone.
#[derive(Debug)]
pub struct Found {
    pub profile: Profile,
    pub flags: Option<Flags>,
    pub phone_shown: bool,
}

/// How a look-up names the user.
pub enum LookUp<'a> {
    Id(UserId),
    Phone(&'a str),
}

/// `GET /user/id/{id}` and `GET /user/phone/{phone}`: 404 "user not found". Looking up
/// oneself or a correspondent (a friend, or a request either way) is free; anyone else, and
/// any miss, counts against [`LOOKUPS_PER_USER`], so the id space cannot be walked. A phone is
/// shown to oneself, to correspondents, to whoever looked it up by that very phone, and to
/// anyone when the user's `show_phone` allows (the default, as the seeds show phones).
pub async fn look_up(backend: &impl Backend, viewer: UserId, by: LookUp<'_>) -> Result<Found> {
    let (id, by_phone) = match by {
        LookUp::Id(id) => (Some(id), false),
        LookUp::Phone(phone) => (backend.claimed_by(&LoginName::Phone(Phone::parse(phone)?)).await?, true),
    };
    let flags = match id {
        Some(id) => flags(backend, viewer, id).await?,
        None => None,
    };
    let correspondent = flags.as_ref().is_some_and(|f| f.is_friend || f.friend_requested || f.friend_requested_by);
    let own = id == Some(viewer);
    if !own && !correspondent {
        limits::check(backend, &LOOKUPS_PER_USER, &viewer.to_string()).await?;
    }
    let not_found = || Refusal::NotFound("user not found".into());
    let profile = match id {
        Some(id) => backend.profile(id).await?.ok_or_else(not_found)?,
        None => return Err(not_found().into()),
    };
    let phone_shown = own || correspondent || by_phone || profile.show_phone;
    Ok(Found { profile, flags, phone_shown })
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
        let found = look_up(&memory, UserId(50), LookUp::Phone("8618266175357")).await.unwrap();
        assert_eq!((found.profile.id, found.phone_shown), (eva, true));
        assert!(matches!(refused(look_up(&memory, eva, LookUp::Phone("12")).await), Refusal::Invalid(_)));
    }

    #[tokio::test]
    async fn strangers_look_ups_are_limited_misses_included_and_hide_the_phone() {
        let memory = Memory::default();
        memory.user(1, None);
        memory.user(2, None);
        memory.user(3, None);
        memory.befriend(1, 3);
        assert!(look_up(&memory, UserId(1), LookUp::Id(UserId(2))).await.unwrap().phone_shown, "shown by default");
        memory.state().profiles.get_mut(&UserId(2)).unwrap().show_phone = false;
        let stranger = look_up(&memory, UserId(1), LookUp::Id(UserId(2))).await.unwrap();
        assert!(!stranger.phone_shown);
        for id in 1..LOOKUPS_PER_USER.max {
            let _ = look_up(&memory, UserId(1), LookUp::Id(UserId(100 + id))).await;
        }
        let past = look_up(&memory, UserId(1), LookUp::Id(UserId(2))).await;
        assert!(matches!(refused(past), Refusal::TooManyRequests(_)));
        let friend = look_up(&memory, UserId(1), LookUp::Id(UserId(3))).await.unwrap();
        assert!(friend.phone_shown, "a friend is still looked up, phone and all");
        assert!(look_up(&memory, UserId(1), LookUp::Id(UserId(1))).await.unwrap().phone_shown);
    }
}
