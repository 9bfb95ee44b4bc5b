//! The store's contract, run against both implementations: sled in a
//! temporary folder and the in-memory reference.

use super::*;
use townhall_protocol::{Role, RoomKind, RoomRole, Visibility};

fn both() -> Vec<(&'static str, Store, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let sled = Store::open_sled(&dir.path().join("db"), 8 * 1024 * 1024).expect("open sled");
    vec![("sled", sled, Some(dir)), ("memory", Store::memory(), None)]
}

fn user(name: &str) -> UserRecord {
    UserRecord {
        id: UserId::new(),
        username: name.into(),
        display_name: name.into(),
        role: Role::Staff,
        password_hash: String::new(),
        disabled: false,
        sessions_valid_after: 0,
        transformation_team: false,
        avatar: None,
        created_at: 0,
    }
}

/// Write `n` events into `room` at the given positions (seq 1..).
fn write_events(store: &Store, room: RoomId, positions: &[Pos]) {
    let mut b = Batch::default();
    for (i, pos) in positions.iter().enumerate() {
        let seq = i as u64 + 1;
        let json = format!(r#"{{"n":{seq}}}"#);
        put_event(&mut b, room, seq, *pos, seq, json.as_bytes());
        put_last_pos(&mut b, *pos);
    }
    store.apply(&b).expect("apply");
    store.sync().expect("sync");
}

#[test]
fn users_are_found_by_id_and_by_name_without_case() {
    for (name, store, _dir) in both() {
        assert_eq!(store.init().expect("init"), 0, "{name}");
        let alice = user("Alice");
        let mut b = Batch::default();
        put_user(&mut b, &alice);
        store.apply(&b).expect("apply");
        assert_eq!(
            store.user(alice.id).expect("get").as_ref(),
            Some(&alice),
            "{name}"
        );
        assert_eq!(
            store.user_by_name("alice").expect("get").map(|u| u.id),
            Some(alice.id),
            "{name}"
        );
        assert_eq!(store.users().expect("all").len(), 1, "{name}");
    }
}

#[test]
fn history_pages_and_visibility_bound() {
    for (name, store, _dir) in both() {
        let room = RoomId::new();
        let other = RoomId::new();
        write_events(&store, room, &(1..=10).collect::<Vec<_>>());
        write_events(&store, other, &[11, 12]);
        let seqs = |v: &[StoredEvent]| v.iter().map(|e| e.seq).collect::<Vec<_>>();
        let (page, more) = store
            .history(room, None, None, 3, Pos::MAX)
            .expect("latest");
        assert_eq!((seqs(&page), more), (vec![8, 9, 10], true), "{name}");
        let (page, more) = store
            .history(room, Some(3), None, 5, Pos::MAX)
            .expect("before");
        assert_eq!((seqs(&page), more), (vec![1, 2], false), "{name}");
        let (page, more) = store
            .history(room, None, Some(8), 5, Pos::MAX)
            .expect("after");
        assert_eq!((seqs(&page), more), (vec![9, 10], false), "{name}");
        // Nothing above the visible position is shown.
        let (page, _) = store.history(room, None, None, 50, 6).expect("bounded");
        assert_eq!(seqs(&page), vec![1, 2, 3, 4, 5, 6], "{name}");
        assert_eq!(
            store.last_event(room, 6).expect("last").map(|e| e.seq),
            Some(6),
            "{name}"
        );
        assert_eq!(
            store.last_event_any(room).expect("last").map(|e| e.seq),
            Some(10),
            "{name}"
        );
        assert!(
            store
                .last_event(RoomId::new(), 100)
                .expect("none")
                .is_none(),
            "{name}"
        );
    }
}

#[test]
fn first_seq_after_finds_the_boundary_by_position() {
    for (name, store, _dir) in both() {
        let room = RoomId::new();
        // Positions interleave with other rooms: 3, 7, 8, 20, 21.
        write_events(&store, room, &[3, 7, 8, 20, 21]);
        for (after, want) in [(0, 1), (3, 2), (5, 2), (8, 4), (20, 5), (21, 6), (99, 6)] {
            assert_eq!(
                store.first_seq_after(room, after).expect("search"),
                want,
                "{name}: after {after}"
            );
        }
        assert_eq!(
            store.first_seq_after(RoomId::new(), 5).expect("empty"),
            1,
            "{name}"
        );
    }
}

#[test]
fn backlog_merges_rooms_by_position_within_membership_intervals() {
    for (name, store, _dir) in both() {
        let u = UserId::new();
        let (r1, r2, r3) = (RoomId::new(), RoomId::new(), RoomId::new());
        write_events(&store, r1, &[1, 4, 6, 9]);
        write_events(&store, r2, &[2, 5, 7, 8]);
        write_events(&store, r3, &[3, 10]);
        let mut b = Batch::default();
        // Member of r1 throughout, of r2 only for [5, 7], never of r3.
        put_membership(
            &mut b,
            r1,
            u,
            &MemberRecord {
                role: RoomRole::Member,
                intervals: vec![(1, OPEN)],
            },
        );
        put_membership(
            &mut b,
            r2,
            u,
            &MemberRecord {
                role: RoomRole::Member,
                intervals: vec![(5, 7)],
            },
        );
        store.apply(&b).expect("apply");
        let mut backlog = store.backlog(u, 0, 9).expect("open");
        let mut got = Vec::new();
        loop {
            let chunk = backlog.next_chunk(&store, 2).expect("chunk");
            if chunk.is_empty() {
                break;
            }
            assert!(chunk.len() <= 2);
            got.extend(chunk.into_iter().map(|e| e.pos));
        }
        assert_eq!(
            got,
            vec![1, 4, 5, 6, 7, 9],
            "{name}: merged in order, within (0, 9], only while a member"
        );
        let mut from_five = store.backlog(u, 5, 10).expect("open");
        let got: Vec<Pos> = from_five
            .next_chunk(&store, 100)
            .expect("chunk")
            .iter()
            .map(|e| e.pos)
            .collect();
        assert_eq!(got, vec![6, 7, 9], "{name}: resumes after a position");
    }
}

#[test]
fn backlog_of_many_rooms_is_merged_whole_and_in_order_across_refills() {
    // 600 rooms: a refill reads 4 events (BACKLOG_BUFFER / rooms, at
    // least 4), so every room is refilled many times; positions interleave
    // across rooms and some rooms run dry long before others.
    for (name, store, _dir) in both() {
        let u = UserId::new();
        let rooms: Vec<RoomId> = (0..600).map(|_| RoomId::new()).collect();
        let mut expected = Vec::new();
        let mut b = Batch::default();
        for (k, room) in rooms.iter().enumerate() {
            // Room k holds positions k+1, k+1+600, ... (k % 13 + 1 of them).
            let positions: Vec<Pos> = (0..(k % 13 + 1) as u64)
                .map(|j| k as u64 + 1 + j * 600)
                .collect();
            write_events(&store, *room, &positions);
            // A member of every room but each tenth.
            if k % 10 != 0 {
                expected.extend(positions.iter().copied());
                put_membership(
                    &mut b,
                    *room,
                    u,
                    &MemberRecord {
                        role: RoomRole::Member,
                        intervals: vec![(1, OPEN)],
                    },
                );
            }
        }
        store.apply(&b).expect("apply");
        expected.sort_unstable();
        let mut backlog = store.backlog(u, 0, Pos::MAX).expect("open");
        let mut got = Vec::new();
        loop {
            let chunk = backlog.next_chunk(&store, 7).expect("chunk");
            if chunk.is_empty() {
                break;
            }
            got.extend(chunk.into_iter().map(|e| e.pos));
        }
        assert_eq!(got.len(), expected.len(), "{name}: every event once");
        assert_eq!(got, expected, "{name}: in position order");
    }
}

#[test]
fn memberships_read_from_both_sides() {
    for (name, store, _dir) in both() {
        let (u1, u2) = (UserId::new(), UserId::new());
        let room = RoomRecord {
            id: RoomId::new(),
            name: "r".into(),
            topic: String::new(),
            visibility: Visibility::Private,
            kind: RoomKind::Room,
            created_by: u1,
            created_at: 0,
            announce_only: false,
            org_wide: false,
            archived: false,
        };
        let mut b = Batch::default();
        put_room(&mut b, &room);
        put_membership(
            &mut b,
            room.id,
            u1,
            &MemberRecord {
                role: RoomRole::Owner,
                intervals: vec![(1, OPEN)],
            },
        );
        put_membership(
            &mut b,
            room.id,
            u2,
            &MemberRecord {
                role: RoomRole::Member,
                intervals: vec![(2, 5)],
            },
        );
        store.apply(&b).expect("apply");
        assert_eq!(
            store.room_members(room.id).expect("members").len(),
            2,
            "{name}"
        );
        let current = store.current_memberships().expect("current");
        assert_eq!(current.len(), 1, "{name}");
        assert_eq!(current[0].1, u1, "{name}");
        assert_eq!(
            store.user_memberships(u2).expect("of u2")[0].0,
            room.id,
            "{name}"
        );
        assert_eq!(store.rooms().expect("rooms").len(), 1, "{name}");
    }
}

#[test]
fn a_batch_across_trees_is_all_or_nothing_and_durable_across_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("db");
    let alice = user("alice");
    {
        let store = Store::open_sled(&path, 8 * 1024 * 1024).expect("open");
        store.init().expect("init");
        let mut b = Batch::default();
        put_user(&mut b, &alice);
        put_last_pos(&mut b, 42);
        put_read_marker(&mut b, alice.id, RoomId::new(), 7);
        store.apply(&b).expect("apply");
        store.sync().expect("sync");
        // A second open of the same folder is refused while this one lives.
        assert!(Store::open_sled(&path, 8 * 1024 * 1024).is_err());
    }
    // sled's background flusher holds the folder's lock a moment after the
    // last handle drops: wait for it (bounded), as a restarted process would.
    let store =
        Store::open_sled_after_close(&path, 8 * 1024 * 1024, std::time::Duration::from_secs(10))
            .expect("reopen");
    assert_eq!(store.init().expect("init"), 42);
    assert_eq!(
        store.user_by_name("alice").expect("get").map(|u| u.id),
        Some(alice.id)
    );
}

#[test]
fn ack_records_and_device_positions_round_trip() {
    for (name, store, _dir) in both() {
        let (u, c, r) = (UserId::new(), uuid::Uuid::new_v4(), RoomId::new());
        let ack = AckRecord {
            room: r,
            seq: 3,
            pos: 9,
            ts: 1,
            broadcast: None,
        };
        let mut b = Batch::default();
        put_ack(&mut b, u, c, &ack);
        put_device_pos(&mut b, u, "phone", 9);
        put_dm(&mut b, u, UserId::from_bytes([0; 16]), r);
        store.apply(&b).expect("apply");
        assert_eq!(store.ack(u, c).expect("ack"), Some(ack), "{name}");
        assert_eq!(
            store.ack(u, uuid::Uuid::new_v4()).expect("none"),
            None,
            "{name}"
        );
        assert_eq!(
            store.device_pos(u, "phone").expect("pos"),
            Some(9),
            "{name}"
        );
        assert_eq!(store.device_pos(u, "laptop").expect("pos"), None, "{name}");
        assert_eq!(
            store.dm_room(UserId::from_bytes([0; 16]), u).expect("dm"),
            Some(r),
            "{name}"
        );
    }
}

#[test]
fn large_values_that_sled_puts_in_blob_files_are_synced_without_error() {
    // 15 KB values: sled writes leaves holding several of them to blobs/.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("db");
    let store = Store::open_sled(&path, 8 * 1024 * 1024).expect("open");
    let room = RoomId::new();
    let body = "b".repeat(15_000);
    for seq in 1..=200u64 {
        let mut b = Batch::default();
        put_event(&mut b, room, seq, seq, seq, body.as_bytes());
        store.apply(&b).expect("apply");
        store.sync().expect("sync with blobs");
    }
    let blobs = std::fs::read_dir(path.join("blobs"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(
        blobs > 0,
        "expected sled to write blob files for this test to mean anything"
    );
    drop(store);
    // The same process reopens: sled's flusher may still hold the lock
    // (CI failed on it once).
    let store =
        Store::open_sled_after_close(&path, 8 * 1024 * 1024, std::time::Duration::from_secs(10))
            .expect("reopen");
    assert_eq!(
        store.event(room, 200).expect("read").map(|e| e.json.len()),
        Some(15_000)
    );
}

mod overlay {
    //! The committer's overlay must read exactly like the store it will
    //! become: a base with some writes applied, plus pending writes on top,
    //! compared with one store that had all of them applied directly.
    use super::super::kv::{Kv, Op};
    use super::*;
    use proptest::prelude::*;
    use std::ops::Bound;

    fn key(k: u8) -> Vec<u8> {
        vec![k / 16, k % 16]
    }

    fn bound(kind: u8, k: u8) -> Bound<Vec<u8>> {
        match kind % 3 {
            0 => Bound::Unbounded,
            1 => Bound::Included(key(k)),
            _ => Bound::Excluded(key(k)),
        }
    }

    fn op(tree: Tree, put: bool, k: u8, v: u8) -> Op {
        if put {
            Op::Put(tree, key(k), vec![v])
        } else {
            Op::Delete(tree, key(k))
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn reads_through_the_overlay_match_a_store_with_everything_applied(
            base_ops in proptest::collection::vec((any::<bool>(), 0u8..64, any::<u8>()), 0..60),
            rounds in proptest::collection::vec(
                proptest::collection::vec((any::<bool>(), 0u8..64, any::<u8>()), 0..60), 1..4),
            queries in proptest::collection::vec((0u8..3, 0u8..64, 0u8..3, 0u8..64, any::<bool>(), 0usize..20), 1..20),
            cached_tree in any::<bool>(),
        ) {
            // An event tree (never cached) or a read-marker tree (cached).
            let tree = if cached_tree { Tree::UserRoomRead } else { Tree::RoomSeqEvent };
            let batch = |ops: &[(bool, u8, u8)]| Batch { ops: ops.iter().map(|&(p, k, v)| op(tree, p, k, v)).collect() };
            let base = std::sync::Arc::new(MemoryKv::new());
            let expected = MemoryKv::new();
            base.apply(&batch(&base_ops)).expect("base");
            expected.apply(&batch(&base_ops)).expect("expected base");
            let overlay = OverlayKv::new(base.clone());
            let all = |kv: &dyn Kv| kv.range(tree, Bound::Unbounded, Bound::Unbounded, false, 1000).expect("all");

            // Several groups in a row, as the committer runs them: reads see
            // the pending writes, then the group reaches the base.
            for round in rounds {
                expected.apply(&batch(&round)).expect("expected top");
                overlay.apply(&batch(&round)).expect("overlay");
                for k in 0u8..64 {
                    prop_assert_eq!(
                        overlay.get(tree, &key(k)).expect("get"),
                        expected.get(tree, &key(k)).expect("get")
                    );
                }
                for &(sk, s, ek, e, reverse, limit) in &queries {
                    let got = overlay.range(tree, bound(sk, s), bound(ek, e), reverse, limit).expect("range");
                    let want = expected.range(tree, bound(sk, s), bound(ek, e), reverse, limit).expect("range");
                    prop_assert_eq!(got, want);
                }
                let group = overlay.take_batch().expect("take");
                base.apply(&group).expect("apply group");
                overlay.applied(&group);
                // The base is now the expected store, and the overlay reads as the base.
                prop_assert_eq!(all(base.as_ref()), all(&expected));
                prop_assert_eq!(all(&overlay), all(base.as_ref()));
                for k in 0u8..64 {
                    prop_assert_eq!(
                        overlay.get(tree, &key(k)).expect("get"),
                        base.get(tree, &key(k)).expect("get")
                    );
                }
            }
        }
    }

    #[test]
    fn discard_forgets_pending_writes() {
        let base = std::sync::Arc::new(MemoryKv::new());
        let overlay = OverlayKv::new(base.clone());
        let mut b = Batch::default();
        b.put(Tree::Meta, b"k".to_vec(), b"v".to_vec());
        overlay.apply(&b).expect("apply");
        assert_eq!(
            overlay.get(Tree::Meta, b"k").expect("get"),
            Some(b"v".to_vec())
        );
        assert_eq!(base.get(Tree::Meta, b"k").expect("get"), None);
        overlay.discard().expect("discard");
        assert_eq!(overlay.get(Tree::Meta, b"k").expect("get"), None);
        assert!(overlay.take_batch().expect("take").is_empty());
    }
}

/// A data folder from before the mention index gets it built at its first
/// start, so `summary` counts old mentions too.
#[test]
fn the_message_indexes_are_built_for_an_older_data_folder() {
    use townhall_protocol::{Content, Event, UserInfo};
    for (name, store, _dir) in both() {
        store.init().expect("init");
        let bob = user("bob");
        let alice = user("alice");
        let mut b = Batch::default();
        put_user(&mut b, &bob);
        put_user(&mut b, &alice);
        let room = RoomId::new();
        // The fifth is a reply in the thread under the first.
        let bodies = [
            "hi @Bob",
            "no mention",
            "@room meeting",
            "hi @bobby",
            "a reply",
        ];
        for (i, body) in bodies.iter().enumerate() {
            let seq = i as u64 + 1;
            let thread = (seq == 5).then_some(1);
            let event = Event {
                pos: seq,
                room,
                seq,
                ts: 0,
                sender: UserInfo {
                    id: alice.id,
                    username: "alice".into(),
                    display_name: "alice".into(),
                    role: Role::Staff,
                    transformation_team: false,
                    avatar: None,
                },
                client_id: None,
                content: Content::Message {
                    body: body.to_string(),
                    thread,
                    question: false,
                    attachments: Vec::new(),
                },
                state: Default::default(),
            };
            let json = ServerFrame::Event(event).to_json();
            put_event(&mut b, room, seq, seq, seq, json.as_bytes());
        }
        // As a schema-1 build left it: messages, no indexes.
        b.put(Tree::Meta, keys::META_SCHEMA_VERSION, keys::u64_value(1));
        store.apply(&b).expect("apply");
        assert!(
            store
                .thread_replies(room, 1, 0, 10)
                .expect("replies")
                .is_empty(),
            "{name}: nothing indexed yet"
        );
        assert_eq!(
            store.mention_count(room, 0, 4, bob.id).expect("count"),
            0,
            "{name}: nothing indexed yet"
        );
        store.init().expect("init builds the indexes");
        assert_eq!(
            store.thread_replies(room, 1, 0, 10).expect("replies"),
            vec![5],
            "{name}"
        );
        assert!(
            store
                .thread_replies(room, 1, 5, 10)
                .expect("after")
                .is_empty()
        );
        assert_eq!(
            store.mention_count(room, 0, 4, bob.id).expect("count"),
            2,
            "{name}"
        );
        assert_eq!(
            store.mention_count(room, 1, 4, bob.id).expect("count"),
            1,
            "{name}"
        );
        assert_eq!(
            store.mention_count(room, 0, 4, alice.id).expect("count"),
            0,
            "{name}: own messages"
        );
        assert_eq!(
            store
                .kv()
                .get(Tree::Meta, keys::META_SCHEMA_VERSION)
                .expect("get"),
            Some(keys::u64_value(SCHEMA_VERSION)),
            "{name}: migrated, so a schema-1 build now refuses the folder"
        );
    }
}

#[test]
fn migration_to_schema_4_indexes_public_room_names_oldest_first() {
    for (name, store, _dir) in both() {
        let room = |id: u8, name: &str, visibility, kind| RoomRecord {
            id: RoomId::from_bytes([id; 16]),
            name: name.into(),
            topic: String::new(),
            visibility,
            kind,
            created_by: UserId::new(),
            created_at: 0,
            announce_only: false,
            org_wide: false,
            archived: false,
        };
        let rooms = [
            room(1, "General", Visibility::Public, RoomKind::Room),
            room(2, "general", Visibility::Public, RoomKind::Room),
            room(3, "Secret", Visibility::Private, RoomKind::Room),
            room(4, "a dm", Visibility::Private, RoomKind::Dm),
        ];
        // As a schema-3 build left it: rooms, no name index.
        let mut b = Batch::default();
        for r in &rooms {
            put_room(&mut b, r);
        }
        b.put(Tree::Meta, keys::META_SCHEMA_VERSION, keys::u64_value(3));
        store.apply(&b).expect("apply");
        assert_eq!(store.public_room_named("general").expect("get"), None);

        store.init().expect("init indexes the names");
        // Two "general"s from before the rule: the older holds the name.
        assert_eq!(
            store.public_room_named("GENERAL").expect("get"),
            Some(rooms[0].id),
            "{name}"
        );
        assert_eq!(store.public_room_named("secret").expect("get"), None);
        assert_eq!(store.public_room_named("a dm").expect("get"), None);
        assert_eq!(
            store
                .kv()
                .get(Tree::Meta, keys::META_SCHEMA_VERSION)
                .expect("get"),
            Some(keys::u64_value(SCHEMA_VERSION)),
            "{name}: migrated, so a schema-3 build now refuses the folder"
        );
    }
}

#[test]
fn migration_to_schema_5_moves_legacy_name_rows_to_the_folded_key() {
    for (name, store, _dir) in both() {
        let room = |id: u8, name: &str| RoomRecord {
            id: RoomId::from_bytes([id; 16]),
            name: name.into(),
            topic: String::new(),
            visibility: Visibility::Public,
            kind: RoomKind::Room,
            created_by: UserId::new(),
            created_at: 0,
            announce_only: false,
            org_wide: false,
            archived: false,
        };
        // As a schema-4 build before case folding left it: plain lowercase
        // keys ("straße", "maßnahmen"), next to a folded row written later by
        // a room the legacy lookup missed ("STRASSE" → "strasse").
        let old_strasse = room(1, "Straße");
        let new_strasse = room(2, "STRASSE");
        let measures = room(3, "Maßnahmen");
        let gone = RoomId::from_bytes([9; 16]);
        let mut b = Batch::default();
        for r in [&old_strasse, &new_strasse, &measures] {
            put_room(&mut b, r);
        }
        let legacy = |b: &mut Batch, key: &str, id: RoomId| {
            b.put(
                Tree::PublicNameRoom,
                key.as_bytes().to_vec(),
                id.as_bytes().to_vec(),
            )
        };
        legacy(&mut b, "straße", old_strasse.id);
        legacy(&mut b, "strasse", new_strasse.id);
        legacy(&mut b, "maßnahmen", measures.id);
        legacy(&mut b, "a room since lost", gone);
        b.put(Tree::Meta, keys::META_SCHEMA_VERSION, keys::u64_value(4));
        store.apply(&b).expect("apply");

        store.init().expect("init folds the names");
        // The folded row keeps its holder; the legacy row is gone, so the
        // older "Straße" is a listed duplicate, not a second claim.
        assert_eq!(
            store.public_room_named("straße").expect("get"),
            Some(new_strasse.id),
            "{name}"
        );
        assert_eq!(
            store.public_room_named("MASSNAHMEN").expect("get"),
            Some(measures.id),
            "{name}: a legacy-only name is found under its folded key"
        );
        let rows: Vec<Vec<u8>> = store
            .kv()
            .range(
                Tree::PublicNameRoom,
                std::ops::Bound::Unbounded,
                std::ops::Bound::Unbounded,
                false,
                100,
            )
            .expect("scan")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(
            rows,
            vec![b"massnahmen".to_vec(), b"strasse".to_vec()],
            "{name}: every row folded, the lost room's row dropped"
        );
        let dups = store.duplicate_public_names().expect("dups");
        assert_eq!(dups.len(), 1, "{name}");
        assert_eq!(
            dups[0].iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![old_strasse.id, new_strasse.id]
        );
        assert_eq!(
            store
                .kv()
                .get(Tree::Meta, keys::META_SCHEMA_VERSION)
                .expect("get"),
            Some(keys::u64_value(SCHEMA_VERSION)),
            "{name}"
        );
    }
}

#[test]
fn votes_follows_and_notices_round_trip_on_both_stores() {
    for (name, store, _dir) in both() {
        store.init().expect("init");
        let room = RoomId::new();
        let (a, c) = (UserId::new(), UserId::new());
        let mut b = Batch::default();
        put_vote(&mut b, room, 7, a, 100);
        put_follow(&mut b, room, 7, a);
        put_follow(&mut b, room, 7, c);
        put_follow(&mut b, room, 8, c);
        for pos in [5, 9, 12] {
            put_notice(&mut b, a, pos, format!("n{pos}").as_bytes());
        }
        put_notice(&mut b, c, 10, b"other");
        store.apply(&b).expect("apply");
        assert!(store.voted(room, 7, a).expect("read"), "{name}");
        assert!(!store.voted(room, 7, c).expect("read"), "{name}");
        assert_eq!(store.voters(room, 7).expect("read"), vec![a], "{name}");
        let mut both_followers = vec![a, c];
        both_followers.sort();
        assert_eq!(
            store.followers(room, 7).expect("read"),
            both_followers,
            "{name}"
        );
        assert_eq!(store.follow_count(c).expect("count"), 2, "{name}");
        // (after, upto]: oldest first, only this user's.
        let notices = store.notices(a, 5, 12).expect("read");
        let got: Vec<(Pos, Vec<u8>)> = vec![(9, b"n9".to_vec()), (12, b"n12".to_vec())];
        assert_eq!(notices, got, "{name}");
        assert!(store.notices(a, 12, 12).expect("read").is_empty(), "{name}");

        let mut b = Batch::default();
        delete_vote(&mut b, room, 7, a);
        delete_follow(&mut b, room, 7, c);
        store.apply(&b).expect("apply");
        assert!(store.voters(room, 7).expect("read").is_empty(), "{name}");
        assert_eq!(store.followers(room, 7).expect("read"), vec![a], "{name}");
        assert_eq!(store.follow_count(c).expect("count"), 1, "{name}");
    }
}
