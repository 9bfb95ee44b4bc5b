//! The periodic directory sync: every `--ldap-sync-secs`, each account a
//! directory login made is looked up again with the service account. One
//! the directory no longer has, or marks disabled, is disabled here (its
//! sessions revoked, its sockets closed: `committer/directory.rs`); one
//! whose groups changed gets its new role or team flag.
//!
//! The verdicts go through the log as commands, so every node applies the
//! same ones; a cluster's nodes each run this loop, and a verdict already
//! applied is not submitted again (it changes nothing, so the second
//! node's lookup finds nothing to do). A round that cannot reach the
//! directory changes nothing: an outage never disables anyone. Neither
//! does an ambiguous match (that account is skipped), an entry that is not
//! the account's own any more (a reused username: left for an admin), nor
//! a round where most accounts come back gone at once (see
//! [`MASS_GONE_SHARE`]).

use crate::auth::ldap::{Directory, DirectoryError, DirectoryUser};
use crate::committer::{Command, Committer, DirectoryOp, DirectoryState, same_entry};
use crate::store::{DirectoryLink, Store, UserRecord};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// When more than this share of the accounts (and more than
/// [`MASS_GONE_MIN`] of them) come back gone in one round, the round
/// disables no one for being gone: a wrong base, a changed ACL or a
/// half-replicated directory must not log everyone out. Half: a real
/// departure of most of the company in one sync interval is rarer than a
/// misconfiguration, and an admin can still disable accounts by hand.
const MASS_GONE_SHARE: f64 = 0.5;
/// See [`MASS_GONE_SHARE`]: with 2 accounts or fewer gone, each is gone.
const MASS_GONE_MIN: usize = 2;

/// Start the loop; it ends when `stop` fires. Each round runs as its own
/// task, so a panic in one (a directory answer ldap3 cannot take, a bug)
/// is logged at error and the next round still runs.
pub fn start(
    directory: Directory,
    store: Store,
    committer: Committer,
    stop: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(directory.sync_every());
        // A round longer than the interval is followed by the next one, not
        // by a burst of the rounds it missed.
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let (d, s, c) = (directory.clone(), store.clone(), committer.clone());
            let mut round = tokio::spawn(async move { sync_once(&d, &s, &c).await });
            tokio::select! {
                _ = stop.cancelled() => {
                    round.abort();
                    return;
                }
                r = &mut round => match r {
                    Ok(Ok(changed)) if changed > 0 => {
                        tracing::info!(changed, "directory sync changed accounts");
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => tracing::warn!(error = %e, "directory sync skipped"),
                    Err(e) => tracing::error!(
                        error = %e,
                        "directory sync round failed (panic?); the next round runs as usual"
                    ),
                },
            }
        }
    })
}

/// One round: look every directory account up; submit what changed.
/// Returns how many accounts changed.
pub async fn sync_once(
    directory: &Directory,
    store: &Store,
    committer: &Committer,
) -> Result<usize, String> {
    let reader = store.clone();
    type Account = (UserRecord, DirectoryLink);
    let accounts = tokio::task::spawn_blocking(move || -> Result<Vec<Account>, String> {
        let mut users = Vec::new();
        for (id, link) in reader.directory_links().map_err(|e| e.to_string())? {
            // Accounts an OpenID Connect login made are not the directory's
            // to judge (an absent uid there must not disable them).
            if link.source == crate::auth::oidc::OIDC_SOURCE {
                continue;
            }
            if let Some(user) = reader.user(id).map_err(|e| e.to_string())? {
                users.push((user, link));
            }
        }
        Ok(users)
    })
    .await
    .map_err(|e| e.to_string())??;
    if accounts.is_empty() {
        return Ok(0);
    }
    let total = accounts.len();
    let mut session = directory.connect().await.map_err(|e| e.to_string())?;
    // Every lookup first, the verdicts after: the share of "gone" decides
    // whether the gone ones are believed.
    let mut verdicts = Vec::new();
    for (user, link) in accounts {
        // Any failure ends the round before a verdict: a half-answered
        // round must not read as "gone".
        let found = match session.find(&user.username).await {
            Ok(found) => found,
            Err(DirectoryError::Ambiguous) => {
                tracing::error!(
                    user = %user.username,
                    "directory sync: the user filter matches more than one entry; account skipped"
                );
                continue;
            }
            Err(e) => {
                session.close().await;
                return Err(e.to_string());
            }
        };
        if let Some(found) = &found
            && !same_entry(&link, &found.dn, found.entry_id.as_deref())
        {
            tracing::error!(
                user = %user.username,
                old_dn = %link.dn,
                new_dn = %found.dn,
                "directory sync: the username now names another directory entry; account left as it is for an admin"
            );
            continue;
        }
        let state = verdict(found);
        if differs(&user, &link, &state) {
            verdicts.push((user, state));
        }
    }
    session.close().await;
    let gone = verdicts
        .iter()
        .filter(|(_, s)| *s == DirectoryState::Gone)
        .count();
    if gone > MASS_GONE_MIN && gone as f64 > total as f64 * MASS_GONE_SHARE {
        tracing::warn!(
            gone,
            total,
            "directory sync: most directory accounts came back gone at once; \
             not disabling them this round (check --ldap-user-base, the filter and the service account's rights)"
        );
        verdicts.retain(|(_, s)| *s != DirectoryState::Gone);
    }
    let mut changed = 0;
    for (user, state) in verdicts {
        let op = DirectoryOp::Sync {
            user: user.id,
            state,
        };
        match committer.submit(Command::Directory(op)).await {
            Ok(_) => changed += 1,
            Err(e) => {
                tracing::warn!(user = %user.username, error = %e, "directory sync: not applied")
            }
        }
    }
    Ok(changed)
}

fn verdict(found: Option<DirectoryUser>) -> DirectoryState {
    match found {
        None => DirectoryState::Gone,
        Some(u) if u.disabled => DirectoryState::Disabled,
        Some(u) => DirectoryState::Active {
            role: u.role,
            transformation_team: u.transformation_team,
            display_name: u.display_name,
            dn: u.dn,
            entry_id: u.entry_id,
        },
    }
}

/// Would `state` change `user`? (An account an admin disabled here stays
/// disabled whatever the directory says.)
fn differs(user: &UserRecord, link: &DirectoryLink, state: &DirectoryState) -> bool {
    match state {
        DirectoryState::Gone | DirectoryState::Disabled => !user.disabled,
        DirectoryState::Active { .. } if user.disabled && !link.disabled_by_directory => false,
        DirectoryState::Active {
            role,
            transformation_team,
            display_name,
            entry_id,
            ..
        } => {
            user.disabled
                // An account made before entry ids were kept adopts its id.
                || (link.entry_id.is_none() && entry_id.is_some())
                || user.role != *role
                || user.transformation_team != *transformation_team
                || user.display_name != *display_name
        }
    }
}
