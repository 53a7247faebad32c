//! A user's own profile (issue 27): a partial update (`PUT /user`) and the avatar
//! (`PUT /user/avatar`), each told to the user's friends and other devices as `update_user`.
//! The avatar comes through the media pipeline: the image uploaded with `POST /media/upload`
//! is checked, cut to its centre square of at most 512 pixels, re-encoded as JPEG (nothing of
//! its metadata survives) and stored at a stable path `file/avatar/<hex>.jpg`, which any
//! signed-in user may fetch, as anyone who can see the profile sees its `avatar`.

use crate::delivery;
use crate::domain::ids::{Actor, UserId};
use crate::domain::limits::PROFILE_CHANGES_PER_USER;
use crate::domain::media::{self, Media, MAX_IMAGE_BYTES};
use crate::domain::message::upload_object;
use crate::domain::notice::Change;
use crate::domain::refusal::{Error, Refusal, Result};
use crate::domain::user::{Profile, ProfileChange};
use crate::service::limits;
use crate::store::blobs::Download;
use crate::store::relations::List;
use crate::store::Backend;

/// Where avatars live in the bucket (profiles show them under `file/`).
pub const AVATAR_PREFIX: &str = "avatar/";

/// `PUT /user`: sets the fields given (checked as at sign-up).
pub async fn update(backend: &impl Backend, actor: &Actor, change: &ProfileChange) -> Result<Profile> {
    if change.is_empty() {
        return Err(Refusal::invalid("give at least one field to change").into());
    }
    limits::check(backend, &PROFILE_CHANGES_PER_USER, &actor.user_id.to_string()).await?;
    let profile = backend.update_profile(actor.user_id, change).await?.ok_or(Refusal::UserNotFound)?;
    tell(backend, actor, &profile).await?;
    Ok(profile)
}

/// `PUT /user/avatar` (`key`: an image the caller uploaded with `POST /media/upload`): the
/// profile's new avatar; the previous one is deleted.
pub async fn set_avatar(backend: &impl Backend, actor: &Actor, key: &str) -> Result<Profile> {
    if !media::is_key(Media::Image, key) {
        return Err(Refusal::invalid("key must be an image key from POST /media/upload").into());
    }
    limits::check(backend, &PROFILE_CHANGES_PER_USER, &actor.user_id.to_string()).await?;
    let upload = upload_object(actor.user_id, key);
    let missing = || Error::from(Refusal::invalid("no such upload: upload the image first"));
    let stat = backend.stat(&upload).await?.ok_or_else(missing)?;
    if stat.size > MAX_IMAGE_BYTES {
        return Err(Refusal::TooLarge(format!("an image is at most {MAX_IMAGE_BYTES} bytes")).into());
    }
    let bytes = backend.first_bytes(&upload, stat.size as usize, &stat.etag).await?.ok_or_else(missing)?;
    media::check_image(&bytes)?;
    let picture = media::avatar(&bytes)?;
    let hex = key.rsplit('/').next().unwrap_or_default();
    let object = format!("{AVATAR_PREFIX}{hex}.jpg");
    backend.put_blob(&object, picture, "image/jpeg").await?;
    backend.delete(&upload).await?;
    let previous = backend.profile(actor.user_id).await?.map(|p| p.avatar).unwrap_or_default();
    let change = ProfileChange { avatar: Some(format!("file/{object}")), ..ProfileChange::default() };
    let profile = backend.update_profile(actor.user_id, &change).await?.ok_or(Refusal::UserNotFound)?;
    if let Some(old) = previous.strip_prefix("file/").filter(|old| old.starts_with(AVATAR_PREFIX) && *old != object) {
        backend.delete(old).await?;
    }
    tell(backend, actor, &profile).await?;
    Ok(profile)
}

/// `GET /file/avatar/{name}`: a signed URL of an avatar, for any signed-in user.
pub async fn avatar_url(backend: &impl Backend, name: &str) -> Result<String> {
    let not_found = || Error::from(Refusal::NotFound("no such avatar".into()));
    let hex = name.strip_suffix(".jpg").ok_or_else(not_found)?;
    if !media::is_key(Media::Image, &format!("image/{hex}")) {
        return Err(not_found());
    }
    let object = format!("{AVATAR_PREFIX}{name}");
    backend.stat(&object).await?.ok_or_else(not_found)?;
    Ok(backend.download_url(&object, &Download::default()).await?)
}

/// Tells the user's friends (and their own other devices) what everyone but them sees of the
/// profile now: one feed append each, so a phone that was offline hears of it at its next sync.
async fn tell(backend: &impl Backend, actor: &Actor, profile: &Profile) -> Result<()> {
    let friends: Vec<UserId> = backend.list(actor.user_id, List::Friends).await?.into_iter().map(|e| e.other).collect();
    let change = Change::UpdateUser {
        name: profile.show_user_name.then(|| profile.name.clone()),
        nick_name: profile.nick_name.clone(),
        avatar: profile.avatar.clone(),
    };
    Ok(delivery::tell_users(backend, actor, &friends, change, Some(actor.user_id.0)).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::{actor, refused, Memory};

    #[tokio::test]
    async fn an_update_sets_only_the_fields_given_and_tells_friends() {
        let memory = Memory::default();
        memory.user(1, None);
        memory.user(2, None);
        memory.user(3, None);
        memory.befriend(1, 2);
        let change = ProfileChange { name: Some("Alice B.".into()), show_age: Some(false), ..ProfileChange::default() };
        let profile = update(&memory, &actor(1, "web"), &change).await.unwrap();
        assert_eq!((profile.name.as_str(), profile.show_age, profile.show_gender), ("Alice B.", false, true));
        assert_eq!(memory.state().profiles[&UserId(1)].name, "Alice B.");
        assert_eq!(memory.told(2), ["update_user"], "a friend");
        assert!(memory.told(3).is_empty(), "not a stranger");
        let empty = update(&memory, &actor(1, "web"), &ProfileChange::default()).await;
        assert!(matches!(refused(empty), Refusal::Invalid(_)));
    }

    #[tokio::test]
    async fn an_avatar_needs_the_callers_own_upload_of_an_image() {
        let memory = Memory::default();
        memory.user(1, None);
        memory.user(2, None);
        let key = media::new_key(Media::Image);
        assert!(
            matches!(refused(set_avatar(&memory, &actor(1, "web"), &key).await), Refusal::Invalid(_)),
            "nothing uploaded"
        );
        memory.state().blobs.insert(upload_object(UserId(2), &key), b"not mine".to_vec());
        assert!(
            matches!(refused(set_avatar(&memory, &actor(1, "web"), &key).await), Refusal::Invalid(_)),
            "another's upload"
        );
        memory.state().blobs.insert(upload_object(UserId(1), &key), b"GIF89a nope".to_vec());
        assert!(matches!(refused(set_avatar(&memory, &actor(1, "web"), &key).await), Refusal::UnsupportedMedia(_)));
        assert!(matches!(refused(set_avatar(&memory, &actor(1, "web"), "image/x").await), Refusal::Invalid(_)));
    }
}
