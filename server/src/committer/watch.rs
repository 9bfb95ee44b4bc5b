//! Rumour watch at apply: the watch list's changes, and matching each new
//! room message (approved anonymous questions included) and each edit
//! against it. Broadcasts are not watched: they are the leaders' own
//! official word, what the team answers rumours with.
//!
//! Matching runs here, in apply, for three reasons: it is deterministic
//! (the list and the team are store state, the week comes from the
//! message's own time), so every cluster node raises the same alerts and
//! counts without a second log entry per match; an alert is durable in
//! the same batch as its message (no window where a crash loses it); and
//! each match is counted exactly once. It is kept cheap: nothing at all
//! while the list is empty or for a direct message, otherwise one folding
//! of the body and one hash lookup per word, whatever the list's length
//! (`watch.rs`). The matcher and the team's ids are cached in the worker,
//! dropped whenever the list changes, an admin makes or changes an
//! account, the directory reports on one, or a group fails, and rebuilt
//! from the store: the cache is a pure function of store state, so every
//! node's is the same.

use super::{Pending, Reply, Worker};
use crate::error::{Result, ServerError};
use crate::frame::shared;
use crate::store::{self, Batch, WatchPhraseRecord};
use crate::watch::{Folder, Matcher, snippet};
use std::sync::Arc;
use townhall_protocol::watch::{
    MAX_WATCH_PHRASE_CHARS, MAX_WATCH_PHRASES, WATCH_SNIPPET_CHARS, WatchAlert, iso_week,
};
use townhall_protocol::{Content, Event, RoomKind, ServerFrame, UserId, UserInfo};

/// A change to the watch list (transformation team).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchOp {
    Add { actor: UserInfo, phrase: String },
    Remove { actor: UserInfo, phrase: String },
}

/// The list, ready to match, with each phrase's key and text in the
/// matcher's order.
pub(super) struct WatchCache {
    matcher: Matcher,
    phrases: Vec<WatchPhraseRecord>,
}

/// Check a phrase as typed and return it trimmed with its key; the same
/// rule the handler applies before submitting.
pub fn check_phrase(phrase: &str) -> Result<(String, String)> {
    let phrase = phrase.trim();
    if phrase.chars().count() > MAX_WATCH_PHRASE_CHARS {
        return Err(ServerError::Invalid(format!(
            "a watched phrase has at most {MAX_WATCH_PHRASE_CHARS} characters"
        )));
    }
    let key = Folder::default()
        .key(phrase)
        .ok_or_else(|| ServerError::Invalid("a watched phrase needs at least one word".into()))?;
    Ok((phrase.to_owned(), key))
}

impl Worker {
    pub(super) fn watch_op(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        op: WatchOp,
    ) -> Result<Reply> {
        let (actor, phrase, add) = match op {
            WatchOp::Add { actor, phrase } => (actor, phrase, true),
            WatchOp::Remove { actor, phrase } => (actor, phrase, false),
        };
        let team = self
            .store
            .user(actor.id)?
            .is_some_and(|u| u.transformation_team && !u.disabled);
        if !team {
            return Err(ServerError::Forbidden(
                "only the transformation team keeps the watch list",
            ));
        }
        let (phrase, key) = check_phrase(&phrase)?;
        let mut list = self.store.watch_list()?;
        let existing = list.iter().position(|r| r.key == key);
        match (add, existing) {
            // Already watched (perhaps typed differently): nothing changes.
            (true, Some(_)) => return Ok(Reply::Done(0)),
            (true, None) => {
                if list.len() >= MAX_WATCH_PHRASES {
                    return Err(ServerError::LimitReached(format!(
                        "the watch list holds at most {MAX_WATCH_PHRASES} phrases"
                    )));
                }
                let record = WatchPhraseRecord {
                    phrase,
                    key,
                    added_by: actor.clone(),
                    added_at: self.now(),
                };
                store::put_watch_phrase(b, &record);
                list.push(record);
                self.audit(b, &actor, "watch_add", None, None, None);
            }
            (false, None) => return Err(ServerError::NotFound),
            (false, Some(i)) => {
                store::delete_watch_phrase(b, &list[i].key);
                list.remove(i);
                self.audit(b, &actor, "watch_remove", None, None, None);
            }
        }
        self.watch = None;
        // The new list, to the team's online members (each node sends to
        // its own sessions: every node applies this command).
        list.sort_by(|a, b| (a.added_at, &a.key).cmp(&(b.added_at, &b.key)));
        let frame = shared(&ServerFrame::WatchList {
            req_id: None,
            phrases: list.iter().map(WatchPhraseRecord::shown).collect(),
        });
        for user in self.team()?.iter() {
            p.frames_to_user.push((*user, frame.clone()));
        }
        Ok(Reply::Done(0))
    }

    /// The team's current members (not disabled), by id.
    fn team(&mut self) -> Result<Arc<Vec<UserId>>> {
        if let Some(team) = &self.watch_team {
            return Ok(team.clone());
        }
        let team: Vec<UserId> = self
            .store
            .users()?
            .into_iter()
            .filter(|u| u.transformation_team && !u.disabled)
            .map(|u| u.id)
            .collect();
        let team = Arc::new(team);
        self.watch_team = Some(team.clone());
        Ok(team)
    }

    /// Forget the cached team and list (an account, the directory or the
    /// list changed, or a group failed).
    pub(super) fn forget_watch(&mut self) {
        self.watch = None;
        self.watch_team = None;
    }

    /// The matcher over the watch list (built from the store when the
    /// cache was dropped); `None` while the list is empty.
    fn watch_matcher(&mut self) -> Result<Option<&mut WatchCache>> {
        if self.watch.is_none() {
            let mut phrases = self.store.watch_list()?;
            phrases.sort_by(|a, b| a.key.cmp(&b.key));
            let matcher = Matcher::new(phrases.iter().map(|r| r.key.as_str()));
            self.watch = Some(WatchCache { matcher, phrases });
        }
        Ok(self.watch.as_mut().filter(|c| !c.matcher.is_empty()))
    }

    /// The watched phrases `body` holds (as records, in list order).
    fn watch_hits(&mut self, body: &str) -> Result<Vec<WatchPhraseRecord>> {
        Ok(match self.watch_matcher()? {
            Some(cache) => cache
                .matcher
                .matches(body)
                .iter()
                .map(|&i| cache.phrases[i].clone())
                .collect(),
            None => Vec::new(),
        })
    }

    /// Match the new room message `ev` against the watch list: count each
    /// phrase it holds in its ISO week, and alert each team member who may
    /// read the room (not its sender). An approved anonymous question is a
    /// room message too: its alert names the shared anonymous sender.
    pub(super) fn watch_message(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        ev: &Event,
    ) -> Result<()> {
        let Content::Message { body, .. } = &ev.content else {
            return Ok(());
        };
        if self.watch_matcher()?.is_none() {
            return Ok(());
        }
        let Some(room) = self.store.room(ev.room)? else {
            return Ok(());
        };
        // Direct messages are never watched.
        if room.kind != RoomKind::Room {
            return Ok(());
        }
        let matched = self.watch_hits(body)?;
        if matched.is_empty() {
            return Ok(());
        }
        let (year, week) = iso_week(ev.ts);
        for r in &matched {
            let count = self.store.watch_week_count(&r.key, year, week)?;
            store::put_watch_week_count(b, &r.key, year, week, count + 1);
        }
        let alert = WatchAlert {
            pos: ev.pos,
            room: ev.room,
            room_name: room.name,
            seq: ev.seq,
            ts: ev.ts,
            sender: ev.sender.clone(),
            snippet: snippet(body, WATCH_SNIPPET_CHARS),
            phrases: matched.into_iter().map(|r| r.phrase).collect(),
            deleted: false,
        };
        let frame = shared(&ServerFrame::WatchAlert {
            alert: alert.clone(),
        });
        for &user in self.team()?.iter() {
            if user == ev.sender.id || !self.may_read(ev.room, user)? {
                continue;
            }
            store::put_watch_alert(b, user, &alert);
            p.frames_to_user.push((user, frame.clone()));
        }
        Ok(())
    }

    /// The room message `message` (as stored before the edit, text `old`)
    /// was edited to `new` by the event `edit`. Its existing alerts show
    /// the new text (the old one is readable nowhere else any more) and
    /// gain the phrases it adds; a phrase the old text did not hold is
    /// counted in the edit's week and alerts the team members who had no
    /// alert for this message yet.
    pub(super) fn watch_edited(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        message: &Event,
        old: &str,
        new: &str,
        edit: &Event,
    ) -> Result<()> {
        let existing = self
            .store
            .watch_alerts_of_message(message.room, message.seq)?;
        let (now, before) = if self.watch_matcher()?.is_some() {
            (self.watch_hits(new)?, self.watch_hits(old)?)
        } else {
            (Vec::new(), Vec::new())
        };
        let added: Vec<WatchPhraseRecord> = now
            .iter()
            .filter(|r| !before.iter().any(|o| o.key == r.key))
            .cloned()
            .collect();
        let text = snippet(new, WATCH_SNIPPET_CHARS);
        let mut alerted: Vec<UserId> = Vec::with_capacity(existing.len());
        for (user, mut alert) in existing {
            alerted.push(user);
            alert.snippet.clone_from(&text);
            for r in &added {
                if !alert.phrases.contains(&r.phrase) {
                    alert.phrases.push(r.phrase.clone());
                }
            }
            store::put_watch_alert(b, user, &alert);
            p.frames_to_user
                .push((user, shared(&ServerFrame::WatchAlert { alert })));
        }
        if added.is_empty() {
            return Ok(());
        }
        let Some(room) = self.store.room(message.room)? else {
            return Ok(());
        };
        if room.kind != RoomKind::Room {
            return Ok(());
        }
        let (year, week) = iso_week(edit.ts);
        for r in &added {
            let count = self.store.watch_week_count(&r.key, year, week)?;
            store::put_watch_week_count(b, &r.key, year, week, count + 1);
        }
        let alert = WatchAlert {
            pos: edit.pos,
            room: message.room,
            room_name: room.name,
            seq: message.seq,
            ts: edit.ts,
            sender: message.sender.clone(),
            snippet: text,
            phrases: added.into_iter().map(|r| r.phrase).collect(),
            deleted: false,
        };
        let frame = shared(&ServerFrame::WatchAlert {
            alert: alert.clone(),
        });
        for &user in self.team()?.iter() {
            if user == message.sender.id
                || alerted.contains(&user)
                || !self.may_read(message.room, user)?
            {
                continue;
            }
            store::put_watch_alert(b, user, &alert);
            p.frames_to_user.push((user, frame.clone()));
        }
        Ok(())
    }

    /// The message `room`/`seq` was deleted: its alerts keep their place
    /// but lose the text, and the alerted team members are told.
    pub(super) fn watch_deleted(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        room: townhall_protocol::RoomId,
        seq: townhall_protocol::RoomSeq,
    ) -> Result<()> {
        for (user, mut alert) in self.store.watch_alerts_of_message(room, seq)? {
            alert.snippet.clear();
            alert.deleted = true;
            store::put_watch_alert(b, user, &alert);
            p.frames_to_user
                .push((user, shared(&ServerFrame::WatchAlert { alert })));
        }
        Ok(())
    }
}
