//! `my_questions` (issue 13): every question the caller asked, under their
//! name (`store/my_questions.rs`) and anonymously (`handlers/anon.rs`,
//! found by the caller's own owner key, so only the asker can list them),
//! newest first, each with its state and, once answered, the answer.
//!
//! A question's room must still be readable by the caller (a member, or a
//! public room) for its answer to be shown: leaving a private room ends
//! access to what is said there, the asker's own question included.

use super::Ctx;
use crate::error::{Result, ServerError};
use crate::store::Store;
use std::collections::HashMap;
use townhall_protocol::{
    AnonQuestion, AnonStatus, Content, MAX_REPLY_BYTES, MY_QUESTIONS_LIMIT, MyAnswer, MyQuestion,
    MyQuestionState, RoomId, RoomKind, RoomSeq, ServerFrame, Visibility,
};

/// A question's room as the caller may see it: its name, and whether the
/// caller may read it now.
struct RoomView {
    name: String,
    readable: bool,
}

pub async fn my_questions(ctx: &Ctx, req_id: Option<String>) -> Result<ServerFrame> {
    let me = ctx.user.id;
    let anon = super::anon::mine_list(ctx).await?;
    let mut rooms: Vec<RoomId> = anon.iter().map(|q| q.room).collect();
    let asked = ctx
        .app
        .read(move |s| Ok(s.asked_by(me, MY_QUESTIONS_LIMIT)?))
        .await?;
    rooms.extend(asked.iter().map(|(room, _)| *room));
    rooms.sort();
    rooms.dedup();
    // Membership is the hub's (in memory); the records are the store's.
    let records = ctx
        .app
        .read(move |s| {
            let mut out = Vec::new();
            for room in rooms {
                if let Some(r) = s.room(room)? {
                    out.push(r);
                }
            }
            Ok(out)
        })
        .await?;
    let views: HashMap<RoomId, RoomView> = records
        .into_iter()
        .map(|r| {
            let member = ctx.app.hub.role_in(r.id, me).is_some();
            let public = r.visibility == Visibility::Public && r.kind == RoomKind::Room;
            (
                r.id,
                RoomView {
                    name: r.name,
                    readable: member || public,
                },
            )
        })
        .collect();
    let (questions, truncated) = ctx
        .app
        .read(move |s| {
            let mut out = Vec::new();
            for (room, seq) in asked {
                let Some(view) = views.get(&room) else {
                    continue;
                };
                if let Some(q) = named(s, room, seq, view)? {
                    out.push(q);
                }
            }
            for q in anon {
                let view = views.get(&q.room);
                out.push(anonymous(s, q, view)?);
            }
            out.sort_by_key(|q| std::cmp::Reverse(q.asked_at));
            // Bodies dominate; names and ids are a few hundred bytes.
            let mut bytes = 0;
            let mut kept = Vec::new();
            let mut truncated = false;
            for q in out {
                bytes += q.body.len()
                    + q.answer.as_ref().map_or(0, |a| a.body.len())
                    + q.room_name.len()
                    + 400;
                if bytes > MAX_REPLY_BYTES && !kept.is_empty() {
                    truncated = true;
                    break;
                }
                kept.push(q);
            }
            Ok((kept, truncated))
        })
        .await?;
    Ok(ServerFrame::MyQuestions {
        req_id,
        questions,
        truncated,
    })
}

/// A question I asked under my name, as it stands now; `None` when the
/// room no longer holds it (expired by retention) or I may not read it.
fn named(s: &Store, room: RoomId, seq: RoomSeq, view: &RoomView) -> Result<Option<MyQuestion>> {
    if !view.readable {
        return Ok(None);
    }
    let Some(stored) = s.event(room, seq)? else {
        return Ok(None);
    };
    let ev = stored.decode().map_err(ServerError::Store)?;
    let Content::Message { body, .. } = ev.content else {
        return Ok(None);
    };
    let st = &ev.state;
    let state = if st.deleted {
        MyQuestionState::Deleted
    } else if st.merged_into.is_some() {
        MyQuestionState::Merged
    } else if st.answer.is_some() {
        MyQuestionState::Answered
    } else {
        MyQuestionState::Open
    };
    Ok(Some(MyQuestion {
        room,
        room_name: view.name.clone(),
        seq: Some(seq),
        anon_id: None,
        anonymous: false,
        body,
        asked_at: ev.ts,
        state,
        votes: st.votes,
        answer: match st.answer {
            Some(a) if !st.deleted => answer(s, room, a)?,
            _ => None,
        },
        reason: None,
        merged_into: st.merged_into,
    }))
}

/// One of my anonymous questions; its answer only if I may read the room.
fn anonymous(s: &Store, q: AnonQuestion, view: Option<&RoomView>) -> Result<MyQuestion> {
    let readable = view.is_some_and(|v| v.readable);
    let mut out = MyQuestion {
        room: q.room,
        room_name: q.room_name,
        seq: None,
        anon_id: Some(q.id),
        anonymous: true,
        body: q.body,
        asked_at: q.asked_at,
        state: MyQuestionState::Pending,
        votes: 0,
        answer: None,
        reason: None,
        merged_into: None,
    };
    match q.status {
        AnonStatus::Pending => {}
        AnonStatus::Approved { seq } => {
            out.seq = Some(seq);
            out.state = MyQuestionState::Open;
        }
        AnonStatus::Answered { seq, answer: a } => {
            out.seq = Some(seq);
            out.state = MyQuestionState::Answered;
            if readable {
                out.answer = answer(s, q.room, a)?;
            }
        }
        AnonStatus::Rejected { reason } => {
            out.state = MyQuestionState::Rejected;
            out.reason = Some(reason);
        }
        AnonStatus::Merged { into } => {
            out.state = MyQuestionState::Merged;
            out.merged_into = Some(into);
        }
        AnonStatus::Withdrawn => out.state = MyQuestionState::Withdrawn,
    }
    if let (Some(seq), true) = (out.seq, readable)
        && let Some(stored) = s.event(q.room, seq)?
    {
        out.votes = stored.decode().map_err(ServerError::Store)?.state.votes;
    }
    Ok(out)
}

/// The answer message at `seq`, if it is still there.
fn answer(s: &Store, room: RoomId, seq: RoomSeq) -> Result<Option<MyAnswer>> {
    let Some(stored) = s.event(room, seq)? else {
        return Ok(None);
    };
    let ev = stored.decode().map_err(ServerError::Store)?;
    let body = match ev.content {
        Content::Message { body, .. } if !ev.state.deleted => body,
        _ => String::new(),
    };
    Ok(Some(MyAnswer {
        seq,
        sender: ev.sender,
        body,
        ts: ev.ts,
    }))
}
