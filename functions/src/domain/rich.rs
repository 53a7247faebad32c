//! What a message gathers after it is sent (issue 26): an edit, a delete for one user, a
//! reaction, a reply's quote, an attachment's facts. Rules only; the use cases are
//! `service::changes`.

use super::ids::UserId;
use super::message::MAX_CONTENT_CHARS;
use super::refusal::Refusal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use unicode_segmentation::UnicodeSegmentation;

/// Forty-eight hours: long enough to fix a typo seen the next day, short enough that history
/// is not rewritten (`EDIT_WINDOW_SECS`).
pub const DEFAULT_EDIT_WINDOW_SECS: u64 = 48 * 3600;
/// Most distinct emoji on one message: the reaction bar stays a bar.
pub const MAX_EMOJI_PER_MESSAGE: usize = 20;
/// Replies a message remembers; later ones keep the quote they were sent with.
pub const MAX_NOTED_REPLIES: usize = 100;
/// A reply quotes this many characters of what it answers.
pub const SNIPPET_CHARS: usize = 100;

/// The fields a message gathers beyond what was sent; each is left out while empty, so a
/// plain message looks as simple_im shows it. Stored with the message; `reacted_by` and
/// `hidden_for` are turned into `reactions` and `hidden` for each reader ([`Details::seen_by`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Details {
    /// How often it changed after it was stored: an edit, a reaction, a delete for someone.
    /// Each change is written on condition of the count it read, so two never overwrite each other.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rev: u64,
    /// When its sender last edited it (seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<u64>,
    /// The message it answers (`<conversation>:<seq>`, the same conversation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// What it answers, in short ([`snippet`]): "" when that message was deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_snippet: Option<String>,
    /// An attachment's size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// A file's name, as its sender gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// An image's width and height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub w: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub h: Option<u32>,
    /// An image's thumbnail: a stable server path, like `c`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb: Option<String>,
    /// Stored: who reacted with each emoji.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reacted_by: BTreeMap<String, Vec<UserId>>,
    /// Shown: each emoji's count, and whether the reader is among them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reactions: BTreeMap<String, Tally>,
    /// Stored: who deleted it for themselves only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hidden_for: Vec<UserId>,
    /// Stored: the replies quoting it (their numbers), so an edit or a delete quotes it anew
    /// in them; at most [`MAX_NOTED_REPLIES`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replies: Vec<u64>,
    /// Shown: the reader deleted it for themselves (its content is not shown to them).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One emoji's reactions as a reader sees them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub count: usize,
    pub mine: bool,
}

impl Details {
    /// The stored fields turned into what `reader` sees: counts with `mine`, and whether they hid it.
    pub fn seen_by(&mut self, reader: UserId) {
        let reacted = std::mem::take(&mut self.reacted_by);
        self.reactions = reacted
            .into_iter()
            .map(|(emoji, users)| (emoji, Tally { count: users.len(), mine: users.contains(&reader) }))
            .collect();
        self.hidden = std::mem::take(&mut self.hidden_for).contains(&reader);
        self.replies.clear();
    }

    /// Notes the reply at `seq`; false when noted already or there is no room.
    pub fn note_reply(&mut self, seq: u64) -> bool {
        if self.replies.contains(&seq) || self.replies.len() >= MAX_NOTED_REPLIES {
            return false;
        }
        self.replies.push(seq);
        true
    }

    /// Adds or removes `user`'s reaction; false when nothing changed (already so). Refused when
    /// it would be the message's 21st distinct emoji.
    pub fn react(&mut self, user: UserId, emoji: &Emoji, on: bool) -> Result<bool, Refusal> {
        let users = self.reacted_by.get(&emoji.0);
        let has = users.is_some_and(|users| users.contains(&user));
        if has == on {
            return Ok(false);
        }
        if on && users.is_none() && self.reacted_by.len() >= MAX_EMOJI_PER_MESSAGE {
            return Err(Refusal::invalid(format!("a message has at most {MAX_EMOJI_PER_MESSAGE} distinct emoji")));
        }
        let users = self.reacted_by.entry(emoji.0.clone()).or_default();
        match on {
            true => users.push(user),
            false => users.retain(|u| *u != user),
        }
        if users.is_empty() {
            self.reacted_by.remove(&emoji.0);
        }
        Ok(true)
    }

    /// Hides the message from `user`; false when it was hidden already.
    pub fn hide_for(&mut self, user: UserId) -> bool {
        if self.hidden_for.contains(&user) {
            return false;
        }
        self.hidden_for.push(user);
        true
    }
}

/// One emoji: a single grapheme cluster of Unicode's emoji set (skin tones and ZWJ sequences
/// included), kept in its fully qualified form so `❤` and `❤️` are one reaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Emoji(String);

impl Emoji {
    pub fn parse(text: &str) -> Result<Emoji, Refusal> {
        let refused = || Refusal::invalid("emoji must be one emoji");
        if text.graphemes(true).count() != 1 {
            return Err(refused());
        }
        let found = emojis::get(text).ok_or_else(refused)?;
        Ok(Emoji(found.as_str().to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An edit's new text: the length rule of a send.
pub fn check_content(content: &str) -> Result<(), Refusal> {
    let chars = content.chars().count();
    if chars == 0 || chars > MAX_CONTENT_CHARS {
        return Err(Refusal::invalid(format!("c must be 1 to {MAX_CONTENT_CHARS} characters")));
    }
    Ok(())
}

/// Whether a message stored at `sent` may still be edited at `now`.
pub fn within_window(sent: u64, now: u64, window_secs: u64) -> bool {
    now.saturating_sub(sent) <= window_secs
}

/// What a reply quotes of a message: the first [`SNIPPET_CHARS`] characters of a text, the
/// kind of anything else (`[image]`), nothing of a deleted message.
pub fn snippet(kind: &str, content: &str, deleted: bool) -> String {
    match (deleted, kind) {
        (true, _) => String::new(),
        (false, "text") => content.chars().take(SNIPPET_CHARS).collect(),
        (false, kind) => format!("[{kind}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_emoji_is_one_grapheme_of_the_emoji_set() {
        for ok in ["👍", "❤️", "👍🏽", "👨‍👩‍👧", "🇫🇷"] {
            assert!(Emoji::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a", "👍👍", ":+1:", "👍 ", "1", "<script>"] {
            assert!(Emoji::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Emoji::parse("❤").unwrap(), Emoji::parse("❤️").unwrap(), "one reaction, qualified or not");
    }

    #[test]
    fn reactions_toggle_and_show_counts_with_mine() {
        let mut details = Details::default();
        let thumbs = Emoji::parse("👍").unwrap();
        assert!(details.react(UserId(1), &thumbs, true).unwrap());
        assert!(!details.react(UserId(1), &thumbs, true).unwrap(), "once per user and emoji");
        assert!(details.react(UserId(2), &thumbs, true).unwrap());
        let mut seen = details.clone();
        seen.seen_by(UserId(2));
        assert_eq!(seen.reactions["👍"], Tally { count: 2, mine: true });
        assert!(seen.reacted_by.is_empty(), "who reacted is not shown");
        assert!(details.react(UserId(1), &thumbs, false).unwrap());
        assert!(details.react(UserId(2), &thumbs, false).unwrap());
        assert!(details.reacted_by.is_empty(), "an emoji nobody keeps disappears");
    }

    #[test]
    fn at_most_twenty_distinct_emoji() {
        let mut details = Details::default();
        let all: Vec<Emoji> = [
            "😀", "😃", "😄", "😁", "😆", "😅", "🤣", "😂", "🙂", "🙃", "😉", "😊", "😇", "🥰", "😍", "🤩", "😘", "😗",
            "😚", "😙", "😋",
        ]
        .iter()
        .map(|e| Emoji::parse(e).unwrap())
        .collect();
        for emoji in &all[..20] {
            details.react(UserId(1), emoji, true).unwrap();
        }
        assert!(details.react(UserId(2), &all[20], true).is_err());
        assert!(details.react(UserId(2), &all[0], true).unwrap(), "an emoji already there still counts");
    }

    #[test]
    fn hiding_is_per_reader_and_snippets_are_short() {
        let mut details = Details::default();
        assert!(details.hide_for(UserId(1)) && !details.hide_for(UserId(1)));
        let (mut mine, mut theirs) = (details.clone(), details);
        mine.seen_by(UserId(1));
        theirs.seen_by(UserId(2));
        assert!(mine.hidden && !theirs.hidden && theirs.hidden_for.is_empty());
        assert_eq!(snippet("text", &"é".repeat(150), false).chars().count(), SNIPPET_CHARS);
        assert_eq!((snippet("image", "file/x", false), snippet("text", "hi", true)), ("[image]".into(), String::new()));
        assert!(within_window(100, 100 + DEFAULT_EDIT_WINDOW_SECS, DEFAULT_EDIT_WINDOW_SECS));
        assert!(!within_window(100, 101 + DEFAULT_EDIT_WINDOW_SECS, DEFAULT_EDIT_WINDOW_SECS));
    }
}
