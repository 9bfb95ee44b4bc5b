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
//! directory changes nothing: an outage never disables anyone.

use crate::auth::ldap::{Directory, DirectoryUser};
use crate::committer::{Command, Committer, DirectoryOp, DirectoryState};
use crate::store::{DirectoryLink, Store, UserRecord};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Start the loop; it ends when `stop` fires.
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
            tokio::select! {
                _ = stop.cancelled() => return,
                r = sync_once(&directory, &store, &committer) => match r {
                    Ok(changed) if changed > 0 => {
                        tracing::info!(changed, "directory sync changed accounts");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "directory sync skipped"),
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
    let mut session = directory.connect().await.map_err(|e| e.to_string())?;
    let mut changed = 0;
    for (user, link) in accounts {
        // Any failure ends the round before a verdict: a half-answered
        // round must not read as "gone".
        let found = match session.find(&user.username).await {
            Ok(found) => found,
            Err(e) => {
                session.close().await;
                return Err(e.to_string());
            }
        };
        let state = verdict(found);
        if !differs(&user, &link, &state) {
            continue;
        }
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
    session.close().await;
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
            ..
        } => {
            user.disabled
                || user.role != *role
                || user.transformation_team != *transformation_team
                || user.display_name != *display_name
        }
    }
}
