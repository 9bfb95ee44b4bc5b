//! The organisation-wide announcements room, and who may post top-level
//! messages in announce-only rooms.
//!
//! The org room exists from the first start: every user is a member (added
//! when their account is made, or at start-up for accounts made offline with
//! `townhall user add`), and staff cannot leave it. It is announce-only:
//! leaders, admins and its moderators post; everyone replies in threads and
//! asks questions under the posts.

use super::{Pending, Reply, Worker};
use crate::error::{Result, ServerError};
use crate::store::{self, Batch, MemberRecord, RoomRecord};
use townhall_protocol::{MemberAction, Role, RoomId, RoomKind, RoomRole, UserInfo, Visibility};

pub const ORG_ROOM_NAME: &str = "Announcements";
const ORG_ROOM_TOPIC: &str =
    "News from the leadership team. Ask your questions under each post: they will be answered.";

impl Worker {
    /// In an announce-only room, only leaders, admins, owners and moderators
    /// start a top-level message; others reply in threads.
    pub(super) fn check_may_post_top_level(
        &self,
        record: &RoomRecord,
        user: &UserInfo,
    ) -> Result<()> {
        let room = record.id;
        if !record.announce_only || matches!(user.role, Role::Leader | Role::Admin) {
            return Ok(());
        }
        let role = self
            .store
            .membership(room, user.id)?
            .filter(MemberRecord::is_current)
            .map(|m| m.role);
        if matches!(role, Some(RoomRole::Owner | RoomRole::Moderator)) {
            return Ok(());
        }
        Err(ServerError::Forbidden(
            "announcements only: reply in a thread or ask a question under a post",
        ))
    }

    pub(super) fn ensure_org_room(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        creator: UserInfo,
        members: Vec<UserInfo>,
    ) -> Result<Reply> {
        let (record, just_made) = match self.store.org_room()? {
            Some(id) => (
                self.store
                    .room(id)?
                    .ok_or(ServerError::Internal("org room record missing".into()))?,
                false,
            ),
            None => {
                let record = RoomRecord {
                    id: RoomId(self.new_id()),
                    name: ORG_ROOM_NAME.into(),
                    topic: ORG_ROOM_TOPIC.into(),
                    visibility: Visibility::Public,
                    kind: RoomKind::Room,
                    created_by: creator.id,
                    created_at: self.now(),
                    announce_only: true,
                    org_wide: true,
                    archived: false,
                };
                self.create_room(
                    b,
                    p,
                    &record,
                    &creator,
                    &[(creator.clone(), RoomRole::Owner, MemberAction::Joined)],
                )?;
                store::put_org_room(b, record.id);
                (record, true)
            }
        };
        let mut seen = std::collections::HashSet::new();
        for user in members {
            // The creator of a new room is in it already; ignore repeats.
            if (just_made && user.id == creator.id) || !seen.insert(user.id) {
                continue;
            }
            let existing = self.store.membership(record.id, user.id)?;
            if existing.as_ref().is_some_and(MemberRecord::is_current) {
                continue;
            }
            self.add_membership(
                b,
                p,
                record.id,
                &creator,
                &user,
                RoomRole::Member,
                MemberAction::Added,
                existing,
            )?;
        }
        Ok(Reply::Room(record))
    }
}
