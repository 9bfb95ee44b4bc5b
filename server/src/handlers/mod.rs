//! One file per family of client requests. [`dispatch`] routes a decoded
//! frame to its handler; every handler returns the reply frame or a
//! [`ServerError`] that the session turns into an `error` frame.

mod anon;
mod broadcasts;
mod contacts;
mod faq;
mod markers;
mod messages;
mod my_questions;
mod presence;
mod profile;
mod pulse;
mod questions;
mod received;
mod retention;
mod room_admin;
mod rooms;
mod search;
mod sent;
mod votes;
mod watch;

use crate::app::App;
use crate::error::{Result, ServerError};
use crate::frame::SharedFrame;
use crate::store::UserRecord;
use std::sync::Arc;
use tokio::sync::Semaphore;
use townhall_protocol::{ClientFrame, RoomId, ServerFrame, Visibility};

/// What a handler knows about the connection it serves.
pub struct Ctx {
    pub app: App,
    pub user: UserRecord,
    pub device: Option<String>,
    /// The connection's queue of non-event frames, for replies that arrive
    /// later (acks).
    pub frames: crate::outbox::Sender<SharedFrame>,
    /// Sends waiting for their ack on this connection.
    pub in_flight: Arc<Semaphore>,
}

/// Sends one connection may have waiting for durability at once: enough to
/// keep a pipelining client busy across several group commits, small enough
/// that one client cannot fill the committer's queue alone.
pub const MAX_IN_FLIGHT: usize = 256;

/// Handle one request. `Ok(None)` means no reply now (fire-and-forget
/// frames, or a reply that will follow once durable). Its handling time
/// goes to `townhall_request_seconds{type}`.
pub async fn dispatch(ctx: &Ctx, frame: ClientFrame) -> Result<Option<ServerFrame>> {
    let kind = request_type(&frame);
    let started = std::time::Instant::now();
    let out = if ctx.app.cluster.is_some() {
        // A room, message or person made through another node a moment ago
        // may not be applied here yet: on `not_found`, wait for this node
        // to catch up with the log and answer again (cluster/barrier.rs).
        // Nothing was written when a handler answers `not_found` before
        // submitting; a command rejected at apply changed nothing either.
        // `add_member` is not retried: it spends the adder's hourly budget
        // before it submits, and a second try would spend it twice.
        let again = (!matches!(frame, ClientFrame::AddMember { .. })).then(|| frame.clone());
        match (route(ctx, frame).await, again) {
            (Err(ServerError::NotFound), Some(again)) if ctx.app.catch_up_reads().await => {
                route(ctx, again).await
            }
            (out, _) => out,
        }
    } else {
        route(ctx, frame).await
    };
    crate::metrics::record_request(kind, started.elapsed());
    out
}

/// The frame's `type` on the wire: the label of its request histogram.
/// A fixed set (one per variant), so the metric's series stay bounded
/// whatever clients send.
pub fn request_type(frame: &ClientFrame) -> &'static str {
    use ClientFrame as F;
    match frame {
        F::Hello { .. } => "hello",
        F::Send { .. } => "send",
        F::Edit { .. } => "edit",
        F::Delete { .. } => "delete",
        F::React { .. } => "react",
        F::MarkAnswer { .. } => "mark_answer",
        F::MergeQuestions { .. } => "merge_questions",
        F::Questions { .. } => "questions",
        F::Vote { .. } => "vote",
        F::FollowThread { .. } => "follow_thread",
        F::Follow { .. } => "follow",
        F::Broadcast { .. } => "broadcast",
        F::BroadcastReceipt { .. } => "broadcast_receipt",
        F::Reach { .. } => "reach",
        F::BroadcastRemind { .. } => "broadcast_remind",
        F::PendingAcks { .. } => "pending_acks",
        F::ReceivedBroadcasts { .. } => "received_broadcasts",
        F::SentBroadcasts { .. } => "sent_broadcasts",
        F::Following { .. } => "following",
        F::Block { .. } => "block",
        F::Blocked { .. } => "blocked",
        F::Thread { .. } => "thread",
        F::OpenDm { .. } => "open_dm",
        F::CreateRoom { .. } => "create_room",
        F::UpdateRoom { .. } => "update_room",
        F::Join { .. } => "join",
        F::Leave { .. } => "leave",
        F::AddMember { .. } => "add_member",
        F::SetRoomRole { .. } => "set_room_role",
        F::RemoveMember { .. } => "remove_member",
        F::MyRooms { .. } => "my_rooms",
        F::Directory { .. } => "directory",
        F::Members { .. } => "members",
        F::Users { .. } => "users",
        F::SetDisplayName { .. } => "set_display_name",
        F::MyQuestions { .. } => "my_questions",
        F::History { .. } => "history",
        F::AckPos { .. } => "ack_pos",
        F::MarkRead { .. } => "mark_read",
        F::Summary { .. } => "summary",
        F::Typing { .. } => "typing",
        F::Online { .. } => "online",
        F::Ping { .. } => "ping",
        F::Search { .. } => "search",
        F::SetAnonymousQuestions { .. } => "set_anonymous_questions",
        F::AnonymousSettings { .. } => "anonymous_settings",
        F::AskAnonymously { .. } => "ask_anonymously",
        F::MyAnonymousQuestions { .. } => "my_anonymous_questions",
        F::EditAnonymous { .. } => "edit_anonymous",
        F::WithdrawAnonymous { .. } => "withdraw_anonymous",
        F::ModerationQueue { .. } => "moderation_queue",
        F::Moderate { .. } => "moderate",
        F::FaqPublish { .. } => "faq_publish",
        F::FaqTags { .. } => "faq_tags",
        F::FaqUnpublish { .. } => "faq_unpublish",
        F::Faq { .. } => "faq",
        F::FaqAnswer { .. } => "faq_answer",
        F::WatchAdd { .. } => "watch_add",
        F::WatchRemove { .. } => "watch_remove",
        F::WatchList { .. } => "watch_list",
        F::WatchAlerts { .. } => "watch_alerts",
        F::WatchCounts { .. } => "watch_counts",
        F::RetentionSet { .. } => "retention_set",
        F::RetentionClear { .. } => "retention_clear",
        F::Retention { .. } => "retention",
        F::LegalHoldSet { .. } => "legal_hold_set",
        F::LegalHoldClear { .. } => "legal_hold_clear",
        F::Pulse { .. } => "pulse",
    }
}

async fn route(ctx: &Ctx, frame: ClientFrame) -> Result<Option<ServerFrame>> {
    match frame {
        ClientFrame::Hello { .. } => Err(ServerError::Invalid("already authenticated".into())),
        ClientFrame::Send {
            req_id,
            room,
            client_id,
            body,
            thread,
            question,
            attachments,
        } => messages::send(
            ctx,
            req_id,
            room,
            client_id,
            body,
            thread,
            question,
            attachments,
        )
        .await
        .map(|()| None),
        ClientFrame::History {
            req_id,
            room,
            before,
            after,
            limit,
        } => messages::history(ctx, req_id, room, before, after, limit)
            .await
            .map(Some),
        ClientFrame::OpenDm { req_id, user } => rooms::open_dm(ctx, req_id, user).await.map(Some),
        ClientFrame::CreateRoom {
            req_id,
            name,
            topic,
            visibility,
            announce_only,
        } => rooms::create(ctx, req_id, name, topic, visibility, announce_only)
            .await
            .map(Some),
        ClientFrame::UpdateRoom {
            req_id,
            room,
            name,
            topic,
            archived,
        } => room_admin::update_room(ctx, req_id, room, name, topic, archived)
            .await
            .map(Some),
        ClientFrame::Join { req_id, room } => rooms::join(ctx, req_id, room).await.map(Some),
        ClientFrame::Leave { req_id, room } => rooms::leave(ctx, req_id, room).await.map(Some),
        ClientFrame::AddMember { req_id, room, user } => {
            rooms::add_member(ctx, req_id, room, user).await.map(Some)
        }
        ClientFrame::RemoveMember { req_id, room, user } => {
            rooms::remove_member(ctx, req_id, room, user)
                .await
                .map(Some)
        }
        ClientFrame::MyRooms { req_id } => rooms::my_rooms(ctx, req_id).await.map(Some),
        ClientFrame::Directory { req_id } => rooms::directory(ctx, req_id).await.map(Some),
        ClientFrame::Members { req_id, room } => rooms::members(ctx, req_id, room).await.map(Some),
        ClientFrame::Users { req_id } => rooms::users(ctx, req_id).await.map(Some),
        ClientFrame::Broadcast {
            req_id,
            client_id,
            body,
            rooms,
            ack_requested,
        } => broadcasts::broadcast(ctx, req_id, client_id, body, rooms, ack_requested)
            .await
            .map(Some),
        ClientFrame::Follow { req_id, user, on } => {
            broadcasts::follow(ctx, req_id, user, on).await.map(Some)
        }
        ClientFrame::BroadcastReceipt { broadcast, kind } => {
            broadcasts::receipt(ctx, broadcast, kind);
            Ok(None)
        }
        ClientFrame::Reach { req_id, broadcast } => {
            broadcasts::reach(ctx, req_id, broadcast).await.map(Some)
        }
        ClientFrame::BroadcastRemind { req_id, broadcast } => {
            broadcasts::remind(ctx, req_id, broadcast).await.map(Some)
        }
        ClientFrame::Following { req_id } => broadcasts::following(ctx, req_id).await.map(Some),
        ClientFrame::Block { req_id, user, on } => {
            contacts::block(ctx, req_id, user, on).await.map(Some)
        }
        ClientFrame::Blocked { req_id } => contacts::blocked(ctx, req_id).await.map(Some),
        ClientFrame::MyQuestions { req_id } => {
            my_questions::my_questions(ctx, req_id).await.map(Some)
        }
        ClientFrame::SetDisplayName {
            req_id,
            display_name,
        } => profile::set_display_name(ctx, req_id, display_name)
            .await
            .map(Some),
        ClientFrame::Thread {
            req_id,
            room,
            seq,
            after,
            limit,
        } => messages::thread(ctx, req_id, room, seq, after, limit)
            .await
            .map(Some),
        ClientFrame::PendingAcks { req_id } => {
            broadcasts::pending_acks(ctx, req_id).await.map(Some)
        }
        ClientFrame::ReceivedBroadcasts {
            req_id,
            before,
            limit,
        } => received::received_broadcasts(ctx, req_id, before, limit)
            .await
            .map(Some),
        ClientFrame::SentBroadcasts {
            req_id,
            before,
            limit,
        } => sent::sent_broadcasts(ctx, req_id, before, limit)
            .await
            .map(Some),
        ClientFrame::SetRoomRole {
            req_id,
            room,
            user,
            role,
        } => rooms::set_room_role(ctx, req_id, room, user, role)
            .await
            .map(Some),
        ClientFrame::AckPos { req_id, pos } => markers::ack_pos(ctx, req_id, pos).await,
        ClientFrame::MarkRead { req_id, room, seq } => {
            markers::mark_read(ctx, req_id, room, seq).await.map(Some)
        }
        ClientFrame::Summary { req_id } => markers::summary(ctx, req_id).await.map(Some),
        ClientFrame::Typing { room } => presence::typing(ctx, room).await.map(|()| None),
        ClientFrame::Online { req_id } => Ok(Some(presence::online(ctx, req_id))),
        ClientFrame::Ping { req_id } => Ok(Some(ServerFrame::Pong { req_id })),
        ClientFrame::Edit {
            req_id,
            room,
            seq,
            body,
        } => questions::edit(ctx, req_id, room, seq, body)
            .await
            .map(Some),
        ClientFrame::Delete { req_id, room, seq } => {
            questions::delete(ctx, req_id, room, seq).await.map(Some)
        }
        ClientFrame::React {
            req_id,
            room,
            seq,
            emoji,
            on,
        } => questions::react(ctx, req_id, room, seq, emoji, on)
            .await
            .map(Some),
        ClientFrame::MarkAnswer {
            req_id,
            room,
            question,
            answer,
        } => questions::mark_answer(ctx, req_id, room, question, answer)
            .await
            .map(Some),
        ClientFrame::MergeQuestions {
            req_id,
            room,
            questions,
            into,
        } => questions::merge(ctx, req_id, room, questions, into)
            .await
            .map(Some),
        ClientFrame::Questions { req_id, sort, room } => {
            questions::queue(ctx, req_id, sort.unwrap_or_default(), room)
                .await
                .map(Some)
        }
        ClientFrame::Vote {
            req_id,
            room,
            seq,
            on,
        } => votes::vote(ctx, req_id, room, seq, on).await.map(Some),
        ClientFrame::FollowThread {
            req_id,
            room,
            seq,
            on,
        } => votes::follow_thread(ctx, req_id, room, seq, on)
            .await
            .map(Some),
        ClientFrame::Search {
            req_id,
            query,
            sort,
            before_cursor,
            limit,
        } => search::search(ctx, req_id, query, sort, before_cursor, limit)
            .await
            .map(Some),
        ClientFrame::SetAnonymousQuestions { req_id, room, on } => {
            anon::set_allowed(ctx, req_id, room, on).await.map(Some)
        }
        ClientFrame::AnonymousSettings { req_id } => anon::settings(ctx, req_id).await.map(Some),
        ClientFrame::AskAnonymously { req_id, room, body } => {
            anon::ask(ctx, req_id, room, body).await.map(Some)
        }
        ClientFrame::MyAnonymousQuestions { req_id } => anon::mine(ctx, req_id).await.map(Some),
        ClientFrame::EditAnonymous { req_id, id, body } => {
            anon::edit(ctx, req_id, id, body).await.map(Some)
        }
        ClientFrame::WithdrawAnonymous { req_id, id } => {
            anon::withdraw(ctx, req_id, id).await.map(Some)
        }
        ClientFrame::ModerationQueue { req_id } => anon::queue(ctx, req_id).await.map(Some),
        ClientFrame::Moderate { req_id, id, action } => {
            anon::moderate(ctx, req_id, id, action).await.map(Some)
        }
        ClientFrame::FaqPublish {
            req_id,
            room,
            seq,
            tags,
        } => faq::publish(ctx, req_id, room, seq, tags).await.map(Some),
        ClientFrame::FaqTags { req_id, id, tags } => {
            faq::tags(ctx, req_id, id, tags).await.map(Some)
        }
        ClientFrame::FaqUnpublish { req_id, id } => faq::unpublish(ctx, req_id, id).await.map(Some),
        ClientFrame::Faq { req_id, tag, q } => faq::list(ctx, req_id, tag, q).await.map(Some),
        ClientFrame::FaqAnswer {
            req_id,
            room,
            seq,
            id,
        } => faq::answer(ctx, req_id, room, seq, id).await.map(Some),
        ClientFrame::WatchAdd { req_id, phrase } => watch::add(ctx, req_id, phrase).await.map(Some),
        ClientFrame::WatchRemove { req_id, phrase } => {
            watch::remove(ctx, req_id, phrase).await.map(Some)
        }
        ClientFrame::WatchList { req_id } => watch::list(ctx, req_id).await.map(Some),
        ClientFrame::WatchAlerts {
            req_id,
            before,
            limit,
        } => watch::alerts(ctx, req_id, before, limit).await.map(Some),
        ClientFrame::WatchCounts { req_id, weeks } => {
            watch::counts(ctx, req_id, weeks).await.map(Some)
        }
        ClientFrame::RetentionSet { req_id, room, days } => {
            retention::set(ctx, req_id, room, days).await.map(Some)
        }
        ClientFrame::RetentionClear { req_id, room } => {
            retention::clear(ctx, req_id, room).await.map(Some)
        }
        ClientFrame::Retention { req_id } => retention::show(ctx, req_id).await.map(Some),
        ClientFrame::LegalHoldSet {
            req_id,
            target,
            reason,
        } => retention::hold(ctx, req_id, target, reason).await.map(Some),
        ClientFrame::LegalHoldClear { req_id, target } => {
            retention::release(ctx, req_id, target).await.map(Some)
        }
        ClientFrame::Pulse { req_id, days } => pulse::pulse(ctx, req_id, days).await.map(Some),
    }
}

/// Check that the caller may read a room: any member, and anyone for a
/// public room. A private room the caller is not in is `NotFound`, exactly
/// like a room that does not exist.
pub(crate) async fn readable_room(ctx: &Ctx, room: RoomId) -> Result<crate::store::RoomRecord> {
    let record = ctx
        .app
        .read(move |s| Ok(s.room(room)?))
        .await?
        .ok_or(ServerError::NotFound)?;
    let member = ctx.app.hub.role_in(room, ctx.user.id).is_some();
    if member
        || (record.visibility == Visibility::Public
            && record.kind == townhall_protocol::RoomKind::Room)
    {
        Ok(record)
    } else {
        Err(ServerError::NotFound)
    }
}

/// The caller must be a current member; otherwise `NotFound`.
pub(crate) fn require_member(ctx: &Ctx, room: RoomId) -> Result<()> {
    match ctx.app.hub.role_in(room, ctx.user.id) {
        Some(_) => Ok(()),
        None => Err(ServerError::NotFound),
    }
}

/// Refuse unless the caller is on the transformation team as stored now
/// (the flag may have changed since their login); `why` is the refusal.
pub(crate) async fn require_team(ctx: &Ctx, why: &'static str) -> Result<()> {
    let id = ctx.user.id;
    let team = ctx
        .app
        .read(move |s| Ok(s.user(id)?.is_some_and(|u| u.transformation_team)))
        .await?;
    if team {
        Ok(())
    } else {
        Err(ServerError::Forbidden(why))
    }
}

#[cfg(test)]
mod tests {
    use super::request_type;
    use townhall_protocol::{ClientFrame, RoomId};

    /// The label is the wire name: what an operator sees in the protocol
    /// docs and in a client's log.
    #[test]
    fn request_types_are_the_wire_type_names() {
        let frames = [
            ClientFrame::Ping { req_id: None },
            ClientFrame::Typing {
                room: RoomId::from_bytes([0; 16]),
            },
            ClientFrame::MyRooms { req_id: None },
            ClientFrame::PendingAcks { req_id: None },
            ClientFrame::History {
                req_id: None,
                room: RoomId::from_bytes([0; 16]),
                before: None,
                after: None,
                limit: None,
            },
        ];
        for frame in frames {
            let wire = serde_json::to_value(&frame).expect("json");
            assert_eq!(wire["type"], request_type(&frame), "{wire}");
        }
    }
}
