//! Users: the profile others see (with seed 004's privacy flags), what a sign-up needs, and the
//! password rules (the names users go by are in `names`).

use super::ids::UserId;
use super::names::{Email, Password, Phone};
use super::refusal::Refusal;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

fn yes() -> bool {
    true
}

/// A user's profile as stored (less the password hash).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub id: UserId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Phone>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    pub name: String,
    #[serde(default)]
    pub nick_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    #[serde(default)]
    pub avatar: String,
    #[serde(default = "yes")]
    pub show_user_name: bool,
    #[serde(default = "yes")]
    pub show_age: bool,
    #[serde(default = "yes")]
    pub show_gender: bool,
    /// Whether users who are not correspondents see the phone when they look the user up by
    /// id (the seeds' examples show it; a look-up by phone always does: the caller knew it).
    #[serde(default = "yes")]
    pub show_phone: bool,
}

impl Profile {
    /// A new profile by its name and how it is reached, every other field at its default
    /// (everything shown); the store gives it its id.
    pub fn named(name: String, phone: Option<Phone>, email: Option<Email>) -> Profile {
        Profile {
            id: UserId(0),
            phone,
            email,
            name,
            nick_name: String::new(),
            age: None,
            gender: None,
            avatar: String::new(),
            show_user_name: true,
            show_age: true,
            show_gender: true,
            show_phone: true,
        }
    }

    /// The profile as `viewer` sees it: hidden fields are null (left out in TOML). The owner
    /// sees everything, including the email.
    pub fn view(&self, viewer: Option<UserId>) -> Value {
        let own = viewer == Some(self.id);
        json!({
            "id": self.id,
            "name": (own || self.show_user_name).then_some(&self.name),
            "nick_name": self.nick_name,
            "phone": self.phone,
            "avatar": self.avatar,
            "age": if own || self.show_age { self.age } else { None },
            "gender": if own || self.show_gender { self.gender.as_deref() } else { None },
            "email": if own { self.email.as_ref() } else { None },
        })
    }

    /// The email, when it is the account's public handle: an account made by seed 003's
    /// `LOGON` (or any account without a phone) is known by its email. An email given beside a
    /// phone is private.
    pub fn public_email(&self) -> Option<&Email> {
        self.email.as_ref().filter(|_| self.phone.is_none())
    }

    /// How seed 003 keys a contact, by what anyone may see: the public email, else the phone,
    /// else the id.
    pub fn contact_key(&self) -> String {
        let email = self.public_email().map(Email::as_str);
        email.or(self.phone.as_ref().map(Phone::as_str)).map_or_else(|| self.id.to_string(), String::from)
    }
}

/// A partial profile update (`PUT /user`): the fields given, each checked as at sign-up.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProfileChange {
    pub name: Option<String>,
    pub nick_name: Option<String>,
    pub age: Option<u64>,
    pub gender: Option<String>,
    /// `file/avatar/<name>.jpg`, set by `PUT /user/avatar` only.
    pub avatar: Option<String>,
    pub show_user_name: Option<bool>,
    pub show_age: Option<bool>,
    pub show_gender: Option<bool>,
    pub show_phone: Option<bool>,
}

impl ProfileChange {
    pub fn is_empty(&self) -> bool {
        *self == ProfileChange::default()
    }

    /// The stored attributes it sets, by name.
    pub fn attributes(&self) -> Vec<(&'static str, Value)> {
        let fields = [
            ("name", self.name.as_ref().map(|v| json!(v))),
            ("nick_name", self.nick_name.as_ref().map(|v| json!(v))),
            ("age", self.age.map(|v| json!(v))),
            ("gender", self.gender.as_ref().map(|v| json!(v))),
            ("avatar", self.avatar.as_ref().map(|v| json!(v))),
            ("show_user_name", self.show_user_name.map(|v| json!(v))),
            ("show_age", self.show_age.map(|v| json!(v))),
            ("show_gender", self.show_gender.map(|v| json!(v))),
            ("show_phone", self.show_phone.map(|v| json!(v))),
        ];
        fields.into_iter().filter_map(|(name, value)| value.map(|v| (name, v))).collect()
    }
}

/// Passwords guessers try first (`common_passwords.txt`, lower case).
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// The strong password rule (`PASSWORD_RULE=strong`) for new accounts: 8 to 128 characters,
/// not one character repeated, not a common password. The default rule is the seeds' own
/// (6 to 128 characters, checked where a sign-up is read), so their example sign-ups
/// (`888888`, `123456`) work as written.
pub fn check_strong_password(password: &str) -> Result<(), Refusal> {
    let chars: Vec<char> = password.chars().collect();
    if !(8..=128).contains(&chars.len()) {
        return Err(Refusal::invalid("password must be 8 to 128 characters"));
    }
    let lower = password.to_lowercase();
    let common = COMMON_PASSWORDS.lines().filter(|l| !l.starts_with('#')).any(|l| l.trim() == lower);
    if common || chars.iter().all(|c| *c == chars[0]) {
        return Err(Refusal::CommonPassword);
    }
    Ok(())
}

/// What a sign-up stores: the profile and the password to hash.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub profile: Profile,
    pub password: Password,
}

impl NewUser {
    /// Seed 003's `LOGON {user: email, password}`: the name defaults to the email's local part.
    pub fn from_email(email: &str, password: Password) -> Result<NewUser, Refusal> {
        let email = Email::parse(email)?;
        if !(6..=128).contains(&password.expose().chars().count()) {
            return Err(Refusal::invalid("password must be 6 to 128 characters"));
        }
        let name = email.local_part().chars().take(64).collect();
        Ok(NewUser { profile: Profile::named(name, None, Some(email)), password })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strong_rule_refuses_short_repeated_and_common_passwords() {
        assert!(check_strong_password("888888").is_err(), "too short");
        assert_eq!(check_strong_password("zzzzzzzzzz"), Err(Refusal::CommonPassword));
        assert_eq!(check_strong_password("Password123"), Err(Refusal::CommonPassword));
        assert_eq!(check_strong_password("1234567890"), Err(Refusal::CommonPassword));
        assert!(check_strong_password("violet-harbour-kettle").is_ok());
    }

    #[test]
    fn privacy_flags_hide_fields_from_others_only() {
        let mut new = NewUser::from_email("eva@gmail.com", "123456".into()).unwrap().profile;
        new.id = UserId(3);
        new.age = Some(30);
        new.show_age = false;
        assert!(new.view(Some(UserId(4)))["age"].is_null() && new.view(Some(UserId(4)))["email"].is_null());
        assert_eq!(new.view(Some(UserId(3)))["age"], 30);
        assert_eq!(new.contact_key(), "eva@gmail.com");
    }

    #[test]
    fn an_email_beside_a_phone_is_private_and_keys_nothing() {
        let phone = Some(Phone::parse("8618266175357").unwrap());
        let mut both = Profile::named("eva".into(), phone, Some(Email::parse("eva@private.example").unwrap()));
        both.id = UserId(3);
        assert_eq!((both.public_email(), both.contact_key().as_str()), (None, "8618266175357"));
        both.phone = None;
        assert_eq!(both.contact_key(), "eva@private.example", "without a phone the email is the handle");
    }
}
