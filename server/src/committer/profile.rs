//! A person's own profile (issue 13): setting one's display name.
//!
//! The handler validates the name (`townhall_protocol::clean_display_name`);
//! apply checks again (a log entry is applied on every node, and must not
//! trust what only one node checked), reads the current record, and stores
//! the new name. Deterministic: it reads only the store. The new name
//! reaches everyone online as a `user_updated` frame once durable; what is
//! stored elsewhere (a message's sender) keeps the name it was sent under.

use super::{Pending, Reply, Worker};
use crate::error::{Result, ServerError};
use crate::frame::shared;
use crate::store::{self, Batch};
use serde::{Deserialize, Serialize};
use townhall_protocol::{ServerFrame, UserId, clean_display_name};

/// A change a person makes to their own profile.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileOp {
    /// Set my display name (already trimmed by the handler).
    SetDisplayName { user: UserId, display_name: String },
}

impl Worker {
    pub(super) fn profile_op(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        op: ProfileOp,
    ) -> Result<Reply> {
        match op {
            ProfileOp::SetDisplayName { user, display_name } => {
                let name = clean_display_name(&display_name)
                    .map_err(|why| ServerError::Invalid(why.message()))?;
                let mut record = match self.store.user(user)? {
                    Some(u) if !u.disabled => u,
                    _ => return Err(ServerError::BadToken),
                };
                if record.display_name == name {
                    return Ok(Reply::User(record));
                }
                record.display_name = name;
                store::put_user(b, &record);
                p.frames_to_everyone.push(shared(&ServerFrame::UserUpdated {
                    req_id: None,
                    user: record.info(),
                }));
                Ok(Reply::User(record))
            }
        }
    }
}
