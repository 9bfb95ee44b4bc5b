//! The search query language, parsed into a [`ParsedQuery`] (no tantivy
//! here: the parser is pure and unit-tested on its own).
//!
//! ```text
//! words "an exact phrase" in:#room from:@name has:link is:question
//! is:unanswered mentions:me before:2026-01-31 after:2026-01-01
//! ```
//! Words and phrases must all match (AND). A `key:value` whose key is not
//! one of ours is an ordinary word (`http://…`, `12:30`), so pasting text
//! never fails; a known key with a value it cannot take is a `bad_query`.

use townhall_protocol::Millis;

/// Longest query accepted, in bytes: far above anything typed, small enough
/// that a query's terms stay a handful of index lookups.
pub const MAX_QUERY_BYTES: usize = 512;

/// Most words, phrases and filters in one query: each is a posting list to
/// intersect, so this bounds the work a single request can ask for.
pub const MAX_QUERY_PARTS: usize = 32;

/// What a query asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedQuery {
    /// Single words, as typed (the index's analyzer folds and stems them).
    pub words: Vec<String>,
    /// Exact phrases, as typed between double quotes.
    pub phrases: Vec<String>,
    /// Room names (`in:#name`), without the `#`.
    pub in_rooms: Vec<String>,
    /// Usernames (`from:@name`), without the `@`.
    pub from: Vec<String>,
    pub has_link: bool,
    /// `has:file`: messages with attachments.
    pub has_file: bool,
    pub is_question: bool,
    pub is_unanswered: bool,
    pub mentions_me: bool,
    /// Only messages strictly before this time (start of the given UTC day).
    pub before: Option<Millis>,
    /// Only messages at or after this time (start of the day after the
    /// given UTC day: `after:2026-01-01` starts on the 2nd, as in Slack).
    pub after: Option<Millis>,
}

impl ParsedQuery {
    /// Whether the query has any text to match (and so to highlight).
    pub fn has_text(&self) -> bool {
        !self.words.is_empty() || !self.phrases.is_empty()
    }
}

/// Why a query was refused; the message goes to the client as is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the query is empty")]
    Empty,
    #[error("the query is longer than {MAX_QUERY_BYTES} bytes")]
    TooLong,
    #[error("the query has more than {MAX_QUERY_PARTS} words and filters")]
    TooManyParts,
    #[error("a phrase is missing its closing quote")]
    UnclosedQuote,
    #[error("`{key}:` cannot take `{value}`")]
    BadValue { key: &'static str, value: String },
}

/// Parse a query string.
pub fn parse(input: &str) -> Result<ParsedQuery, QueryError> {
    if input.len() > MAX_QUERY_BYTES {
        return Err(QueryError::TooLong);
    }
    let mut q = ParsedQuery::default();
    let mut parts = 0usize;
    let mut rest = input.trim_start();
    while !rest.is_empty() {
        parts += 1;
        if parts > MAX_QUERY_PARTS {
            return Err(QueryError::TooManyParts);
        }
        if let Some(after_quote) = rest.strip_prefix('"') {
            let end = after_quote.find('"').ok_or(QueryError::UnclosedQuote)?;
            let phrase = after_quote[..end].trim();
            if !phrase.is_empty() {
                q.phrases.push(phrase.to_owned());
            }
            rest = after_quote[end + 1..].trim_start();
            continue;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let token = &rest[..end];
        rest = rest[end..].trim_start();
        apply_token(&mut q, token)?;
    }
    if !q.has_text()
        && q.in_rooms.is_empty()
        && q.from.is_empty()
        && !q.has_link
        && !q.has_file
        && !q.is_question
        && !q.is_unanswered
        && !q.mentions_me
        && q.before.is_none()
        && q.after.is_none()
    {
        return Err(QueryError::Empty);
    }
    Ok(q)
}

fn apply_token(q: &mut ParsedQuery, token: &str) -> Result<(), QueryError> {
    let Some((key, value)) = token.split_once(':') else {
        q.words.push(token.to_owned());
        return Ok(());
    };
    let bad = |key: &'static str| QueryError::BadValue {
        key,
        value: value.to_owned(),
    };
    match key.to_ascii_lowercase().as_str() {
        "in" => {
            let name = value.strip_prefix('#').unwrap_or(value);
            if name.is_empty() {
                return Err(bad("in"));
            }
            q.in_rooms.push(name.to_owned());
        }
        "from" => {
            let name = value.strip_prefix('@').unwrap_or(value);
            if name.is_empty() {
                return Err(bad("from"));
            }
            q.from.push(name.to_owned());
        }
        "has" => match value.to_ascii_lowercase().as_str() {
            "link" => q.has_link = true,
            "file" => q.has_file = true,
            _ => return Err(bad("has")),
        },
        "is" => match value.to_ascii_lowercase().as_str() {
            "question" => q.is_question = true,
            "unanswered" => q.is_unanswered = true,
            _ => return Err(bad("is")),
        },
        "mentions" => match value.to_ascii_lowercase().as_str() {
            "me" | "@me" => q.mentions_me = true,
            _ => return Err(bad("mentions")),
        },
        "before" => q.before = Some(day_start(value).ok_or_else(|| bad("before"))?),
        "after" => {
            let start = day_start(value).ok_or_else(|| bad("after"))?;
            q.after = Some(start + DAY_MS);
        }
        // Not one of ours: text (a URL, a time of day).
        _ => q.words.push(token.to_owned()),
    }
    Ok(())
}

const DAY_MS: u64 = 86_400_000;

/// Milliseconds since the epoch at 00:00 UTC of `YYYY-MM-DD`; `None` for
/// anything else or a day before 1970.
pub fn day_start(s: &str) -> Option<Millis> {
    let mut it = s.splitn(3, '-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let days = days_from_civil(y, m, d);
    u64::try_from(days).ok().map(|d| d * DAY_MS)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_phrases_are_separated() {
        let q = parse(r#"org chart "new slide deck" link"#).expect("parses");
        assert_eq!(q.words, ["org", "chart", "link"]);
        assert_eq!(q.phrases, ["new slide deck"]);
    }

    #[test]
    fn filters_are_recognised() {
        let q =
            parse("budget in:#general from:@Alice has:link is:question is:unanswered mentions:me")
                .expect("parses");
        assert_eq!(q.words, ["budget"]);
        assert_eq!(q.in_rooms, ["general"]);
        assert_eq!(q.from, ["Alice"]);
        assert!(q.has_link && q.is_question && q.is_unanswered && q.mentions_me);
    }

    #[test]
    fn a_filter_alone_is_a_query() {
        let q = parse("from:@bob").expect("parses");
        assert!(!q.has_text());
        assert_eq!(q.from, ["bob"]);
    }

    #[test]
    fn dates_are_utc_day_bounds() {
        let q = parse("x before:2026-01-02 after:2025-12-31").expect("parses");
        assert_eq!(q.before, Some(1_767_312_000_000)); // 2026-01-02T00:00Z
        assert_eq!(q.after, Some(1_767_225_600_000)); // 2026-01-01T00:00Z
        assert_eq!(day_start("1970-01-01"), Some(0));
        assert_eq!(day_start("2024-02-29"), Some(1_709_164_800_000));
        assert_eq!(day_start("2023-02-29"), None);
        assert_eq!(day_start("2026-13-01"), None);
        assert_eq!(day_start("yesterday"), None);
    }

    #[test]
    fn unknown_keys_are_words_and_bad_values_are_refused() {
        let q = parse("see https://example.com/x at 12:30").expect("parses");
        assert_eq!(q.words, ["see", "https://example.com/x", "at", "12:30"]);
        assert!(matches!(
            parse("is:pinned"),
            Err(QueryError::BadValue { key: "is", .. })
        ));
        assert!(matches!(
            parse("before:soon"),
            Err(QueryError::BadValue { .. })
        ));
        assert!(matches!(parse("in:#"), Err(QueryError::BadValue { .. })));
    }

    #[test]
    fn empty_unclosed_and_oversized_queries_are_refused() {
        assert_eq!(parse("   "), Err(QueryError::Empty));
        assert_eq!(parse("\"\""), Err(QueryError::Empty));
        assert_eq!(parse("\"open"), Err(QueryError::UnclosedQuote));
        assert_eq!(parse(&"a".repeat(600)), Err(QueryError::TooLong));
        assert_eq!(parse(&"a ".repeat(40)), Err(QueryError::TooManyParts));
    }

    #[test]
    fn unicode_is_kept_as_typed() {
        let q = parse("café «naïve» 東京").expect("parses");
        assert_eq!(q.words, ["café", "«naïve»", "東京"]);
    }
}
