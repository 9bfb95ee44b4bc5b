//! What a new name may be: usernames that cannot pass for something else,
//! and no bidirectional-text controls in anything shown as a name.
//!
//! These rules apply when a name is **made** (an account created over HTTP
//! or with `townhall user add`, a room created, a display name set); they
//! never reject a stored name, so an account made before them keeps
//! logging in. Every refusal is `ServerError::Invalid` (wire code
//! `invalid_field`), like the other name rules.

use crate::error::{Result, ServerError};

/// Usernames refused at creation, compared without regard to case: `@room`
/// mentions everyone, and `@here`, `@everyone` and `@all` read the same way
/// in every other chat tool, so a person with one of these names could not
/// be told apart from the broadcast mention.
pub const RESERVED_USERNAMES: &[&str] = &["room", "here", "everyone", "all", "anonymous"];

/// Is this username one no new account may take: a reserved word (any
/// case), or only dots (`.` and `..` read as paths: the admin page's
/// `/api/admin/users/{username}` cannot address them).
pub fn is_reserved_username(name: &str) -> bool {
    RESERVED_USERNAMES
        .iter()
        .any(|r| r.eq_ignore_ascii_case(name))
        || (!name.is_empty() && name.chars().all(|c| c == '.'))
}

/// Bidirectional-text controls: embeddings and overrides (U+202A–U+202E),
/// isolates (U+2066–U+2069), the marks LRM/RLM (U+200E, U+200F) and the
/// Arabic letter mark (U+061C). In a name, an override such as RLO makes
/// `gnp.exe` show as something else, and an unclosed one reverses the text
/// around it; a name never needs them (the client isolates each name).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Refuse a name (of `what`: "room name", "display name") that holds a
/// bidi control.
pub fn refuse_bidi(what: &str, name: &str) -> Result<()> {
    if name.chars().any(is_bidi_control) {
        return Err(ServerError::Invalid(format!(
            "a {what} may not contain bidirectional-text control characters"
        )));
    }
    Ok(())
}

/// A new account's username: not reserved (usernames are ASCII, so no
/// bidi control can be in one; `is_username` checks that).
pub fn refuse_reserved_username(name: &str) -> Result<()> {
    if is_reserved_username(name) {
        return Err(ServerError::Invalid(format!(
            "the username `{name}` is reserved (room, here, everyone, all, anonymous, or only dots)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_usernames_are_refused_in_any_case_and_others_pass() {
        for name in ["room", "ROOM", "Here", "everyone", "aLL", ".", "..", "...."] {
            assert!(is_reserved_username(name), "{name}");
        }
        for name in ["rooms", "allan", ".bob", "b.o.b", "here_", ""] {
            assert!(!is_reserved_username(name), "{name}");
        }
    }

    #[test]
    fn every_bidi_control_is_refused_and_ordinary_text_is_not() {
        for c in ('\u{202A}'..='\u{202E}')
            .chain('\u{2066}'..='\u{2069}')
            .chain(['\u{200E}', '\u{200F}', '\u{061C}'])
        {
            assert!(
                refuse_bidi("room name", &format!("a{c}b")).is_err(),
                "{c:?}"
            );
        }
        for ok in ["lobby", "café", "שלום", "مرحبا", "a\u{200D}b", "日本"] {
            assert!(refuse_bidi("room name", ok).is_ok(), "{ok}");
        }
    }
}
