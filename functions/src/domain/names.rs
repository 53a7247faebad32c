//! How users are named and how they prove it: phones, emails, the login name made of either,
//! and passwords. Each is parsed once, at the edge; past it, a `Phone` is a valid phone.

use super::refusal::Refusal;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A phone number as simple_im uses them: 5 to 20 digits with an optional leading `+`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Phone, Refusal> {
        let digits = raw.strip_prefix('+').unwrap_or(raw);
        if (5..=20).contains(&digits.len()) && digits.bytes().all(|c| c.is_ascii_digit()) {
            Ok(Phone(raw.to_string()))
        } else {
            Err(Refusal::invalid("phone must be 5 to 20 digits, optionally after a +"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address, lower case (emails are compared case-insensitively); only the obvious
/// shape is checked.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, Refusal> {
        let email = raw.to_lowercase();
        match email.split_once('@') {
            Some((local, domain))
                if !local.is_empty() && domain.contains('.') && !email.contains(char::is_whitespace) =>
            {
                Ok(Email(email))
            }
            _ => Err(Refusal::invalid("email is not a valid address")),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@` (seed 003's sign-up names a user by it).
    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or_default()
    }
}

/// How a user names themselves at login, or is named by others: a phone (simple_im) or an
/// email (seed 003). The store finds the user by its claim (`store::users`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LoginName {
    Phone(Phone),
    Email(Email),
}

impl LoginName {
    /// A login's fields: the phone when given, else the email.
    pub fn from_fields(phone: Option<&str>, email: Option<&str>) -> Result<LoginName, Refusal> {
        match (phone, email) {
            (Some(phone), _) => Ok(LoginName::Phone(Phone::parse(phone)?)),
            (None, Some(email)) => Ok(LoginName::Email(Email::parse(email)?)),
            (None, None) => Err(Refusal::invalid("phone or email is required")),
        }
    }

    /// A name as seeds 002 and 003 write it: an email when it has an `@`, else a phone; `None`
    /// when it is neither (then nobody has it).
    pub fn written(name: &str) -> Option<LoginName> {
        let name = name.trim();
        match name.contains('@') {
            true => Email::parse(name).ok().map(LoginName::Email),
            false => Phone::parse(name).ok().map(LoginName::Phone),
        }
    }
}

impl fmt::Display for LoginName {
    /// For rate-limit subjects and logs: `phone:<phone>`, `email:<email>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoginName::Phone(phone) => write!(f, "phone:{}", phone.as_str()),
            LoginName::Email(email) => write!(f, "email:{}", email.as_str()),
        }
    }
}

/// A password as a client sent it: read only to be hashed or verified, never printed (its
/// `Debug` is redacted, so a request or a sign-up can be logged whole).
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Password {
    fn from(text: String) -> Password {
        Password(text)
    }
}

impl From<&str> for Password {
    fn from(text: &str) -> Password {
        Password(text.to_string())
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_and_emails_are_checked_once() {
        assert_eq!(Phone::parse("+8618266175357").unwrap().as_str(), "+8618266175357");
        assert!(Phone::parse("12ab5").is_err() && Phone::parse("1234").is_err());
        assert_eq!(Email::parse("Eva@Gmail.com").unwrap().as_str(), "eva@gmail.com");
        assert!(Email::parse("eva@localhost").is_err());
    }

    #[test]
    fn a_login_name_is_the_phone_else_the_email() {
        let phone = LoginName::from_fields(Some("8618266175357"), Some("eva@gmail.com")).unwrap();
        assert_eq!(phone.to_string(), "phone:8618266175357");
        assert_eq!(LoginName::from_fields(None, Some("Eva@gmail.com")).unwrap().to_string(), "email:eva@gmail.com");
        assert!(LoginName::from_fields(None, None).is_err());
        assert_eq!(
            LoginName::written(" Eva@Gmail.com "),
            Some(LoginName::Email(Email::parse("eva@gmail.com").unwrap()))
        );
        assert_eq!(LoginName::written("not a phone"), None);
    }

    #[test]
    fn a_password_never_prints() {
        let password = Password::from("888888");
        assert_eq!(format!("{password:?}"), "Password(redacted)");
        assert_eq!(password.expose(), "888888");
    }
}
