//! Accounts made by a directory (LDAP) login.
//!
//! - `user_directory_link`: user id → [`DirectoryLink`] (JSON). Present only
//!   for accounts a directory login created: an account without one is a
//!   local account, which a directory login never takes over (same name:
//!   `account_source_conflict`). The periodic sync walks this tree, so it
//!   costs one row per directory account, never a scan of all users.

use super::kv::{Batch, StoreError, Tree};
use super::{Store, keys};
use serde::{Deserialize, Serialize};
use townhall_protocol::UserId;

/// Where a directory account comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryLink {
    /// The source's name (`"ldap"`), so a later source (OIDC) gets its own.
    pub source: String,
    /// The entry's distinguished name at the last login or sync (logs and
    /// the admin's view; lookups go by username through the user filter, so
    /// an entry moved to another OU is still found).
    pub dn: String,
    /// The entry's immutable id (`entryUUID` / `objectGUID`, see
    /// `auth::ldap::DirectoryUser::entry_id`) when the directory gives one.
    /// A login or sync that finds another entry under this account's
    /// username (a reused name) is refused; accounts made before this field
    /// existed get it at their next login or sync whose DN still matches.
    #[serde(default)]
    pub entry_id: Option<String>,
    /// The directory disabled the account (missing or marked disabled at a
    /// login or a sync). Only such an account is enabled again when the
    /// directory shows it active; an admin's disable here stands.
    #[serde(default)]
    pub disabled_by_directory: bool,
}

impl Store {
    pub fn directory_link(&self, user: UserId) -> Result<Option<DirectoryLink>, StoreError> {
        self.get_json(Tree::UserDirectoryLink, &keys::user(user))
    }

    /// Every directory account, in user id order.
    pub fn directory_links(&self) -> Result<Vec<(UserId, DirectoryLink)>, StoreError> {
        self.scan_json::<DirectoryLink>(Tree::UserDirectoryLink, &[])?
            .into_iter()
            .map(|(key, link)| {
                let id: [u8; 16] = key.as_slice().try_into().map_err(|_| {
                    super::corrupt(Tree::UserDirectoryLink, "key is not a 16-byte user id")
                })?;
                Ok((UserId::from_bytes(id), link))
            })
            .collect()
    }
}

pub fn put_directory_link(b: &mut Batch, user: UserId, link: &DirectoryLink) {
    b.put(Tree::UserDirectoryLink, keys::user(user), super::json(link));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryKv;

    #[test]
    fn links_round_trip_and_list_in_id_order() {
        let store = Store::new(std::sync::Arc::new(MemoryKv::new()));
        let (a, b) = (UserId::new(), UserId::new());
        let link = |dn: &str| DirectoryLink {
            source: "ldap".into(),
            dn: dn.into(),
            entry_id: None,
            disabled_by_directory: false,
        };
        let mut batch = Batch::default();
        put_directory_link(&mut batch, a, &link("uid=a"));
        put_directory_link(&mut batch, b, &link("uid=b"));
        store.apply(&batch).expect("apply");
        assert_eq!(store.directory_link(a).expect("read"), Some(link("uid=a")));
        assert_eq!(store.directory_link(UserId::new()).expect("read"), None);
        let mut want = vec![(a, link("uid=a")), (b, link("uid=b"))];
        want.sort_by_key(|(id, _)| *id.as_bytes());
        assert_eq!(store.directory_links().expect("list"), want);
    }
}
