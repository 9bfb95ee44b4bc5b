//! Changes to messages (`edit`, `delete`, `react`, `mark_answer`) and the
//! unanswered-questions queue (`questions`, sorted by age, votes or score).

use super::{Ctx, readable_room};
use crate::committer::{Command, MessageOp, Reply, now_millis};
use crate::error::{Result, ServerError};
use std::collections::HashMap;
use townhall_protocol::{
    Content, OpenQuestion, QuestionSort, Role, RoomId, RoomKind, RoomRole, RoomSeq, ServerFrame,
    Visibility,
};

const DAY_MS: u64 = 24 * 3_600_000;

/// Open questions listed at most: the top of the queue in the order asked
/// for, an answerable queue, not an archive.
const QUEUE_LIMIT: usize = 500;

/// Open questions considered for one reply (the oldest): sorting by votes
/// reads each one's stored state, so a queue of a million stays one bounded
/// read. Far more open questions than any team works through.
const QUEUE_SCAN: usize = 5_000;

/// The `score` order: `votes / (age_hours + 2)^1.5`, as in the protocol
/// docs. The +2 keeps a brand-new question from dividing by ~0; the 1.5
/// makes a day-old question need about 7 times the votes of a 2-hour-old
/// one to rank level with it.
pub fn score(votes: u64, age_ms: u64) -> f64 {
    let hours = age_ms as f64 / 3_600_000.0;
    votes as f64 / (hours + 2.0).powf(1.5)
}

/// Put `questions` in the order `sort` says; ties oldest first, then by
/// room and seq, so the order is the same on every call.
pub fn sort_queue(questions: &mut [OpenQuestion], sort: QuestionSort) {
    let tie = |a: &OpenQuestion, b: &OpenQuestion| {
        (a.asked_at, a.room, a.seq).cmp(&(b.asked_at, b.room, b.seq))
    };
    match sort {
        QuestionSort::Age => questions.sort_by(tie),
        QuestionSort::Votes => {
            questions.sort_by(|a, b| b.votes.cmp(&a.votes).then_with(|| tie(a, b)))
        }
        QuestionSort::Score => questions.sort_by(|a, b| {
            score(b.votes, b.age_ms)
                .total_cmp(&score(a.votes, a.age_ms))
                .then_with(|| tie(a, b))
        }),
    }
}

async fn submit(ctx: &Ctx, req_id: Option<String>, op: MessageOp) -> Result<ServerFrame> {
    match ctx.app.committer.submit(Command::Message(op)).await? {
        Reply::Done(pos) => Ok(ServerFrame::Ok { req_id, pos }),
        other => Err(ServerError::Internal(format!(
            "expected done, got {other:?}"
        ))),
    }
}

pub async fn edit(
    ctx: &Ctx,
    req_id: Option<String>,
    room: RoomId,
    seq: RoomSeq,
    body: String,
) -> Result<ServerFrame> {
    super::messages::check_body(&body)?;
    super::require_member(ctx, room)?;
    submit(
        ctx,
        req_id,
        MessageOp::Edit {
            user: ctx.user.info(),
            room,
            seq,
            body,
        },
    )
    .await
}

pub async fn delete(
    ctx: &Ctx,
    req_id: Option<String>,
    room: RoomId,
    seq: RoomSeq,
) -> Result<ServerFrame> {
    if ctx.user.role != Role::Admin {
        super::require_member(ctx, room)?;
    }
    let op = MessageOp::Delete {
        user: ctx.user.info(),
        server_role: ctx.user.role,
        room,
        seq,
    };
    submit(ctx, req_id, op).await
}

pub async fn react(
    ctx: &Ctx,
    req_id: Option<String>,
    room: RoomId,
    seq: RoomSeq,
    emoji: String,
    on: bool,
) -> Result<ServerFrame> {
    super::require_member(ctx, room)?;
    submit(
        ctx,
        req_id,
        MessageOp::React {
            user: ctx.user.info(),
            room,
            seq,
            emoji,
            on,
        },
    )
    .await
}

pub async fn mark_answer(
    ctx: &Ctx,
    req_id: Option<String>,
    room: RoomId,
    question: RoomSeq,
    answer: RoomSeq,
) -> Result<ServerFrame> {
    if ctx.user.role != Role::Admin {
        readable_room(ctx, room).await?;
    }
    let op = MessageOp::MarkAnswer {
        user: ctx.user.info(),
        server_role: ctx.user.role,
        room,
        question,
        answer,
    };
    submit(ctx, req_id, op).await
}

pub async fn merge(
    ctx: &Ctx,
    req_id: Option<String>,
    room: RoomId,
    questions: Vec<RoomSeq>,
    into: RoomSeq,
) -> Result<ServerFrame> {
    if questions.len() > 100 {
        return Err(ServerError::Invalid(
            "merge at most 100 questions at once".into(),
        ));
    }
    if ctx.user.role != Role::Admin {
        readable_room(ctx, room).await?;
    }
    let op = MessageOp::MergeQuestions {
        user: ctx.user.info(),
        server_role: ctx.user.role,
        room,
        questions,
        into,
    };
    submit(ctx, req_id, op).await
}

/// The open questions the caller may answer (or, with `only`, that room's
/// open questions, for anyone who can read it) in the order `sort` says,
/// the number open in rooms they can see, and the median time to answer
/// there.
pub async fn queue(
    ctx: &Ctx,
    req_id: Option<String>,
    sort: QuestionSort,
    only: Option<RoomId>,
) -> Result<ServerFrame> {
    if let Some(room) = only {
        // The same `not_found` as for a room that does not exist.
        readable_room(ctx, room).await?;
    }
    let app = ctx.app.clone();
    let user = ctx.user.clone();
    app.clone()
        .read(move |s| {
            let now = now_millis();
            let visible = app.hub.published();
            let team = s.user(user.id)?.is_some_and(|u| u.transformation_team);
            // Per room: None = not visible; Some((may answer, name)).
            let mut rooms: HashMap<RoomId, Option<(bool, String)>> = HashMap::new();
            let mut access = |room: RoomId| -> Result<Option<(bool, String)>> {
                if let Some(a) = rooms.get(&room) {
                    return Ok(a.clone());
                }
                let a = s.room(room)?.and_then(|r| {
                    let role = app.hub.role_in(room, user.id);
                    let public = r.visibility == Visibility::Public && r.kind == RoomKind::Room;
                    let sees = role.is_some() || public;
                    let answers = team
                        || matches!(user.role, Role::Admin | Role::Leader)
                        || matches!(role, Some(RoomRole::Owner | RoomRole::Moderator));
                    sees.then_some((answers, r.name))
                });
                rooms.insert(room, a.clone());
                Ok(a)
            };
            let mut open = 0;
            let mut questions = Vec::new();
            for (room, seq, asked_at) in s.open_questions()? {
                if only.is_some_and(|r| r != room) {
                    continue;
                }
                let Some((answers, room_name)) = access(room)? else {
                    continue;
                };
                open += 1;
                if !(answers || only.is_some()) || questions.len() >= QUEUE_SCAN {
                    continue;
                }
                let Some(stored) = s.event(room, seq)? else {
                    continue;
                };
                if stored.pos > visible {
                    continue;
                }
                let ev = stored.decode()?;
                if let Content::Message { body, .. } = ev.content {
                    questions.push(OpenQuestion {
                        room,
                        room_name,
                        seq,
                        asker: ev.sender,
                        body,
                        asked_at,
                        age_ms: now.saturating_sub(asked_at),
                        votes: ev.state.votes,
                        voted: false,
                        following: false,
                    });
                }
            }
            sort_queue(&mut questions, sort);
            questions.truncate(QUEUE_LIMIT);
            for q in &mut questions {
                q.voted = s.voted(q.room, q.seq, user.id)?;
                q.following = s.follows(q.room, q.seq, user.id)?;
            }
            // Answer times in rooms the caller can see.
            let week_start = now.saturating_sub(7 * DAY_MS);
            let mut week = Vec::new();
            let mut month = Vec::new();
            for (answered_at, room, took) in s.answered_since(now.saturating_sub(30 * DAY_MS))? {
                if access(room)?.is_none() {
                    continue;
                }
                month.push(took);
                if answered_at >= week_start {
                    week.push(took);
                }
            }
            Ok(ServerFrame::Questions {
                req_id,
                questions,
                open,
                median_answer_ms_7d: median(week),
                median_answer_ms_30d: median(month),
                more: false,
            })
        })
        .await
}

fn median(mut v: Vec<u64>) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    Some(v[v.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::{score, sort_queue};
    use townhall_protocol::{OpenQuestion, QuestionSort, Role, RoomId, UserId, UserInfo};

    fn q(seq: u64, asked_at: u64, age_ms: u64, votes: u64) -> OpenQuestion {
        OpenQuestion {
            room: RoomId::from_bytes([1; 16]),
            room_name: "r".into(),
            seq,
            asker: UserInfo {
                id: UserId::from_bytes([2; 16]),
                username: "a".into(),
                display_name: "A".into(),
                role: Role::Staff,
                transformation_team: false,
                avatar: None,
            },
            body: "?".into(),
            asked_at,
            age_ms,
            votes,
            voted: false,
            following: false,
        }
    }

    #[test]
    fn the_score_is_votes_over_age_plus_two_hours_to_the_power_one_and_a_half() {
        assert_eq!(score(0, 0), 0.0);
        // 8 votes, 2 hours old: 8 / 4^1.5 = 1.
        assert!((score(8, 2 * 3_600_000) - 1.0).abs() < 1e-12);
        // 27 votes, 7 hours old: 27 / 9^1.5 = 1.
        assert!((score(27, 7 * 3_600_000) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn each_sort_orders_the_queue_with_ties_oldest_first() {
        let hour = 3_600_000;
        // seq 1: oldest, 3 votes, 10 h; seq 2: 3 votes, 1 h; seq 3: 1 vote, 0 h.
        let mut v = vec![q(3, 30, 0, 1), q(2, 20, hour, 3), q(1, 10, 10 * hour, 3)];
        sort_queue(&mut v, QuestionSort::Age);
        assert_eq!(v.iter().map(|q| q.seq).collect::<Vec<_>>(), [1, 2, 3]);
        sort_queue(&mut v, QuestionSort::Votes);
        assert_eq!(v.iter().map(|q| q.seq).collect::<Vec<_>>(), [1, 2, 3]);
        sort_queue(&mut v, QuestionSort::Score);
        // 3/3^1.5 = 0.577, 1/2^1.5 = 0.354, 3/12^1.5 = 0.072.
        assert_eq!(v.iter().map(|q| q.seq).collect::<Vec<_>>(), [2, 3, 1]);
    }
}
