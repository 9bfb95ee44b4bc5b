//! The retention timer: every `--retention-interval-secs`, submit an
//! expiry step ([`RetentionOp::Expire`]) and, while a step reports more
//! left, the next one at once.
//!
//! The timer deletes nothing itself: the committer (or, in a cluster,
//! every node applying the log) decides what is old from the store and
//! the entry's apply time. Each node of a cluster runs its own timer; the
//! extra entries find nothing left to do (see `committer/retention.rs`).

use crate::committer::{Command, Committer, Reply, RetentionOp};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Steps one run submits at most before waiting for the next interval:
/// 10,000 × 500 messages. Bounds a run that another writer keeps feeding.
const MAX_STEPS_PER_RUN: usize = 10_000;

/// Start the timer; the first run is one interval after start (a restart
/// loop does not turn into a delete loop).
pub fn start(
    committer: Committer,
    config: crate::config::RetentionConfig,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let every = Duration::from_secs(config.interval_secs.max(1));
    let day_ms = config.day_secs.max(1).saturating_mul(1000);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.cancelled() => return,
            }
            tokio::select! {
                _ = run_once(&committer, day_ms) => {}
                _ = stop.cancelled() => return,
            }
        }
    })
}

/// One run: expiry steps until one reports nothing more.
pub async fn run_once(committer: &Committer, day_ms: u64) {
    let mut total = 0;
    for _ in 0..MAX_STEPS_PER_RUN {
        match committer
            .submit(Command::Retention(RetentionOp::Expire { day_ms }))
            .await
        {
            Ok(Reply::Expired { expired, more }) => {
                total += expired;
                if !more {
                    break;
                }
            }
            Ok(_) => break,
            Err(e) => {
                tracing::warn!(error = %e, "retention run failed; trying again at the next interval");
                break;
            }
        }
    }
    if total > 0 {
        tracing::info!(expired = total, "retention run done");
    }
}
