//! Every storage key, encoded in one place.
//!
//! Ids are 16 raw bytes; counters are big-endian `u64` so that byte order is
//! numeric order and range scans come out sorted. A variable-length part
//! (usernames, device names) is always the last part of its key, so it needs
//! no terminator. Tests at the bottom check order and round trips.

use super::kv::StoreError;
use townhall_protocol::{Pos, RoomId, RoomSeq, UserId};

pub const META_SCHEMA_VERSION: &[u8] = b"schema_version";
pub const META_LAST_POS: &[u8] = b"last_pos";
pub const META_ORG_ROOM: &[u8] = b"org_room";
/// The time the last command was applied under (see `command.rs`, `Stamp`).
pub const META_APPLY_CLOCK: &[u8] = b"apply_clock";
/// Cluster mode: the sequence of the last log entry applied to this store.
pub const META_LOG_SEQ: &[u8] = b"log_seq";

/// OIDC issuer ‖ 0xff ‖ subject: `0xff` never occurs in UTF-8, so no two
/// (issuer, subject) pairs share a key.
pub fn oidc_subject(issuer: &str, subject: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(issuer.len() + 1 + subject.len());
    k.extend_from_slice(issuer.as_bytes());
    k.push(0xff);
    k.extend_from_slice(subject.as_bytes());
    k
}

pub fn user(id: UserId) -> Vec<u8> {
    id.as_bytes().to_vec()
}

pub fn room(id: RoomId) -> Vec<u8> {
    id.as_bytes().to_vec()
}

/// Usernames are unique without regard to case.
pub fn username(name: &str) -> Vec<u8> {
    name.to_lowercase().into_bytes()
}

/// Public room names are unique without regard to case, Unicode case
/// folding included: "Straße", "STRASSE" and "strasse" are one name, as are
/// "ΟΔΟΣ" and "οδος" (final sigma). Upper- then lowercasing, twice, reaches
/// what full case folding gives for these (one round leaves "ẞ" as "ß");
/// it may merge a few more (Turkish "ı" with "i"), which only refuses a
/// name, never lets two equal ones through.
pub fn public_room_name(name: &str) -> Vec<u8> {
    let once = name.to_uppercase().to_lowercase();
    once.to_uppercase().to_lowercase().into_bytes()
}

pub fn room_user(room: RoomId, user: UserId) -> Vec<u8> {
    pair(room.as_bytes(), user.as_bytes())
}

pub fn user_room(user: UserId, room: RoomId) -> Vec<u8> {
    pair(user.as_bytes(), room.as_bytes())
}

pub fn room_seq(room: RoomId, seq: RoomSeq) -> Vec<u8> {
    let mut k = Vec::with_capacity(24);
    k.extend_from_slice(room.as_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub fn user_client(user: UserId, client_id: uuid::Uuid) -> Vec<u8> {
    pair(user.as_bytes(), client_id.as_bytes())
}

/// blocker ‖ blocked: directed, unlike [`user_pair`] (a block is one-way),
/// so a prefix scan of the blocker lists whom they block.
pub fn user_user(from: UserId, to: UserId) -> Vec<u8> {
    pair(from.as_bytes(), to.as_bytes())
}

/// The pair key is the same whichever of the two asks.
pub fn user_pair(a: UserId, b: UserId) -> Vec<u8> {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    pair(lo.as_bytes(), hi.as_bytes())
}

pub fn user_device(user: UserId, device: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(16 + device.len());
    k.extend_from_slice(user.as_bytes());
    k.extend_from_slice(device.as_bytes());
    k
}

/// time ‖ room ‖ seq: answered questions in time order.
pub fn time_room_seq(at: u64, room: RoomId, seq: RoomSeq) -> Vec<u8> {
    let mut k = Vec::with_capacity(32);
    k.extend_from_slice(&at.to_be_bytes());
    k.extend_from_slice(room.as_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// room ‖ thread's first seq ‖ reply seq.
pub fn room_thread_reply(room: RoomId, parent: RoomSeq, reply: RoomSeq) -> Vec<u8> {
    let mut k = room_seq(room, parent);
    k.extend_from_slice(&reply.to_be_bytes());
    k
}

/// room ‖ seq ‖ emoji index ‖ user: one person's reaction past the listed few.
pub fn room_seq_emoji_user(room: RoomId, seq: RoomSeq, emoji: u8, user: UserId) -> Vec<u8> {
    let mut k = room_seq(room, seq);
    k.push(emoji);
    k.extend_from_slice(user.as_bytes());
    k
}

/// room ‖ seq ‖ user: one person's vote for, or follow of, a message.
pub fn room_seq_user(room: RoomId, seq: RoomSeq, user: UserId) -> Vec<u8> {
    let mut k = room_seq(room, seq);
    k.extend_from_slice(user.as_bytes());
    k
}

/// user ‖ room ‖ seq: what one person follows, in room then seq order.
pub fn user_room_seq(user: UserId, room: RoomId, seq: RoomSeq) -> Vec<u8> {
    let mut k = Vec::with_capacity(40);
    k.extend_from_slice(user.as_bytes());
    k.extend_from_slice(room.as_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// user ‖ pos: one person's notices in position order.
pub fn user_pos(user: UserId, pos: Pos) -> Vec<u8> {
    let mut k = Vec::with_capacity(24);
    k.extend_from_slice(user.as_bytes());
    k.extend_from_slice(&pos.to_be_bytes());
    k
}

/// The user at the end of a `room_seq_user` key.
pub fn user_of_room_seq_user(key: &[u8]) -> Result<UserId, StoreError> {
    let id: [u8; 16] = key
        .get(24..40)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| StoreError::Corrupt {
            tree: "room_seq_user",
            detail: "key is not 40 bytes".into(),
        })?;
    Ok(UserId::from_bytes(id))
}

/// The room and seq of a `room_seq` key.
pub fn split_room_seq(key: &[u8]) -> Result<(RoomId, RoomSeq), StoreError> {
    let room: [u8; 16] = key
        .get(..16)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| StoreError::Corrupt {
            tree: "room_seq",
            detail: format!("key of {} bytes", key.len()),
        })?;
    Ok((RoomId::from_bytes(room), seq_of(key)?))
}

fn pair(a: &[u8; 16], b: &[u8; 16]) -> Vec<u8> {
    let mut k = Vec::with_capacity(32);
    k.extend_from_slice(a);
    k.extend_from_slice(b);
    k
}

pub fn u64_value(v: u64) -> Vec<u8> {
    v.to_be_bytes().to_vec()
}

pub fn read_u64(tree: &'static str, bytes: &[u8]) -> Result<u64, StoreError> {
    let arr: [u8; 8] = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| StoreError::Corrupt {
            tree,
            detail: format!("expected 8 bytes, found {}", bytes.len()),
        })?;
    Ok(u64::from_be_bytes(arr))
}

/// The second 16-byte id of a pair key.
pub fn second_id(tree: &'static str, key: &[u8]) -> Result<[u8; 16], StoreError> {
    key.get(16..32)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| StoreError::Corrupt {
            tree,
            detail: format!("pair key of {} bytes", key.len()),
        })
}

/// The seq at the end of a `room_seq` key.
pub fn seq_of(key: &[u8]) -> Result<RoomSeq, StoreError> {
    read_u64("room_seq_event", key.get(16..).unwrap_or_default())
}

/// A stored event: `pos ‖ message ordinal ‖ JSON`. The fixed-width prefix lets
/// the backlog binary-search by position and count unread messages without
/// parsing JSON. The ordinal counts message events (not membership events) in
/// the room up to and including this one.
pub fn event_value(pos: Pos, ordinal: u64, json: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(16 + json.len());
    v.extend_from_slice(&pos.to_be_bytes());
    v.extend_from_slice(&ordinal.to_be_bytes());
    v.extend_from_slice(json);
    v
}

/// Split a stored event into (pos, ordinal, JSON).
pub fn split_event(bytes: &[u8]) -> Result<(Pos, u64, &[u8]), StoreError> {
    if bytes.len() < 16 {
        return Err(StoreError::Corrupt {
            tree: "room_seq_event",
            detail: format!("event value of {} bytes", bytes.len()),
        });
    }
    let pos = read_u64("room_seq_event", &bytes[..8])?;
    let ordinal = read_u64("room_seq_event", &bytes[8..16])?;
    Ok((pos, ordinal, &bytes[16..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_seq_keys_sort_by_room_then_numeric_seq() {
        let a = RoomId::new();
        let b = RoomId::new();
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        let mut keys = [
            room_seq(hi, 1),
            room_seq(lo, 256),
            room_seq(lo, 2),
            room_seq(lo, u64::MAX),
            room_seq(hi, 0),
            room_seq(lo, 255),
        ];
        keys.sort();
        let decoded: Vec<(RoomId, u64)> = keys
            .iter()
            .map(|k| {
                let id: [u8; 16] = k[..16].try_into().expect("16 bytes");
                (RoomId::from_bytes(id), seq_of(k).expect("seq"))
            })
            .collect();
        assert_eq!(
            decoded,
            vec![
                (lo, 2),
                (lo, 255),
                (lo, 256),
                (lo, u64::MAX),
                (hi, 0),
                (hi, 1)
            ]
        );
    }

    #[test]
    fn event_value_round_trips() {
        let v = event_value(42, 7, br#"{"a":1}"#);
        let (pos, ordinal, json) = split_event(&v).expect("valid");
        assert_eq!((pos, ordinal, json), (42, 7, &br#"{"a":1}"#[..]));
        assert!(split_event(&v[..10]).is_err());
    }

    #[test]
    fn pair_key_is_symmetric_and_second_id_round_trips() {
        let a = UserId::new();
        let b = UserId::new();
        assert_eq!(user_pair(a, b), user_pair(b, a));
        let k = room_user(RoomId::from_bytes(*a.as_bytes()), b);
        assert_eq!(second_id("t", &k).expect("pair"), *b.as_bytes());
    }

    #[test]
    fn a_block_key_is_directed_and_starts_with_the_blocker() {
        let (a, b) = (UserId::new(), UserId::new());
        assert_ne!(user_user(a, b), user_user(b, a));
        assert!(user_user(a, b).starts_with(&user(a)));
        assert_eq!(
            second_id("t", &user_user(a, b)).expect("pair"),
            *b.as_bytes()
        );
    }

    #[test]
    fn vote_follow_and_notice_keys_sort_and_round_trip() {
        let (r, u) = (RoomId::new(), UserId::new());
        let k = room_seq_user(r, 2, u);
        assert!(k.starts_with(&room_seq(r, 2)));
        assert_eq!(user_of_room_seq_user(&k).expect("40 bytes"), u);
        assert!(room_seq_user(r, 2, u) < room_seq_user(r, 256, u));
        assert!(user_room_seq(u, r, 9) < user_room_seq(u, r, 300));
        assert!(user_room_seq(u, r, 9).starts_with(&user(u)));
        assert!(user_pos(u, 255) < user_pos(u, 256));
        assert!(user_of_room_seq_user(&k[..30]).is_err());
    }

    #[test]
    fn usernames_fold_case() {
        assert_eq!(username("Alice"), username("alice"));
    }

    #[test]
    fn public_room_names_fold_unicode_case() {
        let same = |a: &str, b: &str| public_room_name(a) == public_room_name(b);
        assert!(same("General", "gENERAL"));
        assert!(same("Straße", "STRASSE") && same("ẞ", "ss") && same("straße", "strasse"));
        assert!(same("ΟΔΟΣ", "οδος") && same("οδος", "οδοσ"));
        assert!(!same("general", "generals"));
    }

    #[test]
    fn u64_values_are_big_endian_and_checked() {
        assert_eq!(read_u64("t", &u64_value(300)).expect("8 bytes"), 300);
        assert!(u64_value(1) < u64_value(256));
        assert!(read_u64("t", &[1, 2]).is_err());
    }
}
