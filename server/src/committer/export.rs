//! The audit entry of a data-protection export (`GET /api/admin/export`,
//! `http/export.rs`). The export itself only reads the store; what goes
//! through the log is the record that it happened, written before the
//! first byte is sent, so an export cut short is recorded too.

use super::{Reply, Worker};
use crate::error::{Result, ServerError};
use crate::store::Batch;
use serde::{Deserialize, Serialize};
use townhall_protocol::{Role, RoomId, UserInfo};

/// What was exported, by whom.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportOp {
    /// A room's whole history.
    Room { by: UserInfo, room: RoomId },
    /// Everything `user` wrote and received.
    User { by: UserInfo, user: UserInfo },
}

impl Worker {
    pub(super) fn export_op(&mut self, b: &mut Batch, op: ExportOp) -> Result<Reply> {
        let by = match &op {
            ExportOp::Room { by, .. } | ExportOp::User { by, .. } => by,
        };
        // The role as stored now, not as the request saw it.
        let admin = self
            .store
            .user(by.id)?
            .is_some_and(|u| u.role == Role::Admin && !u.disabled);
        if !admin {
            return Err(ServerError::Forbidden("only admins export"));
        }
        match op {
            ExportOp::Room { by, room } => {
                if self.store.room(room)?.is_none() {
                    return Err(ServerError::NotFound);
                }
                self.audit(b, &by, "export_room", Some(room), None, None);
            }
            ExportOp::User { by, user } => {
                self.audit(b, &by, "export_user", None, Some(user), None);
            }
        }
        Ok(Reply::Done(0))
    }
}
