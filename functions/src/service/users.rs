//! Looking users up: by id, by phone, by the names seeds 002 and 003 use.

use crate::domain::ids::UserRef;
use crate::domain::refusal::{Refusal, Result};
use crate::domain::relation::Flags;
use crate::domain::user::{parse_phone, Profile};
use crate::store::{relations, users};
use im_adapters::Clients;
use std::collections::HashMap;

/// `GET /user/id/{id}`'s look-up: 404 "user not found".
pub async fn by_id(clients: &Clients, id: u64) -> Result<Profile> {
    users::profile(clients, id).await?.ok_or_else(|| Refusal::NotFound("user not found".into()).into())
}

/// `GET /user/phone/{phone}`'s look-up.
pub async fn by_phone(clients: &Clients, phone: &str) -> Result<Profile> {
    let phone = parse_phone(phone)?;
    match users::claimed_by(clients, &format!("phone#{phone}")).await? {
        Some(id) => by_id(clients, id).await,
        None => Err(Refusal::NotFound("user not found".into()).into()),
    }
}

/// What `viewer` is to `other` (seed 004's flags); `None` for oneself.
pub async fn flags(clients: &Clients, viewer: u64, other: u64) -> Result<Option<Flags>> {
    if viewer == other {
        return Ok(None);
    }
    Ok(Some(Flags::from(&relations::pair(clients, viewer, other).await?.ab)))
}

/// Seed 004's check that the other user exists: 404-3.
pub async fn existing(clients: &Clients, id: u64) -> Result<()> {
    match users::profile(clients, id).await? {
        Some(_) => Ok(()),
        None => Err(Refusal::UserNotFound.into()),
    }
}

/// Profiles of many users; unknown ids are left out.
pub async fn profiles(clients: &Clients, ids: &[u64]) -> Result<HashMap<u64, Profile>> {
    Ok(users::profiles(clients, ids).await?)
}

/// The user a frame names: an id (a number), or an email or a phone (a string: never taken as
/// an id, so a phone cannot shadow one); `None` when nobody has that name.
pub async fn resolve(clients: &Clients, who: &UserRef) -> Result<Option<u64>> {
    let name = match who {
        UserRef::Id(id) => return Ok(users::profile(clients, *id).await?.map(|p| p.id)),
        UserRef::Name(name) => name.trim(),
    };
    let claim = if name.contains('@') { format!("email#{}", name.to_lowercase()) } else { format!("phone#{name}") };
    Ok(users::claimed_by(clients, &claim).await?)
}

/// A user named as seed 003 does; 404 "No such user" when nobody has that name.
pub async fn named(clients: &Clients, name: &UserRef) -> Result<u64> {
    resolve(clients, name).await?.ok_or_else(|| Refusal::NotFound("No such user".into()).into())
}
