//! A forgotten password (issue 27): a one-time code of [`CODE_DIGITS`] digits, good for
//! [`CODE_SECS`] and [`MAX_TRIES`] wrong guesses, sent by SMS to the account's phone or by email.
//! Only its hash is stored, bound to the account.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const CODE_DIGITS: usize = 6;
/// How long a code works (15 minutes).
pub const CODE_SECS: u64 = 900;
/// The fewest digits of a national mobile number (8 in the smallest numbering plans).
const MIN_NATIONAL_DIGITS: usize = 8;
/// Wrong codes before the code is blocked (a new one must be asked for).
pub const MAX_TRIES: u64 = 5;

/// A code as stored (its hash), until when, and the guesses so far.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reset {
    pub code: String,
    pub expires_at: u64,
    #[serde(default)]
    pub tries: u64,
}

/// A fresh code: six uniformly drawn digits.
pub fn new_code() -> String {
    use rand::Rng;
    format!("{:06}", rand::thread_rng().gen_range(0..1_000_000u32))
}

/// What is stored of a code: its hash with the account's id, so a code read from one
/// account's item proves nothing for another's.
pub fn code_hash(user: u64, code: &str) -> String {
    hex::encode(Sha256::digest(format!("reset:{user}:{code}").as_bytes()))
}

/// Whether `code` looks like a code at all (six digits): anything else is refused without a
/// look-up.
pub fn is_code(code: &str) -> bool {
    code.len() == CODE_DIGITS && code.bytes().all(|b| b.is_ascii_digit())
}

/// The E.164 number an SMS goes to: a phone written with `+` as it is; one without it behind
/// the deployment's calling code (simple_im's national numbers, `13800138000`), unless it
/// already begins with that code and a full national number follows (`8613800138000`, as the
/// seeds' and the demo's phones are written). `None`: not a number SMS can reach.
pub fn sms_number(phone: &str, calling_code: &str) -> Option<String> {
    let digits: String = phone.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect();
    let number = match digits.strip_prefix('+') {
        Some(rest) => rest.to_string(),
        None if digits.starts_with(calling_code) && digits.len() >= calling_code.len() + MIN_NATIONAL_DIGITS => digits,
        None => format!("{calling_code}{}", digits.trim_start_matches('0')),
    };
    let valid =
        (8..=15).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_digit()) && !number.starts_with('0');
    valid.then(|| format!("+{number}"))
}

/// The text of the code's SMS and email.
pub fn message(code: &str) -> String {
    format!(
        "Your password reset code is {code}. It expires in 15 minutes. If you did not ask for it, ignore this message."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_hashed_per_account() {
        for _ in 0..100 {
            assert!(is_code(&new_code()));
        }
        assert!(!is_code("12345") && !is_code("1234567") && !is_code("12345a"));
        assert_ne!(code_hash(1, "123456"), code_hash(2, "123456"));
        assert_eq!(code_hash(1, "123456"), code_hash(1, "123456"));
    }

    #[test]
    fn phones_become_e164_numbers() {
        assert_eq!(sms_number("13800138000", "86").as_deref(), Some("+8613800138000"));
        assert_eq!(sms_number("8618266175357", "86").as_deref(), Some("+8618266175357"), "the code already there");
        assert_eq!(sms_number("5550100199", "1").as_deref(), Some("+15550100199"));
        assert_eq!(sms_number("+1 (555) 010-0199", "86").as_deref(), Some("+15550100199"));
        assert_eq!(sms_number("0612345678", "33").as_deref(), Some("+33612345678"));
        assert_eq!(sms_number("12", "86"), None);
        assert_eq!(sms_number("+0123456789", "86"), None);
    }
}
