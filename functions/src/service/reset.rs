//! A forgotten password (issue 27). `POST /user/password/reset` with a phone or an email sends
//! a one-time code there (SMS for a phone, email for an email) and answers the same whether an
//! account has that address or not; `POST /user/password/reset/confirm` with the code sets a
//! new password and ends every session of the account. A code is six digits, works 15 minutes
//! and for five guesses (each guess is counted before it is compared, so guesses sent at once
//! cannot pass the count); a wrong, expired, blocked or unknown code is refused alike.

use crate::domain::limits::{RESETS_PER_ACCOUNT, RESETS_PER_ADDRESS, RESET_GUESSES_PER_SOURCE};
use crate::domain::names::{LoginName, Password};
use crate::domain::now_secs;
use crate::domain::refusal::{Error, Refusal, Result};
use crate::domain::reset::Reset;
use crate::domain::reset::{code_hash, is_code, message, new_code, sms_number, CODE_SECS, MAX_TRIES};
use crate::service::auth::{check_password, end_sessions, hash_password};
use crate::service::limits;
use crate::store::Backend;

/// The address a code goes to, as its rate-limit subject.
fn address(name: &LoginName) -> String {
    match name {
        LoginName::Phone(phone) => format!("phone:{}", phone.as_str()),
        LoginName::Email(email) => format!("email:{}", email.as_str()),
    }
}

/// Sends a code to `name` when an account goes by it. The answer never tells: the same for an
/// unknown address, an account over its own limit, an address SMS cannot reach or a message
/// the provider refused (logged); only the per-address limit, the same for every address,
/// is answered (429).
pub async fn request(backend: &impl Backend, name: &LoginName) -> Result<()> {
    limits::check(backend, &RESETS_PER_ADDRESS, &address(name)).await?;
    let Some(user) = backend.claimed_by(name).await? else { return Ok(()) };
    match limits::check(backend, &RESETS_PER_ACCOUNT, &user.to_string()).await {
        Err(Error::Refused(Refusal::TooManyRequests(_))) => return Ok(()),
        other => other?,
    }
    let code = new_code();
    let reset = Reset { code: code_hash(user.0, &code), expires_at: now_secs() + CODE_SECS, tries: 0 };
    backend.put_reset(user, &reset).await?;
    let sent = match name {
        LoginName::Phone(phone) => match sms_number(phone.as_str(), backend.calling_code()) {
            Some(number) => backend.send_sms(&number, &message(&code)).await,
            None => Ok(()),
        },
        LoginName::Email(email) if backend.can_email() => {
            backend.send_email(email.as_str(), "Your password reset code", &message(&code)).await
        }
        LoginName::Email(_) => Ok(()),
    };
    if let Err(err) = sent {
        tracing::warn!(error = %err, "a password reset code could not be sent");
    }
    Ok(())
}

/// Sets `password` on the account of `name` if `code` is its live code; every session ends.
pub async fn confirm(
    backend: &impl Backend,
    name: &LoginName,
    code: &str,
    password: Password,
    source: &str,
) -> Result<()> {
    limits::check(backend, &RESET_GUESSES_PER_SOURCE, source).await?;
    check_password(backend, password.expose())?;
    let refused = || Error::from(Refusal::invalid("wrong, expired or blocked code: ask for a new one"));
    if !is_code(code) {
        return Err(refused());
    }
    let Some(user) = backend.claimed_by(name).await? else { return Err(refused()) };
    let Some(reset) = backend.reset_of(user).await? else { return Err(refused()) };
    if reset.expires_at <= now_secs() || backend.count_reset_try(user).await? > MAX_TRIES {
        return Err(refused());
    }
    if reset.code != code_hash(user.0, code) {
        return Err(refused());
    }
    backend.delete_reset(user).await?;
    backend.set_password_hash(user, hash_password(password).await?).await?;
    end_sessions(backend, user, None).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::UserId;
    use crate::domain::names::Email;
    use crate::store::memory::{refused, Memory};

    fn ann() -> (Memory, LoginName) {
        let memory = Memory::default();
        memory.user(1, Some("ann@example.com"));
        (memory, LoginName::Email(Email::parse("ann@example.com").unwrap()))
    }

    /// The code the last message carried.
    fn sent_code(memory: &Memory) -> String {
        let (_, text) = memory.state().outbox.last().cloned().expect("a message");
        text.split_whitespace().find(|w| is_code(w.trim_end_matches('.'))).unwrap().trim_end_matches('.').into()
    }

    #[tokio::test]
    async fn the_code_sets_a_new_password_once_and_unknown_addresses_look_the_same() {
        let (memory, name) = ann();
        request(&memory, &name).await.unwrap();
        let code = sent_code(&memory);
        let unknown = LoginName::Email(Email::parse("nobody@example.com").unwrap());
        request(&memory, &unknown).await.unwrap();
        assert_eq!(memory.state().outbox.len(), 1, "nothing sent for an unknown address");

        let new = || Password::from("a-new-password".to_string());
        confirm(&memory, &name, &code, new(), "src").await.unwrap();
        assert!(memory.state().password_hashes.contains_key(&UserId(1)));
        assert!(matches!(refused(confirm(&memory, &name, &code, new(), "src").await), Refusal::Invalid(_)), "used");
    }

    #[tokio::test]
    async fn five_wrong_codes_block_the_right_one() {
        let (memory, name) = ann();
        request(&memory, &name).await.unwrap();
        let code = sent_code(&memory);
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for _ in 0..MAX_TRIES {
            let attempt = confirm(&memory, &name, wrong, Password::from("another-one".to_string()), "src").await;
            assert!(matches!(refused(attempt), Refusal::Invalid(_)));
        }
        let right = confirm(&memory, &name, &code, Password::from("another-one".to_string()), "src").await;
        assert!(matches!(refused(right), Refusal::Invalid(_)), "blocked");
    }
}
