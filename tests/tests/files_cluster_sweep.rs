//! Reclaiming files in cluster mode (issue 12): the sweep of each node
//! removes bytes nothing references from its own disk and from the NATS
//! object store every node shares, including objects no node holds a copy
//! of (found by listing the bucket) and thumbnails a node fetched without
//! their bytes; a file still referenced is never removed and still
//! downloads through every node, and its objects are put back by a node
//! holding a copy if the object store lost them (the audit). The bucket
//! listing is paged across sweeps.
//!
//! Each test runs a real 3-server nats-server cluster and real `townhall`
//! nodes with a 2 s grace and a sweep every second, and waits for the
//! effect with a timeout (polling), never a blind sleep.

use futures_util::StreamExt;
use sha2::Digest;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;
use townhall_protocol::{Attachment, ClientFrame, RoomId, ServerFrame, Visibility};
use townhall_tests::cluster::TownhallCluster;
use townhall_tests::{Client, TestServer};
use uuid::Uuid;

/// Polls can take this long: a grace of 2 s, a sweep every second, and a
/// loaded 2-core machine running three nats-servers and three nodes.
const WAIT: Duration = Duration::from_secs(30);

/// The bucket of the default log stream (`TOWNHALL`).
const BUCKET: &str = "TOWNHALL_FILES";

/// Every node gets a short grace and a fast sweep.
const SWEEP_ARGS: &[&str] = &["--file-pending-secs", "2", "--file-sweep-secs", "1"];

async fn upload(server: &TestServer, token: &str, name: &str, bytes: Vec<u8>) -> (u16, String) {
    let r = reqwest::Client::new()
        .post(server.http("/api/files"))
        .query(&[("name", name)])
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .expect("upload");
    let status = r.status().as_u16();
    (status, r.text().await.unwrap_or_default())
}

async fn uploaded(server: &TestServer, token: &str, name: &str, bytes: Vec<u8>) -> Attachment {
    let (status, body) = upload(server, token, name, bytes).await;
    assert_eq!(status, 201, "upload of {name}: {body}");
    serde_json::from_str(&body).expect("attachment")
}

async fn get(server: &TestServer, token: &str, path: &str) -> (u16, Vec<u8>) {
    let r = reqwest::Client::new()
        .get(server.http(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("get");
    let status = r.status().as_u16();
    (status, r.bytes().await.expect("body").to_vec())
}

/// Post `files` in `room`; the message's seq.
async fn post_files(c: &mut Client, room: RoomId, files: &[Uuid]) -> u64 {
    let frame = c
        .request(ClientFrame::Send {
            req_id: None,
            room,
            client_id: Uuid::new_v4(),
            body: "attached".into(),
            thread: None,
            question: false,
            attachments: files.to_vec(),
        })
        .await;
    match frame {
        ServerFrame::Ack { seq, .. } => seq,
        other => panic!("posting files: {other:?}"),
    }
}

async fn delete(c: &mut Client, room: RoomId, seq: u64) {
    let frame = c
        .request(ClientFrame::Delete {
            req_id: None,
            room,
            seq,
        })
        .await;
    assert!(matches!(frame, ServerFrame::Ok { .. }), "delete: {frame:?}");
}

/// File names (bytes and thumbnails, not temp files) under `<data>/files/`.
fn stored_files(data: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Ok(dirs) = std::fs::read_dir(data.join("files")) else {
        return out;
    };
    for d in dirs.flatten() {
        if d.file_name() == "tmp" || d.file_name() == "spare" || !d.path().is_dir() {
            continue;
        }
        let prefix = d.file_name().to_string_lossy().into_owned();
        for f in std::fs::read_dir(d.path()).into_iter().flatten().flatten() {
            out.insert(format!("{prefix}{}", f.file_name().to_string_lossy()));
        }
    }
    out
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

async fn object_store(c: &TownhallCluster) -> async_nats::jetstream::object_store::ObjectStore {
    let client = async_nats::connect(c.nats.url_list()).await.expect("nats");
    async_nats::jetstream::new(client)
        .get_object_store(BUCKET)
        .await
        .expect("the file bucket")
}

/// Put `bytes` under `name` straight into the bucket. A bucket made a
/// moment ago (by the nodes' start) may not yet be known to the server
/// this client talks to ("no stream found for given subject", seen on a
/// loaded CI machine): retried until it is, within the wait. Such a
/// refused publish stores nothing.
async fn put_by_hand(
    store: &async_nats::jetstream::object_store::ObjectStore,
    name: &str,
    bytes: &[u8],
) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match store.put(name, &mut &bytes[..]).await {
            Ok(_) => return,
            Err(e) => assert!(
                tokio::time::Instant::now() < deadline,
                "put {name} straight into the bucket: {e}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The names the bucket holds now.
async fn objects(store: &async_nats::jetstream::object_store::ObjectStore) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut list = tokio::time::timeout(WAIT, store.list())
        .await
        .expect("listing in time")
        .expect("listing");
    while let Some(info) = tokio::time::timeout(WAIT, list.next())
        .await
        .expect("listing in time")
    {
        names.insert(info.expect("an object").name);
    }
    names
}

/// Poll `what` every 100 ms until `cond` holds on what `look` returns.
async fn until<T: std::fmt::Debug, F: std::future::Future<Output = T>>(
    what: &str,
    mut look: impl FnMut() -> F,
    cond: impl Fn(&T) -> bool,
) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let seen = look().await;
        if cond(&seen) {
            return seen;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}; last seen: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A small RGB PNG (stored blocks, no compression library needed).
fn png(w: u32, h: u32) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut c = kind.to_vec();
        c.extend_from_slice(data);
        out.extend_from_slice(&c);
        out.extend_from_slice(&crc32(&c).to_be_bytes());
    }
    let mut raw = Vec::new();
    for y in 0..h {
        raw.push(0);
        for x in 0..w {
            raw.extend_from_slice(&[(x * 4) as u8, (y * 4) as u8, 77]);
        }
    }
    let mut z = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        z.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// Alice uploads two files through node 0 and posts each in its own
/// message; bob downloads both through node 1. Alice deletes the second
/// message: its bytes leave node 0's disk, node 1's disk and the object
/// store. The first file was uploaded and fetched *before* the second, so
/// by then it was past the grace on every node too: it is still on node
/// 0, in the object store, and downloads through node 1 and through node
/// 2, which never held it.
#[tokio::test]
async fn a_deleted_messages_file_leaves_every_node_and_the_store_and_a_posted_one_stays() {
    let c = TownhallCluster::start_with(3, SWEEP_ARGS).await;
    let (n0, n1, n2) = (c.node(0), c.node(1), c.node(2));
    let (_, a_token) = n0.user("alice").await;
    let (_, b_token) = n0.user("bob").await;
    let mut a = n0.connect(&a_token).await;
    let room = a.create_room("files", Visibility::Private).await;
    a.add_member(room.id, "bob").await;

    let kept_bytes = b"kept: still posted\n".repeat(500);
    let gone_bytes = b"gone: its message is deleted\n".repeat(500);
    let kept = uploaded(n0, &a_token, "kept.txt", kept_bytes.clone()).await;
    post_files(&mut a, room.id, &[kept.id]).await;
    let gone = uploaded(n0, &a_token, "gone.txt", gone_bytes.clone()).await;
    let gone_seq = post_files(&mut a, room.id, &[gone.id]).await;
    let (kept_hash, gone_hash) = (sha256(&kept_bytes), sha256(&gone_bytes));

    // Bob reads both through node 1, kept first: node 1 holds copies.
    for (file, bytes) in [(&kept, &kept_bytes), (&gone, &gone_bytes)] {
        let got = get(n1, &b_token, &format!("/api/files/{}", file.id)).await;
        assert_eq!(got, (200, bytes.clone()));
    }
    let both: BTreeSet<String> = [kept_hash.clone(), gone_hash.clone()].into();
    assert_eq!(stored_files(&n1.data), both, "node 1 fetched both");
    let store = object_store(&c).await;
    assert_eq!(objects(&store).await, both);

    delete(&mut a, room.id, gone_seq).await;
    for node in [n0, n1] {
        until(
            "the deleted message's bytes leave the node's disk",
            || async { stored_files(&node.data) },
            |held| !held.contains(&gone_hash),
        )
        .await;
    }
    until(
        "the deleted message's bytes leave the object store",
        || objects(&store),
        |names| !names.contains(&gone_hash),
    )
    .await;

    // The posted file stayed everywhere it was, and every node serves it.
    let only_kept: BTreeSet<String> = [kept_hash.clone()].into();
    assert_eq!(stored_files(&n0.data), only_kept);
    assert_eq!(stored_files(&n1.data), only_kept);
    assert_eq!(objects(&store).await, only_kept);
    for node in [n0, n1, n2] {
        let got = get(node, &b_token, &format!("/api/files/{}", kept.id)).await;
        assert_eq!(got, (200, kept_bytes.clone()), "through {}", node.addr);
        let got = get(node, &b_token, &format!("/api/files/{}", gone.id)).await;
        assert_eq!(got.0, 404, "the deleted file through {}", node.addr);
    }
    c.assert_converged().await;
}

/// Objects no node holds a copy of: one put straight into the bucket under
/// a content-hash name nothing references, and the object a refused
/// upload left (two uploads racing under the quota through two nodes: one
/// is refused at apply after its bytes went to the object store, and its
/// node removes only its local copy). Both are deleted by the bucket
/// listing once past the grace; a posted file's object, and an object
/// whose name is not a content hash (not ours), stay.
#[tokio::test]
async fn orphaned_objects_in_the_store_are_removed_and_referenced_ones_stay() {
    let mut args = SWEEP_ARGS.to_vec();
    args.extend(["--file-quota-mb", "1"]);
    let c = TownhallCluster::start_with(2, &args).await;
    let (n0, n1) = (c.node(0), c.node(1));
    let (_, a_token) = n0.user("alice").await;
    let mut a = n0.connect(&a_token).await;
    let room = a.create_room("files", Visibility::Public).await;
    let store = object_store(&c).await;

    let stray = b"put here by hand, referenced by nothing".to_vec();
    let stray_hash = sha256(&stray);
    let foreign = "not-a-content-hash";
    for name in [stray_hash.as_str(), foreign] {
        put_by_hand(&store, name, &stray).await;
    }

    // Racing under alice's 1 MiB quota, through node 0 and node 1.
    let (first, second) = (vec![1u8; 600 * 1024], vec![2u8; 600 * 1024]);
    let (r0, r1) = tokio::join!(
        upload(n0, &a_token, "first.bin", first.clone()),
        upload(n1, &a_token, "second.bin", second.clone()),
    );
    let (accepted, refused_hash) = match (r0.0, r1.0) {
        (201, 201) => panic!("both uploads passed a 1 MiB quota: {r0:?} {r1:?}"),
        (201, _) => (r0.1, sha256(&second)),
        (_, 201) => (r1.1, sha256(&first)),
        _ => panic!("neither upload was accepted: {r0:?} {r1:?}"),
    };
    let accepted: Attachment = serde_json::from_str(&accepted).expect("attachment");
    post_files(&mut a, room.id, &[accepted.id]).await;
    let kept_hash = if refused_hash == sha256(&first) {
        sha256(&second)
    } else {
        sha256(&first)
    };
    let before = objects(&store).await;
    assert!(before.contains(&stray_hash) && before.contains(&kept_hash));
    // The refused upload's object is there if its put finished before the
    // refusal (it does, unless the early quota check caught it first).
    let refused_left_an_object = before.contains(&refused_hash);
    for node in [n0, n1] {
        assert!(
            !stored_files(&node.data).contains(&refused_hash),
            "the refused upload's local bytes went at once"
        );
    }

    until(
        "the orphaned objects leave the object store",
        || objects(&store),
        |names| !names.contains(&stray_hash) && !names.contains(&refused_hash),
    )
    .await;
    let after = objects(&store).await;
    let expected: BTreeSet<String> = [kept_hash.clone(), foreign.to_owned()].into();
    assert_eq!(
        after, expected,
        "only what is referenced, and what is not ours, stays"
    );
    for node in [n0, n1] {
        let got = get(node, &a_token, &format!("/api/files/{}", accepted.id)).await;
        assert_eq!(got.0, 200, "the posted file through {}", node.addr);
    }
    eprintln!("a refused upload left an object to reclaim: {refused_left_an_object}");
    c.assert_converged().await;
}

/// Bob looks only at an image's thumbnail through node 1, so node 1
/// fetches the thumbnail without the image's bytes. Once the message is
/// deleted, node 1's thumbnail goes too (as do node 0's copies and the
/// objects).
#[tokio::test]
async fn a_thumbnail_fetched_alone_by_another_node_is_reclaimed_there() {
    let c = TownhallCluster::start_with(2, SWEEP_ARGS).await;
    let (n0, n1) = (c.node(0), c.node(1));
    let (_, a_token) = n0.user("alice").await;
    let (_, b_token) = n0.user("bob").await;
    let mut a = n0.connect(&a_token).await;
    let room = a.create_room("pictures", Visibility::Public).await;
    let image_bytes = png(64, 48);
    let image = uploaded(n0, &a_token, "picture.png", image_bytes.clone()).await;
    assert!(image.thumbnail, "the upload has a thumbnail");
    let seq = post_files(&mut a, room.id, &[image.id]).await;

    let (status, thumb) = get(n1, &b_token, &format!("/api/files/{}/thumb", image.id)).await;
    assert_eq!(status, 200);
    assert_eq!(&thumb[..8], b"\x89PNG\r\n\x1a\n");
    let hash = sha256(&image_bytes);
    let thumb_only: BTreeSet<String> = [format!("{hash}.thumb.png")].into();
    assert_eq!(
        stored_files(&n1.data),
        thumb_only,
        "node 1 holds the thumbnail alone"
    );

    delete(&mut a, room.id, seq).await;
    until(
        "node 1's thumbnail is reclaimed",
        || async { stored_files(&n1.data) },
        BTreeSet::is_empty,
    )
    .await;
    until(
        "node 0's copies are reclaimed",
        || async { stored_files(&n0.data) },
        BTreeSet::is_empty,
    )
    .await;
    let store = object_store(&c).await;
    until(
        "the objects are reclaimed",
        || objects(&store),
        BTreeSet::is_empty,
    )
    .await;
    c.assert_converged().await;
}

/// A sweep that deleted a shared object and stopped before putting it back
/// (killed between the two, or its put back failed) leaves a spare copy in
/// `<data>/files/spare/`; the next sweep puts it back if its hash is
/// referenced, and drops it otherwise. Here the state such a sweep leaves
/// is made by hand: a posted file's object deleted from the bucket, with
/// its spare in node 1's folder (node 1 never held the file, and node 0's
/// copy is removed by hand too, so node 0's audit cannot put it back: the
/// spare is the only copy left), and a spare of bytes nothing references.
/// The posted file's object comes back and downloads through node 1; the
/// other spare goes without being put.
#[tokio::test]
async fn a_spare_left_by_an_unfinished_sweep_is_put_back_if_referenced() {
    let c = TownhallCluster::start_with(2, SWEEP_ARGS).await;
    let (n0, n1) = (c.node(0), c.node(1));
    let (_, a_token) = n0.user("alice").await;
    let mut a = n0.connect(&a_token).await;
    let room = a.create_room("files", Visibility::Public).await;
    let store = object_store(&c).await;

    let bytes = b"posted: its object must come back\n".repeat(300);
    let file = uploaded(n0, &a_token, "posted.txt", bytes.clone()).await;
    post_files(&mut a, room.id, &[file.id]).await;
    let hash = sha256(&bytes);
    let stray = b"a spare of bytes nothing references".to_vec();
    let stray_hash = sha256(&stray);

    std::fs::remove_file(n0.data.join("files").join(&hash[..2]).join(&hash[2..]))
        .expect("remove node 0's copy by hand");
    store.delete(&hash).await.expect("delete by hand");
    assert!(!objects(&store).await.contains(&hash));
    let files = n1.data.join("files");
    for (name, data) in [(&hash, &bytes), (&stray_hash, &stray)] {
        // Whole files only: written aside, then moved in.
        let aside = files.join("tmp").join(format!("{name}.part"));
        std::fs::write(&aside, data).expect("write a spare");
        std::fs::rename(&aside, files.join("spare").join(name)).expect("move a spare in");
    }
    until(
        "node 1's sweep settles both spares",
        || async {
            std::fs::read_dir(files.join("spare"))
                .map(|d| d.count())
                .ok()
        },
        |left| *left == Some(0),
    )
    .await;
    let names = objects(&store).await;
    assert!(names.contains(&hash), "the referenced object was put back");
    assert!(
        !names.contains(&stray_hash),
        "an unreferenced spare is not put"
    );
    let got = get(n1, &a_token, &format!("/api/files/{}", file.id)).await;
    assert_eq!(got, (200, bytes), "the posted file through node 1");
    c.assert_converged().await;
}

/// The cases the sweep's protocol does not cover (a sweeping node lost
/// with its disk between a delete and its put back, taking its spare; a
/// delete marker landing later than one sweep interval) leave a posted
/// file's objects gone from the bucket while node 0, which uploaded it,
/// still holds its copy. Made here by deleting both objects (the image and
/// its thumbnail) by hand: node 1, which never held the file, answers
/// `unavailable` for it, never 404; then node 0's audit puts both back
/// and node 1 serves the image and its thumbnail.
#[tokio::test]
async fn a_posted_files_objects_lost_from_the_store_are_put_back_by_a_node_holding_a_copy() {
    let c = TownhallCluster::start_with(2, SWEEP_ARGS).await;
    let (n0, n1) = (c.node(0), c.node(1));
    let (_, a_token) = n0.user("alice").await;
    let mut a = n0.connect(&a_token).await;
    let room = a.create_room("pictures", Visibility::Public).await;
    let store = object_store(&c).await;

    let image_bytes = png(40, 30);
    let image = uploaded(n0, &a_token, "lost.png", image_bytes.clone()).await;
    assert!(image.thumbnail, "the upload has a thumbnail");
    post_files(&mut a, room.id, &[image.id]).await;
    let hash = sha256(&image_bytes);
    let both: BTreeSet<String> = [hash.clone(), format!("{hash}.thumb")].into();
    assert_eq!(objects(&store).await, both);

    for name in &both {
        store.delete(name).await.expect("delete by hand");
    }
    // Until the audit puts them back, node 1 cannot serve the file: 503
    // (or, if the audit was quicker than this request, 200), never 404.
    let (status, _) = get(n1, &a_token, &format!("/api/files/{}", image.id)).await;
    assert!(
        status == 503 || status == 200,
        "a file whose object is missing answers unavailable, got {status}"
    );
    until(
        "node 0's audit puts both objects back",
        || objects(&store),
        |names| *names == both,
    )
    .await;
    let got = get(n1, &a_token, &format!("/api/files/{}", image.id)).await;
    assert_eq!(got, (200, image_bytes), "the image through node 1");
    let (status, thumb) = get(n1, &a_token, &format!("/api/files/{}/thumb", image.id)).await;
    assert_eq!(status, 200, "the thumbnail through node 1");
    assert_eq!(&thumb[..8], b"\x89PNG\r\n\x1a\n");
    c.assert_converged().await;
}

/// The bucket listing goes a page at a time and, after ten pages, stops
/// and goes on at the next sweep. With pages of 5 entries (the testing
/// flag `--file-list-page`; 1,000 in production) one sweep looks at 50
/// objects. 300 objects are put straight into the bucket: 297 whose
/// names are not content hashes (not ours: never touched), and three
/// orphans (content-hash names nothing references) among them, the 3rd,
/// the 150th and the 298th: on the 1st, 30th and 60th page, so in the
/// 1st, 3rd and 6th sweep of a pass. All three are reclaimed within the
/// wait (30 s, a sweep a second), which a listing of one page per sweep
/// (60 sweeps for the last) or one that started over at each sweep
/// (never past the 50th) would not do; every other object stays.
#[tokio::test]
async fn the_bucket_listing_crosses_pages_and_sweeps() {
    let mut args = SWEEP_ARGS.to_vec();
    args.extend(["--file-list-page", "5"]);
    let c = TownhallCluster::start_with(1, &args).await;
    let store = object_store(&c).await;

    let mut orphans = BTreeSet::new();
    let mut foreign = BTreeSet::new();
    for i in 0..300 {
        let (name, bytes) = if [2, 149, 297].contains(&i) {
            let bytes = format!("orphan number {i}, referenced by nothing").into_bytes();
            let name = sha256(&bytes);
            orphans.insert(name.clone());
            (name, bytes)
        } else {
            let name = format!("not-ours-{i:03}");
            foreign.insert(name.clone());
            (name, b"someone else's object".to_vec())
        };
        put_by_hand(&store, &name, &bytes).await;
    }
    assert_eq!(objects(&store).await.len(), 300);

    until(
        "all three orphans leave the bucket",
        || objects(&store),
        |names| orphans.iter().all(|o| !names.contains(o)),
    )
    .await;
    assert_eq!(
        objects(&store).await,
        foreign,
        "every object that is not ours stays"
    );
}

/// The chunk subjects the bucket's stream holds now.
async fn chunk_subjects(c: &TownhallCluster) -> BTreeSet<String> {
    let client = async_nats::connect(c.nats.url_list()).await.expect("nats");
    let stream = async_nats::jetstream::new(client)
        .get_stream(format!("OBJ_{BUCKET}"))
        .await
        .expect("the bucket's stream");
    let mut subjects = stream
        .info_with_subjects(format!("$O.{BUCKET}.C.>"))
        .await
        .expect("stream info");
    let mut out = BTreeSet::new();
    while let Some(next) = tokio::time::timeout(WAIT, subjects.next())
        .await
        .expect("stream info in time")
    {
        out.insert(next.expect("a subject").0);
    }
    out
}

/// A put that stopped after its chunks (a node killed mid-upload, or the
/// put's time bound) leaves chunks that no object's metadata names: no
/// listing of names shows them. Made here by publishing two chunks by hand
/// on a chunk subject of the bucket. They are kept while younger than the
/// stray age (here 6 s, the testing flag `--file-stray-secs`: a put may
/// stall between its chunks and its metadata), though complete listings
/// run every second; after it, they are purged. The chunks of a posted
/// file and of an object that is not ours stay, and both objects still
/// read back whole.
#[tokio::test]
async fn chunks_no_object_names_are_purged_and_every_objects_chunks_stay() {
    let mut args = SWEEP_ARGS.to_vec();
    args.extend(["--file-stray-secs", "6"]);
    let c = TownhallCluster::start_with(1, &args).await;
    let n0 = c.node(0);
    let (_, a_token) = n0.user("alice").await;
    let mut a = n0.connect(&a_token).await;
    let room = a.create_room("files", Visibility::Public).await;
    let store = object_store(&c).await;

    let bytes = b"posted: its chunks stay\n".repeat(400);
    let file = uploaded(n0, &a_token, "posted.txt", bytes.clone()).await;
    post_files(&mut a, room.id, &[file.id]).await;
    let foreign = b"someone else's object".to_vec();
    put_by_hand(&store, "not-a-content-hash", &foreign).await;
    // The chunk subjects the two objects' metadata name.
    let mut live = BTreeSet::new();
    for name in [sha256(&bytes), "not-a-content-hash".into()] {
        let info = store.info(name.as_str()).await.expect("the object's info");
        live.insert(format!("$O.{BUCKET}.C.{}", info.nuid));
    }
    assert!(chunk_subjects(&c).await.is_superset(&live));

    let js =
        async_nats::jetstream::new(async_nats::connect(c.nats.url_list()).await.expect("nats"));
    let stray = format!("$O.{BUCKET}.C.StrayNuidOfAPutThatStopped");
    for chunk in [&b"first chunk"[..], &b"second chunk"[..]] {
        js.publish(stray.clone(), chunk.to_vec().into())
            .await
            .expect("publish a chunk")
            .await
            .expect("the chunk's ack");
    }
    let published = tokio::time::Instant::now();
    assert!(chunk_subjects(&c).await.contains(&stray));
    // Aging the stray, not waiting for an effect: at 4 s old, about four
    // complete listings have run, and a purge that ignored the age would
    // have taken it.
    tokio::time::sleep_until(published + Duration::from_secs(4)).await;
    assert!(
        chunk_subjects(&c).await.contains(&stray),
        "chunks younger than the stray age are kept"
    );

    until(
        "the stray chunks are purged",
        || chunk_subjects(&c),
        |subjects| !subjects.contains(&stray),
    )
    .await;
    assert_eq!(chunk_subjects(&c).await, live, "every object's chunks stay");
    for (name, expected) in [
        (sha256(&bytes), &bytes),
        ("not-a-content-hash".into(), &foreign),
    ] {
        let mut object = store.get(name.as_str()).await.expect("the object");
        let mut read = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut object, &mut read)
            .await
            .expect("read whole, its digest checked");
        assert_eq!(&read, expected, "{name} reads back whole");
    }
}
