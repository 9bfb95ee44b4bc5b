//! Mentions: which names a message body mentions, and the record the
//! committer keeps of them so `summary` can count mentions per room without
//! reading the messages.
//!
//! `@name` mentions the user with that username (case does not matter) when
//! it is a whole word: `@bob!` and `@bob.` mention bob, `@bobby` does not.
//! `@room` mentions everyone in the room. Usernames may contain `.`, so
//! `@bob.smith` is a mention of `bob.smith` and also of `bob`.

use townhall_protocol::UserId;

/// A character that continues a name: `@bob_x` is not `@bob`.
fn continues_name(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

/// Longest username (accounts are refused beyond it).
pub const MAX_USERNAME: usize = 32;

/// The rule for usernames: 1 to 32 ASCII letters, digits, `.`, `_` or `-`.
/// Accounts are made under it (`http.rs`), and a mention can only name one.
pub fn is_username(name: &str) -> bool {
    (1..=MAX_USERNAME).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Most distinct names looked up for one message: bounds the username
/// lookups (and the committer's read cache) a single message can cause.
pub const MAX_CANDIDATES: usize = 32;

/// What a body may mention, before looking names up.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Candidates {
    /// `@room` appears.
    pub room: bool,
    /// Lowercase names that could be usernames, at most [`MAX_CANDIDATES`].
    pub names: Vec<String>,
}

/// For each `@`, every prefix of the name-like run after it that ends on a
/// word boundary and could be a username.
pub fn candidates(body: &str) -> Candidates {
    let mut out = Candidates::default();
    let lower = body.to_lowercase();
    for (at, _) in lower.match_indices('@') {
        let rest = &lower[at + 1..];
        for (i, c) in rest.char_indices() {
            if !(continues_name(c) || c == '.') {
                break;
            }
            let end = i + c.len_utf8();
            // No username is longer: nothing further can match.
            if end > MAX_USERNAME {
                break;
            }
            if rest[end..].chars().next().is_some_and(continues_name) {
                continue;
            }
            let name = &rest[..end];
            if name == "room" {
                out.room = true;
            } else if out.names.len() < MAX_CANDIDATES
                && is_username(name)
                && !out.names.iter().any(|n| n == name)
            {
                out.names.push(name.to_string());
            }
        }
    }
    out
}

/// What the store keeps for a message that mentions someone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MentionRecord {
    pub sender: UserId,
    /// `@room`: everyone in the room.
    pub room: bool,
    pub users: Vec<UserId>,
}

impl MentionRecord {
    /// Whether `user` should count this message as a mention of them.
    pub fn mentions(&self, user: UserId) -> bool {
        self.sender != user && (self.room || self.users.contains(&user))
    }

    /// sender (16) ‖ `@room` flag (1) ‖ mentioned user ids (16 each).
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(17 + 16 * self.users.len());
        v.extend_from_slice(self.sender.as_bytes());
        v.push(u8::from(self.room));
        for u in &self.users {
            v.extend_from_slice(u.as_bytes());
        }
        v
    }

    pub fn decode(bytes: &[u8]) -> Option<MentionRecord> {
        let id = |b: &[u8]| -> Option<UserId> {
            let arr: [u8; 16] = b.try_into().ok()?;
            Some(UserId::from_bytes(arr))
        };
        let sender = id(bytes.get(..16)?)?;
        let room = *bytes.get(16)? != 0;
        let rest = bytes.get(17..)?;
        if rest.len() % 16 != 0 {
            return None;
        }
        let users = rest.chunks_exact(16).map(id).collect::<Option<Vec<_>>>()?;
        Some(MentionRecord {
            sender,
            room,
            users,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(body: &str) -> Vec<String> {
        candidates(body).names
    }

    #[test]
    fn a_mention_must_be_a_whole_name() {
        assert_eq!(names("hi @bob!"), vec!["bob"]);
        assert_eq!(names("@Bob"), vec!["bob"]);
        assert!(names("hi @bobby").iter().all(|n| n != "bob"));
        assert!(names("@bobby and @bob").contains(&"bob".to_string()));
        assert!(names("@bob_x @bob-y").iter().all(|n| n != "bob"));
        assert_eq!(names("@bob.smith"), vec!["bob", "bob.smith"]);
        assert_eq!(
            names("mail bob@example.com"),
            vec!["example", "example.com"]
        );
        assert!(names("no mention").is_empty());
        assert!(names("@ alone").is_empty());
        assert!(names("@élodie").is_empty(), "not a possible username");
        let room = candidates("@room please");
        assert!(room.room && room.names.is_empty());
    }

    #[test]
    fn candidates_are_bounded_and_room_is_never_crowded_out() {
        // Long runs: nothing over 32 bytes is looked up.
        let body = format!("@{}.b.c.d", "a".repeat(16_000));
        assert!(names(&body).is_empty());
        let body = "@a.".repeat(5000);
        assert!(names(&body).len() <= MAX_CANDIDATES);
        // Many names: at most 32 looked up, and `@room` still counts.
        let body: String = (0..100).map(|i| format!("@user{i} ")).collect::<String>() + "@room";
        let c = candidates(&body);
        assert_eq!(c.names.len(), MAX_CANDIDATES);
        assert!(c.room);
    }

    #[test]
    fn the_username_rule() {
        assert!(is_username("bob.smith-2_x"));
        assert!(!is_username(""));
        assert!(!is_username(&"a".repeat(33)));
        assert!(!is_username("bob smith"));
        assert!(!is_username("bøb"));
    }

    #[test]
    fn records_round_trip_and_never_count_the_sender() {
        let (a, b, c) = (UserId::new(), UserId::new(), UserId::new());
        let r = MentionRecord {
            sender: a,
            room: false,
            users: vec![b],
        };
        assert_eq!(MentionRecord::decode(&r.encode()), Some(r.clone()));
        assert!(r.mentions(b) && !r.mentions(c) && !r.mentions(a));
        let all = MentionRecord {
            sender: a,
            room: true,
            users: vec![a],
        };
        assert!(all.mentions(b) && all.mentions(c) && !all.mentions(a));
        assert_eq!(MentionRecord::decode(&[1, 2, 3]), None);
    }
}
