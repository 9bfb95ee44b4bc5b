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
    /// Holds a control character (newline, tab, NUL, …) or a
    /// bidirectional-text control (which can make a name read as another).
    ForbiddenCharacter,
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
                "a display name may not contain control or bidirectional-text characters".into()
            }
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
    if name.chars().any(|c| c.is_control() || bidi(c)) {
        return Err(DisplayNameProblem::ForbiddenCharacter);
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
}
