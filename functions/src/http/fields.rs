//! Request fields, validated once at the edge: form-encoded (simple_im's curl `-d`), JSON or
//! TOML bodies, read into typed values with a reason the client can act on.

use crate::domain::ids::{GroupId, Target, UserId};
use crate::domain::names::LoginName;
use crate::domain::refusal::{Error, Refusal, Result};
use http::header;
use lambda_http::Request;
use serde_json::{Map, Value};

/// Largest body any non-upload route accepts.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The fields of a request body: form-encoded (simple_im's curl `-d`), JSON or TOML, chosen by
/// `Content-Type`. Every value is checked once here, with a reason the client can act on.
#[derive(Debug, Default)]
pub struct Fields(Map<String, Value>);

impl Fields {
    pub fn parse(req: &Request) -> Result<Fields> {
        let bytes: &[u8] = req.body().as_ref();
        if bytes.len() > MAX_BODY_BYTES {
            return Err(Refusal::TooLarge(format!("body is larger than {MAX_BODY_BYTES} bytes")).into());
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Fields::default());
        }
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/x-www-form-urlencoded")
            .to_ascii_lowercase();
        let known = ["json", "toml", "application/x-www-form-urlencoded"];
        if !known.iter().any(|k| content_type.contains(k)) {
            let reason = "send application/x-www-form-urlencoded, application/json or application/toml";
            return Err(Refusal::UnsupportedMedia(reason.into()).into());
        }
        let text = std::str::from_utf8(bytes).map_err(|_| Refusal::invalid("body is not valid UTF-8"))?;
        let map = if content_type.contains("json") {
            match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(map)) => map,
                Ok(_) => return Err(Refusal::invalid("JSON body must be an object").into()),
                Err(e) => return Err(Refusal::invalid(format!("body is not valid JSON: {e}")).into()),
            }
        } else if content_type.contains("toml") {
            let table: toml::Table = toml::from_str(text)
                .map_err(|e| Refusal::invalid(format!("body is not valid TOML: {}", e.message())))?;
            serde_json::to_value(table).ok().and_then(|v| v.as_object().cloned()).unwrap_or_default()
        } else {
            parse_form(text)?
        };
        Ok(Fields(map))
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    /// A required text field of `min..=max` characters, trimmed.
    pub fn text(&self, name: &str, min: usize, max: usize) -> Result<String> {
        self.opt_text(name, min, max)?.ok_or_else(|| Refusal::invalid(format!("{name} is required")).into())
    }

    pub fn opt_text(&self, name: &str, min: usize, max: usize) -> Result<Option<String>> {
        let Some(value) = self.get(name) else { return Ok(None) };
        let text = match value {
            Value::String(s) => s.trim().to_string(),
            Value::Number(n) => n.to_string(),
            _ => return Err(Refusal::invalid(format!("{name} must be a string")).into()),
        };
        let chars = text.chars().count();
        if chars < min || chars > max {
            return Err(Refusal::invalid(format!("{name} must be {min} to {max} characters")).into());
        }
        if text.chars().any(char::is_control) {
            return Err(Refusal::invalid(format!("{name} must not contain control characters")).into());
        }
        Ok(Some(text))
    }

    /// A non-negative integer, as a JSON number or a string of digits (forms only carry strings).
    pub fn opt_u64(&self, name: &str, max: u64) -> Result<Option<u64>> {
        let Some(value) = self.get(name) else { return Ok(None) };
        let parsed = match value {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        match parsed {
            Some(n) if n <= max => Ok(Some(n)),
            _ => Err(Refusal::invalid(format!("{name} must be a whole number from 0 to {max}")).into()),
        }
    }

    /// The conversation a body names: `with` (a user) or `g_id` (a group), exactly one.
    pub fn target(&self) -> Result<Target> {
        let group = self.opt_u64("g_id", u64::MAX)?.map(GroupId);
        Target::either(self.opt_user("with")?, group).map_err(|reason| Refusal::invalid(reason).into())
    }

    /// A user id in a seed 004 body: 400-3 when it is not a number.
    pub fn opt_user(&self, name: &str) -> Result<Option<UserId>> {
        let id = self.opt_u64(name, u64::MAX).map_err(|_| Error::from(Refusal::BadUserId(name.to_string())))?;
        Ok(id.map(UserId))
    }

    /// A list of user ids (`members[]=2&members[]=3`, or a JSON/TOML array); absent means empty.
    pub fn user_list(&self, name: &str, max_len: usize) -> Result<Vec<UserId>> {
        let items = match self.get(name) {
            None => return Ok(vec![]),
            Some(Value::Array(items)) => items.clone(),
            Some(single) => vec![single.clone()],
        };
        if items.len() > max_len {
            return Err(Refusal::invalid(format!("{name} takes at most {max_len} ids")).into());
        }
        items
            .iter()
            .map(|v| match v {
                Value::Number(n) => n.as_u64().map(UserId),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            })
            .map(|id| id.ok_or_else(|| Refusal::invalid(format!("{name} must be user ids")).into()))
            .collect()
    }

    /// The account a login or a reset names: `phone` (simple_im), else `email` (seed 003).
    pub fn login_name(&self) -> Result<LoginName> {
        let phone = self.opt_text("phone", 1, 32)?;
        Ok(LoginName::from_fields(phone.as_deref(), self.opt_text("email", 3, 254)?.as_deref())?)
    }

    /// A boolean: JSON/TOML true/false, or the strings true/false/1/0 from a form.
    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>> {
        let Some(value) = self.get(name) else { return Ok(None) };
        match value {
            Value::Bool(b) => Ok(Some(*b)),
            Value::String(s) if matches!(s.as_str(), "true" | "1") => Ok(Some(true)),
            Value::String(s) if matches!(s.as_str(), "false" | "0") => Ok(Some(false)),
            _ => Err(Refusal::invalid(format!("{name} must be true or false")).into()),
        }
    }
}

/// Strict `application/x-www-form-urlencoded` parsing. Kept by hand on purpose: the crates
/// decode broken percent-encoding and invalid UTF-8 lossily, and this refuses them instead of
/// storing replacement characters. `name[]` keys (simple_im's `members[]=2&members[]=3`)
/// collect into an array under `name`.
pub fn parse_form(text: &str) -> Result<Map<String, Value>> {
    let mut map = Map::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(key)?;
        let value = Value::String(percent_decode(value)?);
        if let Some(list) = key.strip_suffix("[]") {
            match map.entry(list.to_string()).or_insert_with(|| Value::Array(vec![])) {
                Value::Array(items) => items.push(value),
                _ => return Err(Refusal::invalid(format!("{list} given both as a list and a value")).into()),
            }
        } else if map.insert(key.clone(), value).is_some() {
            return Err(Refusal::invalid(format!("{key} given more than once")).into());
        }
    }
    Ok(map)
}

/// A form component decoded (`+` is a space), refused when a `%` is not followed by two hex
/// digits or the bytes are not UTF-8: the decoding is the `percent-encoding` crate's, the
/// refusal ours.
fn percent_decode(text: &str) -> Result<String> {
    let broken = || Error::from(Refusal::invalid("form body has broken percent-encoding or invalid UTF-8"));
    let bytes = text.as_bytes();
    let escapes_whole = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'%')
        .all(|(i, _)| bytes.get(i + 1..i + 3).is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)));
    if !escapes_whole {
        return Err(broken());
    }
    let spaced = text.replace('+', " ");
    let decoded = percent_encoding::percent_decode_str(&spaced).decode_utf8().map_err(|_| broken())?;
    Ok(decoded.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn form_decodes_utf8_and_lists() {
        let map = parse_form("name=%E5%A4%A7%E5%82%BB&members[]=2&members[]=3&a=b+c").unwrap();
        assert_eq!(map["name"], "大傻");
        assert_eq!(map["members"], json!(["2", "3"]));
        assert_eq!(map["a"], "b c");
    }

    #[test]
    fn form_keeps_an_escaped_plus_and_refuses_what_is_not_utf8() {
        assert_eq!(parse_form("c=1%2B1+%3D+2").unwrap()["c"], "1+1 = 2");
        assert!(parse_form("name=%FF%FE").is_err());
        assert_eq!(parse_form("").unwrap().len(), 0);
    }

    #[test]
    fn form_rejects_broken_encoding() {
        assert!(parse_form("name=%E5%A4").is_err());
        assert!(parse_form("name=%zz").is_err());
        assert!(parse_form("name=%4").is_err());
        assert!(parse_form("a=1&a=2").is_err());
    }
}
