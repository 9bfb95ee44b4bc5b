//! Accounts made by an OpenID Connect login, found by the identity the
//! provider vouches for.
//!
//! - `oidc_subject_user`: issuer ‖ 0xff ‖ subject → user id (16 bytes).
//!   An OIDC login looks its account up here first, so the account follows
//!   the person (`sub` never changes nor is reused, OpenID Connect Core 2)
//!   even when their username claim changes, and a username claim that
//!   names an account made for another subject is refused
//!   (`account_source_conflict`). The account also has a `user_directory_link`
//!   with source `oidc` (`store/directory.rs`), which keeps LDAP logins and
//!   the LDAP sync away from it.

use super::kv::{Batch, StoreError, Tree};
use super::{Store, keys};
use townhall_protocol::UserId;

impl Store {
    /// The account the OIDC identity (`issuer`, `subject`) logs into.
    pub fn oidc_user(&self, issuer: &str, subject: &str) -> Result<Option<UserId>, StoreError> {
        match self
            .kv
            .get(Tree::OidcSubjectUser, &keys::oidc_subject(issuer, subject))?
        {
            Some(id) => {
                let id: [u8; 16] = id
                    .as_slice()
                    .try_into()
                    .map_err(|_| super::corrupt(Tree::OidcSubjectUser, "id is not 16 bytes"))?;
                Ok(Some(UserId::from_bytes(id)))
            }
            None => Ok(None),
        }
    }
}

pub fn put_oidc_user(b: &mut Batch, issuer: &str, subject: &str, user: UserId) {
    b.put(
        Tree::OidcSubjectUser,
        keys::oidc_subject(issuer, subject),
        user.as_bytes().to_vec(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryKv;

    #[test]
    fn a_subject_finds_its_account_and_only_under_its_issuer() {
        let store = Store::new(std::sync::Arc::new(MemoryKv::new()));
        let (a, b) = (UserId::new(), UserId::new());
        let mut batch = Batch::default();
        put_oidc_user(&mut batch, "https://idp.one", "sub-1", a);
        put_oidc_user(&mut batch, "https://idp.two", "sub-1", b);
        store.apply(&batch).expect("apply");
        assert_eq!(
            store.oidc_user("https://idp.one", "sub-1").expect("read"),
            Some(a)
        );
        assert_eq!(
            store.oidc_user("https://idp.two", "sub-1").expect("read"),
            Some(b)
        );
        assert_eq!(
            store.oidc_user("https://idp.one", "sub-2").expect("read"),
            None
        );
        // The separator keeps "issuer + subject" pairs apart.
        assert_eq!(
            store.oidc_user("https://idp.on", "esub-1").expect("read"),
            None
        );
    }
}
