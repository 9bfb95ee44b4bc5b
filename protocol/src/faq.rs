//! The FAQ (issue 15): answered questions the transformation team
//! published for the whole organisation, with topic tags.
//!
//! Publishing **copies** the question's and its answer's text into the
//! entry: from then on that text is visible to everyone in the
//! organisation, whatever room it was asked in. No entry carries the asker
//! (anonymous or not); the source room is shown only to people who can
//! read it.

use crate::UserInfo;
use crate::frames::Millis;
use crate::ids::{RoomId, RoomSeq};
use serde::{Deserialize, Serialize};

/// Entries the FAQ holds at most: a page people read and search, not an
/// archive; listing reads all of them, so the bound keeps a list cheap.
pub const MAX_FAQ_ENTRIES: usize = 5_000;

/// Topic tags per entry: a few topics, not a keyword dump.
pub const MAX_FAQ_TAGS: usize = 8;

/// Longest tag (Unicode scalar values, after normalising): a topic name.
pub const MAX_FAQ_TAG_CHARS: usize = 32;

/// Longest search text (`faq` `q`), in characters.
pub const MAX_FAQ_QUERY_CHARS: usize = 200;

/// One published question and its answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FaqEntry {
    /// The entry's number (`FAQ #id`), never reused.
    pub id: u64,
    /// The question's text as it was when published.
    pub question: String,
    /// The answer's text as it was when published.
    pub answer: String,
    /// Normalised topic tags, sorted.
    pub tags: Vec<String>,
    /// The transformation team member who published it.
    pub published_by: UserInfo,
    pub published_at: Millis,
    /// The source question (room and seq), only for a reader who can read
    /// that room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<RoomId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<RoomSeq>,
}

/// A tag and how many entries carry it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FaqTag {
    pub tag: String,
    pub count: u64,
}

/// A tag as stored: trimmed, lowercase, inner whitespace runs turned into
/// one `-`. `None` when it is empty, too long, or holds anything but
/// letters, digits, `-` and `_`.
pub fn normalise_tag(raw: &str) -> Option<String> {
    let mut out = String::new();
    for word in raw.split_whitespace() {
        if !out.is_empty() {
            out.push('-');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    let ok = !out.is_empty()
        && out.chars().count() <= MAX_FAQ_TAG_CHARS
        && out
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_');
    ok.then_some(out)
}

/// Normalise a list of tags: sorted, without duplicates; `Err` names the
/// first tag refused, or says there are too many.
pub fn normalise_tags(raw: &[String]) -> Result<Vec<String>, String> {
    let mut tags = Vec::with_capacity(raw.len());
    for t in raw {
        match normalise_tag(t) {
            Some(t) => tags.push(t),
            None => {
                return Err(format!(
                    "tag {t:?}: 1 to {MAX_FAQ_TAG_CHARS} letters, digits, - or _"
                ));
            }
        }
    }
    tags.sort();
    tags.dedup();
    if tags.len() > MAX_FAQ_TAGS {
        return Err(format!("at most {MAX_FAQ_TAGS} tags"));
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_lowercased_joined_sorted_and_bounded() {
        assert_eq!(normalise_tag("  Office  Move "), Some("office-move".into()));
        assert_eq!(normalise_tag("Réorg_2027"), Some("réorg_2027".into()));
        assert_eq!(normalise_tag(""), None);
        assert_eq!(normalise_tag("a/b"), None);
        assert_eq!(normalise_tag(&"x".repeat(MAX_FAQ_TAG_CHARS + 1)), None);
        let raw = vec!["Pay".to_string(), "pay".into(), "Benefits".into()];
        assert_eq!(
            normalise_tags(&raw).expect("valid tags"),
            vec!["benefits", "pay"]
        );
        let many: Vec<String> = (0..=MAX_FAQ_TAGS).map(|i| format!("t{i}")).collect();
        assert!(normalise_tags(&many).is_err());
    }
}
