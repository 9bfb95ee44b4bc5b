//! A person's own profile (issue 13): the display name they set
//! themselves, and the rules it must follow (shared by server and clients
//! so both refuse the same names).

/// Longest display name, in characters: what fits beside a message in a
/// timeline and a members list (the same bound as an admin-made name).
pub const MAX_DISPLAY_NAME_CHARS: usize = 64;

/// Why a display name is refused. Each refusal is wire code
/// `invalid_field` (like every other name rule) with its own message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisplayNameProblem {
    /// Empty once trimmed.
    Empty,
    /// More than [`MAX_DISPLAY_NAME_CHARS`] characters once trimmed.
    TooLong,
    /// Holds a control character (newline, tab, NUL, …), a
    /// bidirectional-text control or an invisible formatting character
    /// (zero-width space, soft hyphen, …): each can make a name read as
    /// another.
    ForbiddenCharacter,
    /// Reads as the shared anonymous sender's name: a named message would
    /// pass for an anonymous question.
    Reserved,
}

impl DisplayNameProblem {
    /// What the person is told.
    pub fn message(self) -> String {
        match self {
            DisplayNameProblem::Empty => "a display name cannot be empty".into(),
            DisplayNameProblem::TooLong => {
                format!("a display name is at most {MAX_DISPLAY_NAME_CHARS} characters")
            }
            DisplayNameProblem::ForbiddenCharacter => {
                "a display name may not contain control, invisible or bidirectional-text characters"
                    .into()
            }
            DisplayNameProblem::Reserved => "that display name is reserved".into(),
        }
    }
}

/// The display name to store for what a person typed: trimmed, then
/// checked.
pub fn clean_display_name(raw: &str) -> Result<String, DisplayNameProblem> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(DisplayNameProblem::Empty);
    }
    if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(DisplayNameProblem::TooLong);
    }
    let bidi = |c: char| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}');
    // Invisible characters that only hide (zero-width space, word joiner,
    // soft hyphen, fillers). Joiners and variation selectors stay: scripts
    // and emoji need them.
    let invisible = |c: char| {
        matches!(
            c,
            '\u{00AD}' | '\u{034F}' | '\u{115F}' | '\u{1160}' | '\u{200B}' | '\u{2060}'
                ..='\u{2064}' | '\u{3164}' | '\u{FEFF}' | '\u{FFA0}'
        )
    };
    if name
        .chars()
        .any(|c| c.is_control() || bidi(c) || invisible(c))
    {
        return Err(DisplayNameProblem::ForbiddenCharacter);
    }
    if name.to_lowercase() == "anonymous" {
        return Err(DisplayNameProblem::Reserved);
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(clean_display_name("  Ann Lee \n").as_deref(), Ok("Ann Lee"));
        assert_eq!(clean_display_name(" \t "), Err(DisplayNameProblem::Empty));
        let longest = "é".repeat(MAX_DISPLAY_NAME_CHARS);
        assert_eq!(
            clean_display_name(&longest).as_deref(),
            Ok(longest.as_str())
        );
        assert_eq!(
            clean_display_name(&"é".repeat(MAX_DISPLAY_NAME_CHARS + 1)),
            Err(DisplayNameProblem::TooLong)
        );
        for bad in ["Ann\nLee", "Ann\u{0}", "Ann\u{202E}gnp", "Ann\u{7f}"] {
            assert_eq!(
                clean_display_name(bad),
                Err(DisplayNameProblem::ForbiddenCharacter),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn invisible_characters_and_the_anonymous_name_are_refused() {
        for bad in ["Ann\u{200B}Lee", "\u{FEFF}Bob", "Al\u{00AD}ice"] {
            assert_eq!(
                clean_display_name(bad),
                Err(DisplayNameProblem::ForbiddenCharacter),
                "{bad:?}"
            );
        }
        for bad in ["Anonymous", " anonymous ", "ANONYMOUS"] {
            assert_eq!(clean_display_name(bad), Err(DisplayNameProblem::Reserved));
        }
        assert_eq!(
            clean_display_name("Anonymous Ann").as_deref(),
            Ok("Anonymous Ann")
        );
    }
}
