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

/// The lowercase names a body may mention: for each `@`, every prefix of the
/// name-like run after it that ends on a word boundary. At most
/// [`MAX_CANDIDATES`], so a body of 16 KiB of `@a.` costs a bounded number
/// of username lookups.
pub fn candidates(body: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let lower = body.to_lowercase();
    for (at, _) in lower.match_indices('@') {
        let rest = &lower[at + 1..];
        let run_len = rest
            .char_indices()
            .find(|(_, c)| !(continues_name(*c) || *c == '.'))
            .map_or(rest.len(), |(i, _)| i);
        let run = &rest[..run_len];
        for (i, c) in run.char_indices() {
            let end = i + c.len_utf8();
            let next = run[end..].chars().next();
            if !next.is_some_and(continues_name) && !out.iter().any(|n| n == &run[..end]) {
                out.push(run[..end].to_string());
                if out.len() >= MAX_CANDIDATES {
                    return out;
                }
            }
        }
    }
    out
}

/// Most names looked up for one message.
pub const MAX_CANDIDATES: usize = 32;

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

    #[test]
    fn a_mention_must_be_a_whole_name() {
        assert_eq!(candidates("hi @bob!"), vec!["bob"]);
        assert_eq!(candidates("@Bob"), vec!["bob"]);
        assert!(candidates("hi @bobby").iter().all(|n| n != "bob"));
        assert!(candidates("@bobby and @bob").contains(&"bob".to_string()));
        assert!(candidates("@bob_x @bob-y").iter().all(|n| n != "bob"));
        assert_eq!(candidates("@bob.smith"), vec!["bob", "bob.smith"]);
        assert_eq!(
            candidates("mail bob@example.com"),
            vec!["example", "example.com"]
        );
        assert_eq!(candidates("no mention"), Vec::<String>::new());
        assert_eq!(candidates("@room please"), vec!["room"]);
        assert_eq!(candidates("@ alone"), Vec::<String>::new());
    }

    #[test]
    fn candidates_are_bounded() {
        let body = "@a.".repeat(5000);
        assert!(candidates(&body).len() <= MAX_CANDIDATES);
        let body: String = (0..100).map(|i| format!("@user{i} ")).collect();
        assert_eq!(candidates(&body).len(), MAX_CANDIDATES);
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
