//! Messages as clients send them, checked once before anything is stored.

use super::ids::{Target, UserId};
use super::refusal::Refusal;
use std::str::FromStr;

/// Message kinds simple_im knows (`t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    Text,
    Audio,
    Image,
    Video,
    /// Any document, served as an attachment with its name.
    File,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Audio => "audio",
            MessageKind::Image => "image",
            MessageKind::Video => "video",
            MessageKind::File => "file",
        }
    }
}

impl FromStr for MessageKind {
    type Err = Refusal;
    fn from_str(text: &str) -> Result<Self, Refusal> {
        Ok(match text {
            "text" => MessageKind::Text,
            "audio" => MessageKind::Audio,
            "image" => MessageKind::Image,
            "video" => MessageKind::Video,
            "file" => MessageKind::File,
            _ => return Err(Refusal::invalid("t must be text, audio, image, video or file")),
        })
    }
}

/// Most characters a message body carries; bigger media go by reference (an upload key).
pub const MAX_CONTENT_CHARS: usize = 4000;

/// A message a client sends.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    /// The sender's own id for it (simple_im `id`): retries with the same id are one message.
    pub client_id: String,
    pub kind: MessageKind,
    pub content: String,
    pub target: Target,
    /// The message it answers (`<conversation>:<seq>`), checked against the conversation when sent.
    pub reply_to: Option<String>,
    /// A file's name, as its sender gives it (a file message's only).
    pub name: Option<String>,
}

impl Outgoing {
    /// Checks the id and content; the kind is typed already.
    pub fn new(client_id: String, kind: &str, content: String, target: Target) -> Result<Outgoing, Refusal> {
        let kind: MessageKind = kind.parse()?;
        if client_id.is_empty() || client_id.len() > 64 {
            return Err(Refusal::invalid("id must be 1 to 64 characters"));
        }
        let chars = content.chars().count();
        if chars == 0 || chars > MAX_CONTENT_CHARS {
            return Err(Refusal::invalid(format!("c must be 1 to {MAX_CONTENT_CHARS} characters")));
        }
        if kind == MessageKind::Audio && !is_audio_key(&content) {
            return Err(Refusal::invalid("an audio message's c is the key from POST /audio/upload"));
        }
        Ok(Outgoing { client_id, kind, content, target, reply_to: None, name: None })
    }

    /// The message as an answer to `reply_to` (a message id; empty is none).
    pub fn replying_to(mut self, reply_to: Option<String>) -> Result<Outgoing, Refusal> {
        let reply_to = reply_to.filter(|id| !id.is_empty());
        if reply_to.as_ref().is_some_and(|id| super::ids::EntryId::message(id).is_none()) {
            return Err(Refusal::invalid("reply_to must be a message id"));
        }
        self.reply_to = reply_to;
        Ok(self)
    }

    /// A file's name: 1 to 255 characters, no path and no control characters (it becomes a
    /// download's `Content-Disposition`).
    pub fn named(mut self, name: Option<String>) -> Result<Outgoing, Refusal> {
        let Some(name) = name.filter(|n| !n.trim().is_empty()) else { return Ok(self) };
        let name = name.trim();
        let ok = name.chars().count() <= 255 && !name.chars().any(|c| c.is_control() || c == '/' || c == '\\');
        if !ok || name == "." || name == ".." {
            return Err(Refusal::invalid("name must be a file name of 1 to 255 characters"));
        }
        self.name = Some(name.to_string());
        Ok(self)
    }
}

/// An audio object's key: `audio/<32 hex>.amr`.
pub fn is_audio_key(key: &str) -> bool {
    key.strip_prefix("audio/")
        .and_then(|k| k.strip_suffix(".amr"))
        .is_some_and(|h| h.len() == 32 && h.bytes().all(|c| c.is_ascii_hexdigit()))
}

/// A fresh, unguessable audio key (128 random bits).
pub fn new_audio_key() -> String {
    use rand::Rng;
    format!("audio/{:032x}.amr", rand::thread_rng().gen::<u128>())
}

/// Where `uploader` puts the file for an audio key before a message attaches it: under their
/// own prefix, so only they can attach it, and under `upload/`, which a lifecycle rule empties
/// of whatever no message ever attached.
pub fn upload_object(uploader: UserId, key: &str) -> String {
    format!("upload/{uploader}/{}", key.strip_prefix("audio/").unwrap_or(key))
}

/// Every AMR file starts with this.
pub const AMR_MAGIC: &[u8] = b"#!AMR\n";
/// Largest audio accepted: minutes of AMR speech.
pub const MAX_AUDIO_BYTES: usize = 1024 * 1024;

/// Checks an upload is AMR: the declared type (when one is given), the size, the magic header.
pub fn check_amr(bytes: &[u8], content_type: Option<&str>) -> Result<(), Refusal> {
    if let Some(ct) = content_type.map(str::to_ascii_lowercase) {
        let ct = ct.split(';').next().unwrap_or_default().trim().to_string();
        if !["audio/amr", "audio/x-amr", "application/octet-stream", ""].contains(&ct.as_str()) {
            return Err(Refusal::UnsupportedMedia(format!("audio must be AMR, not {ct}")));
        }
    }
    if bytes.len() > MAX_AUDIO_BYTES {
        return Err(Refusal::TooLarge("audio is larger than 1 MiB".into()));
    }
    if !bytes.starts_with(AMR_MAGIC) {
        return Err(Refusal::UnsupportedMedia("not an AMR file (no #!AMR header)".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::GroupId;

    #[test]
    fn outgoing_messages_are_checked_once() {
        let ok = Outgoing::new("c1".into(), "text", "hi".into(), Target::User(UserId(2))).unwrap();
        assert_eq!(ok.kind, MessageKind::Text);
        assert!(Outgoing::new("c1".into(), "gif", "hi".into(), Target::User(UserId(2))).is_err());
        assert!(Outgoing::new(String::new(), "text", "hi".into(), Target::User(UserId(2))).is_err());
        assert!(Outgoing::new("c1".into(), "text", "x".repeat(4001), Target::User(UserId(2))).is_err());
        assert!(Outgoing::new("c1".into(), "audio", "audio/x.amr".into(), Target::Group(GroupId(1))).is_err());
        let key = format!("audio/{}.amr", "a".repeat(32));
        assert!(Outgoing::new("c1".into(), "audio", key, Target::Group(GroupId(1))).is_ok());
    }

    #[test]
    fn amr_uploads_are_checked_by_type_size_and_header() {
        assert!(check_amr(b"#!AMR\n\x00", Some("audio/amr")).is_ok());
        assert!(check_amr(b"RIFF....WAVE", Some("audio/amr")).is_err());
        assert_eq!(check_amr(b"#!AMR\n", Some("image/png")).unwrap_err().status(), 415);
        assert_eq!(check_amr(&[b'#'; MAX_AUDIO_BYTES + 1], None).unwrap_err().status(), 413);
    }
}
