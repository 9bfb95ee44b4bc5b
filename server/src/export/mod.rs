//! Data-protection and compliance exports (`GET /api/admin/export`, the
//! route in `http/export.rs`): a room's whole history, or everything one
//! user wrote and received, as a tar stream of JSON Lines parts with the
//! attachments alongside. Format and choices: docs/protocol.md ("Export")
//! and docs/architecture.md ("Exports").
//!
//! ```text
//! avatar.png              a user export only, if they set a picture
//! messages-000001.jsonl   the first line is the `export` header
//! files/<sha256>          the bytes of each attachment the part above names
//! messages-000002.jsonl   …
//! messages-00000N.jsonl   the last part: only the `end` line (counts)
//! ```
//!
//! Memory stays bounded whatever the size: the store is read in pages of
//! [`PAGE`] events, a JSON Lines part is at most about [`PART_BYTES`]
//! (tar needs an entry's size before its bytes), an attachment is copied
//! in [`CHUNK_BYTES`] pieces, and what is written goes out through a
//! [`Sink`] that blocks while the reader is behind (the route's bounded
//! channel).
//!
//! What is in it (`line` types): `export` (header), `room`, `message`
//! (messages, thread replies, questions with their answer, broadcasts; the
//! current text: an edited message once, as it reads now), `member`
//! (joins, adds, leaves, removals), `room_updated`, `end`. Not in it:
//! deleted messages (the store keeps only a tombstone without the body;
//! the export leaves them out), reactions, edits as separate events, read
//! markers. Anonymous questions appear with the shared `anonymous` sender
//! only: the store does not know the asker (see `anon/`), so no export can
//! attribute one to anybody.

pub mod tar;

use crate::files::Files;
use crate::store::{OPEN, RoomRecord, Store, StoreError, UserRecord};
use bytes::Bytes;
use serde::Serialize;
use std::collections::HashSet;
use std::io::Read;
use townhall_protocol::{
    Attachment, Content, Event, MemberAction, Millis, Pos, RoomId, RoomKind, RoomRole, RoomSeq,
    UserId, UserInfo, Visibility,
};
use uuid::Uuid;

/// The format's version, in the header line; a reader refuses a newer one.
pub const FORMAT_VERSION: u32 = 1;

/// Events read from the store at once: large enough for long ordered
/// scans, small enough that a page is a few hundred KiB at most.
const PAGE: usize = 256;

/// A JSON Lines part ends once past this: tar must know an entry's size
/// before its bytes, so a part is built in memory; 1 MiB keeps that small
/// while an export of millions of messages stays at a few thousand parts.
pub const PART_BYTES: usize = 1 << 20;

/// Bytes handed to the sink at once (and the read size of attachments):
/// the size of a comfortable socket write.
pub const CHUNK_BYTES: usize = 64 << 10;

/// Attachments remembered as already written, so a file posted twice is
/// written once. Past this many (6 MiB of hashes), a repeated file may be
/// written again (the same bytes under the same name): memory stays
/// bounded, and extracting the archive gives the same result.
const WRITTEN_FILES_MAX: usize = 100_000;

/// The archive entry of a user export holding the person's profile
/// picture, when they have one: before the first part.
pub const AVATAR_ENTRY: &str = "avatar.png";

/// What to export.
pub enum Scope {
    /// The whole history of the room.
    Room(RoomRecord),
    /// Everything the user wrote and received: every event of each room
    /// during the user's membership periods (joined ..= left).
    User(UserRecord),
}

pub struct Request {
    pub scope: Scope,
    /// The admin exporting.
    pub by: UserInfo,
    pub at: Millis,
    /// Events committed at or before this position only: the export is
    /// the state at one point, whatever is written meanwhile.
    pub visible: Pos,
}

/// Where the archive's bytes go, one chunk at a time.
pub trait Sink {
    /// Hand over a chunk; blocks while the reader is behind. `Err(Gone)`
    /// once the reader left.
    fn send(&mut self, chunk: Bytes) -> Result<(), ExportError>;
}

impl Sink for Vec<u8> {
    fn send(&mut self, chunk: Bytes) -> Result<(), ExportError> {
        self.extend_from_slice(&chunk);
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("the reader went away")]
    Gone,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("encoding a line: {0}")]
    Encode(#[from] serde_json::Error),
}

/// What an export held.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Lines, header and end included.
    pub records: u64,
    pub messages: u64,
    pub files: u64,
    /// Attachments whose bytes this node does not hold (listed in their
    /// message, absent from `files/`).
    pub missing_files: u64,
    /// Bytes of the whole archive.
    pub bytes: u64,
}

/// Who did it, as written in the lines.
#[derive(Serialize)]
struct Who<'a> {
    id: UserId,
    username: &'a str,
    display_name: &'a str,
}

impl<'a> From<&'a UserInfo> for Who<'a> {
    fn from(u: &'a UserInfo) -> Self {
        Who {
            id: u.id,
            username: &u.username,
            display_name: &u.display_name,
        }
    }
}

#[derive(Serialize)]
struct FileLine<'a> {
    id: Uuid,
    name: &'a str,
    size: u64,
    content_type: &'a str,
    /// Empty when the file's record is gone (its bytes are then absent).
    sha256: String,
    /// The archive entry holding the bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
}

#[derive(Serialize)]
struct AnswerLine<'a> {
    seq: RoomSeq,
    sender: Who<'a>,
    body: &'a str,
}

#[derive(Serialize)]
struct MemberOf {
    user: UserId,
    username: String,
    role: RoomRole,
    /// Membership periods as log positions `[joined, left]` (`left` null
    /// while still a member).
    periods: Vec<(Pos, Option<Pos>)>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Line<'a> {
    Export {
        version: u32,
        scope: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        room: Option<RoomId>,
        #[serde(skip_serializing_if = "Option::is_none")]
        user: Option<Who<'a>>,
        by: Who<'a>,
        at: Millis,
        pos: Pos,
    },
    Room {
        id: RoomId,
        name: &'a str,
        topic: &'a str,
        kind: RoomKind,
        visibility: Visibility,
        created_at: Millis,
        archived: bool,
        members: Vec<MemberOf>,
    },
    Message {
        room: RoomId,
        seq: RoomSeq,
        pos: Pos,
        ts: Millis,
        sender: Who<'a>,
        /// User exports: `sent` by the user, or `received`.
        #[serde(skip_serializing_if = "Option::is_none")]
        direction: Option<&'static str>,
        body: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        thread: Option<RoomSeq>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        question: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        answer: Option<AnswerLine<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        broadcast: Option<Uuid>,
        #[serde(skip_serializing_if = "Option::is_none")]
        edited_at: Option<Millis>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        attachments: Vec<FileLine<'a>>,
    },
    Member {
        room: RoomId,
        seq: RoomSeq,
        pos: Pos,
        ts: Millis,
        user: Who<'a>,
        action: MemberAction,
        by: Who<'a>,
    },
    RoomUpdated {
        room: RoomId,
        seq: RoomSeq,
        pos: Pos,
        ts: Millis,
        by: Who<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        topic: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        archived: Option<bool>,
    },
    End {
        complete: bool,
        records: u64,
        messages: u64,
        files: u64,
        missing_files: u64,
    },
}

/// Write the whole export to `sink`. `files` is the attachment store
/// (`None`: attachments are listed, their bytes counted missing); `fetch`
/// lets a cluster node fetch bytes it does not hold from the shared store.
pub fn write(
    store: &Store,
    files: Option<&Files>,
    fetch: Option<&tokio::runtime::Handle>,
    req: &Request,
    sink: &mut dyn Sink,
) -> Result<Summary, ExportError> {
    let mut w = Writer {
        store,
        files,
        fetch,
        sink,
        out: Vec::with_capacity(CHUNK_BYTES),
        part: Vec::new(),
        part_no: 0,
        part_files: Vec::new(),
        written: HashSet::new(),
        mtime: req.at / 1000,
        summary: Summary::default(),
    };
    let by = Who::from(&req.by);
    match &req.scope {
        Scope::Room(room) => {
            w.line(&Line::Export {
                version: FORMAT_VERSION,
                scope: "room",
                room: Some(room.id),
                user: None,
                by,
                at: req.at,
                pos: req.visible,
            })?;
            let members = members_of(store, room.id, None)?;
            w.room_line(room, members)?;
            w.walk(room.id, 1, req.visible, None)?;
        }
        Scope::User(user) => {
            // Their own profile picture first, as the server keeps it (a
            // 128 px PNG it made; the uploaded bytes are never kept).
            if let Some(picture) = store.avatar(user.id)?.filter(|a| !a.png.is_empty()) {
                w.entry_header(AVATAR_ENTRY, picture.png.len() as u64)?;
                w.raw(&picture.png)?;
                w.raw(&[0; tar::BLOCK][..tar::padding(picture.png.len() as u64)])?;
            }
            let info = user.info();
            w.line(&Line::Export {
                version: FORMAT_VERSION,
                scope: "user",
                room: None,
                user: Some(Who::from(&info)),
                by,
                at: req.at,
                pos: req.visible,
            })?;
            for (room_id, member) in store.user_memberships(user.id)? {
                let Some(room) = store.room(room_id)? else {
                    continue;
                };
                let periods: Vec<(Pos, Pos)> = member
                    .intervals
                    .iter()
                    .copied()
                    .filter(|(joined, _)| *joined <= req.visible)
                    .collect();
                if periods.is_empty() {
                    continue;
                }
                let members = members_of(store, room_id, Some(user.id))?;
                w.room_line(&room, members)?;
                for (joined, left) in periods {
                    let upto = left.min(req.visible);
                    let from = store.first_seq_after(room_id, joined.saturating_sub(1))?;
                    w.walk(room_id, from, upto, Some(user.id))?;
                }
            }
        }
    }
    w.flush_part()?;
    let s = w.summary;
    w.line(&Line::End {
        complete: true,
        records: s.records + 1,
        messages: s.messages,
        files: s.files,
        missing_files: s.missing_files,
    })?;
    w.flush_part()?;
    w.raw(&tar::END)?;
    w.flush_out()?;
    Ok(w.summary)
}

/// The room's membership records (`only`: just that user's).
fn members_of(
    store: &Store,
    room: RoomId,
    only: Option<UserId>,
) -> Result<Vec<MemberOf>, StoreError> {
    let mut out = Vec::new();
    for (id, m) in store.room_members(room)? {
        if only.is_some_and(|o| o != id) {
            continue;
        }
        let username = store.user(id)?.map(|u| u.username).unwrap_or_default();
        out.push(MemberOf {
            user: id,
            username,
            role: m.role,
            periods: m
                .intervals
                .iter()
                .map(|(j, l)| (*j, (*l != OPEN).then_some(*l)))
                .collect(),
        });
    }
    Ok(out)
}

struct Writer<'a> {
    store: &'a Store,
    files: Option<&'a Files>,
    fetch: Option<&'a tokio::runtime::Handle>,
    sink: &'a mut dyn Sink,
    /// Bytes waiting for the sink (up to [`CHUNK_BYTES`]).
    out: Vec<u8>,
    /// The JSON Lines part being built (up to about [`PART_BYTES`]).
    part: Vec<u8>,
    part_no: u32,
    /// Attachments (hash, from a message of this part) to write after it.
    part_files: Vec<String>,
    written: HashSet<String>,
    mtime: u64,
    summary: Summary,
}

impl Writer<'_> {
    fn line(&mut self, line: &Line<'_>) -> Result<(), ExportError> {
        serde_json::to_writer(&mut self.part, line)?;
        self.part.push(b'\n');
        self.summary.records += 1;
        if self.part.len() >= PART_BYTES {
            self.flush_part()?;
        }
        Ok(())
    }

    fn room_line(&mut self, room: &RoomRecord, members: Vec<MemberOf>) -> Result<(), ExportError> {
        self.line(&Line::Room {
            id: room.id,
            name: &room.name,
            topic: &room.topic,
            kind: room.kind,
            visibility: room.visibility,
            created_at: room.created_at,
            archived: room.archived,
            members,
        })
    }

    /// Every event of `room` from seq `from` up to position `upto`, as
    /// lines; `user`: a user export (adds `direction`).
    fn walk(
        &mut self,
        room: RoomId,
        from: RoomSeq,
        upto: Pos,
        user: Option<UserId>,
    ) -> Result<(), ExportError> {
        let mut next = from;
        loop {
            let page = self
                .store
                .events(room, next, RoomSeq::MAX, false, PAGE, upto)?;
            let Some(last) = page.last() else { break };
            next = last.seq + 1;
            let full = page.len() == PAGE;
            for stored in page {
                let event = stored.decode()?;
                self.event(&event, user, upto)?;
            }
            if !full {
                break;
            }
        }
        Ok(())
    }

    /// One event as a line. `upto`: the end of the period exported (a
    /// user's leave); an answer posted after it is left out, as the user
    /// never saw it.
    fn event(&mut self, e: &Event, user: Option<UserId>, upto: Pos) -> Result<(), ExportError> {
        let direction = user.map(|u| if e.sender.id == u { "sent" } else { "received" });
        match &e.content {
            _ if e.state.deleted => Ok(()),
            Content::Message {
                body,
                thread,
                question,
                attachments,
            } => {
                let answer_event = match e.state.answer {
                    Some(seq) if *question => self
                        .store
                        .event(e.room, seq)?
                        .map(|s| s.decode())
                        .transpose()?
                        .filter(|a| !a.state.deleted && a.pos <= upto),
                    _ => None,
                };
                let answer = answer_event.as_ref().and_then(|a| match &a.content {
                    Content::Message { body, .. } | Content::Broadcast { body, .. } => {
                        Some(AnswerLine {
                            seq: a.seq,
                            sender: Who::from(&a.sender),
                            body,
                        })
                    }
                    _ => None,
                });
                let files = self.file_lines(attachments)?;
                self.summary.messages += 1;
                self.line(&Line::Message {
                    room: e.room,
                    seq: e.seq,
                    pos: e.pos,
                    ts: e.ts,
                    sender: Who::from(&e.sender),
                    direction,
                    body,
                    thread: *thread,
                    question: *question,
                    answer,
                    broadcast: None,
                    edited_at: e.state.edited_at,
                    attachments: files,
                })
            }
            Content::Broadcast {
                body, broadcast, ..
            } => {
                self.summary.messages += 1;
                self.line(&Line::Message {
                    room: e.room,
                    seq: e.seq,
                    pos: e.pos,
                    ts: e.ts,
                    sender: Who::from(&e.sender),
                    direction,
                    body,
                    thread: None,
                    question: false,
                    answer: None,
                    broadcast: Some(*broadcast),
                    edited_at: e.state.edited_at,
                    attachments: Vec::new(),
                })
            }
            Content::Member { user, action } => self.line(&Line::Member {
                room: e.room,
                seq: e.seq,
                pos: e.pos,
                ts: e.ts,
                user: Who::from(user),
                action: *action,
                by: Who::from(&e.sender),
            }),
            Content::RoomUpdated {
                name,
                topic,
                archived,
            } => self.line(&Line::RoomUpdated {
                room: e.room,
                seq: e.seq,
                pos: e.pos,
                ts: e.ts,
                by: Who::from(&e.sender),
                name: name.as_deref(),
                topic: topic.as_deref(),
                archived: *archived,
            }),
            // In the message's current state already, or not content.
            Content::Edited { .. }
            | Content::Deleted { .. }
            | Content::Reaction { .. }
            | Content::Answered { .. }
            | Content::Merged { .. }
            | Content::RoomRoleSet { .. }
            | Content::Created { .. } => Ok(()),
        }
    }

    /// The attachments of a message as lines, queuing their bytes to
    /// follow this part.
    fn file_lines<'b>(
        &mut self,
        attachments: &'b [Attachment],
    ) -> Result<Vec<FileLine<'b>>, ExportError> {
        let mut out = Vec::with_capacity(attachments.len());
        for a in attachments {
            let hash = self.store.file(a.id)?.map(|r| r.hash).unwrap_or_default();
            let path = (!hash.is_empty()).then(|| format!("files/{hash}"));
            if !hash.is_empty() {
                self.part_files.push(hash.clone());
            } else {
                self.summary.missing_files += 1;
            }
            out.push(FileLine {
                id: a.id,
                name: &a.name,
                size: a.size,
                content_type: &a.content_type,
                sha256: hash,
                path,
            });
        }
        Ok(out)
    }

    /// The part built so far as a tar entry, then the attachments it names.
    fn flush_part(&mut self) -> Result<(), ExportError> {
        if self.part.is_empty() {
            return Ok(());
        }
        self.part_no += 1;
        let name = format!("messages-{:06}.jsonl", self.part_no);
        let part = std::mem::take(&mut self.part);
        self.entry_header(&name, part.len() as u64)?;
        self.raw(&part)?;
        self.raw(&[0; tar::BLOCK][..tar::padding(part.len() as u64)])?;
        for hash in std::mem::take(&mut self.part_files) {
            if self.written.contains(&hash) {
                continue;
            }
            if self.file_entry(&hash)? {
                self.summary.files += 1;
                if self.written.len() < WRITTEN_FILES_MAX {
                    self.written.insert(hash);
                }
            } else {
                self.summary.missing_files += 1;
            }
        }
        Ok(())
    }

    /// `files/<hash>` with the stored bytes; `false` if this node has none.
    fn file_entry(&mut self, hash: &str) -> Result<bool, ExportError> {
        let Some(files) = self.files else {
            return Ok(false);
        };
        if files.shared().is_some()
            && let Some(handle) = self.fetch
            && let Err(e) = handle.block_on(files.ensure_local(hash, false))
        {
            tracing::warn!(error = %e, hash, "export: cannot fetch an attachment");
        }
        let file = std::fs::File::open(files.content_path(hash));
        let Ok(size) = file
            .as_ref()
            .map_err(|e| e.to_string())
            .and_then(|f| f.metadata().map(|m| m.len()).map_err(|e| e.to_string()))
        else {
            tracing::warn!(hash, "export: an attachment's bytes are missing");
            return Ok(false);
        };
        let Ok(mut file) = file else { return Ok(false) };
        self.entry_header(&format!("files/{hash}"), size)?;
        // Exactly `size` bytes, whatever happens to the file meanwhile
        // (content-addressed files never change; a short read pads).
        let mut left = size;
        let mut buf = vec![0u8; CHUNK_BYTES];
        while left > 0 {
            let want = (left as usize).min(CHUNK_BYTES);
            let n = match file.read(&mut buf[..want]) {
                Ok(0) | Err(_) => {
                    tracing::warn!(hash, "export: an attachment ended early");
                    buf[..want].fill(0);
                    want
                }
                Ok(n) => n,
            };
            self.raw(&buf[..n])?;
            left -= n as u64;
        }
        self.raw(&[0; tar::BLOCK][..tar::padding(size)])?;
        Ok(true)
    }

    fn entry_header(&mut self, name: &str, size: u64) -> Result<(), ExportError> {
        let header = tar::header(name, size, self.mtime);
        self.raw(&header)
    }

    fn raw(&mut self, bytes: &[u8]) -> Result<(), ExportError> {
        self.out.extend_from_slice(bytes);
        self.summary.bytes += bytes.len() as u64;
        if self.out.len() >= CHUNK_BYTES {
            self.flush_out()?;
        }
        Ok(())
    }

    fn flush_out(&mut self) -> Result<(), ExportError> {
        if self.out.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.out,
            Vec::with_capacity(CHUNK_BYTES),
        ));
        self.sink.send(chunk)
    }
}
