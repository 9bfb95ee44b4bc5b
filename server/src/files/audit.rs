//! The audit (cluster only): a referenced file whose object the cluster's
//! file store no longer holds is put back from this node's copy.
//!
//! The sweep's protocol (`sweep.rs`) ends with an acknowledged upload's
//! bytes in the object store in every interleaving it covers, but two
//! cases are outside it: a sweeping node that dies for good (its disk
//! lost) between a delete and its put back takes its spare with it, and a
//! delete whose marker was queued at a slow stream leader for longer than
//! one sweep interval can land after the put back. Either way the object
//! is gone while a record references it, and nodes without a copy answer
//! `unavailable` for that file. The node that uploaded it still holds its
//! copy (a referenced copy is never reclaimed), and so may others that
//! served it.
//!
//! So each sweep also looks at up to [`AUDIT_PER_SWEEP`] of this node's
//! copies, in hash order from where the last sweep stopped (a full pass
//! over a node's copies takes `copies / AUDIT_PER_SWEEP` sweeps): for each
//! one a record references, it asks the stream leader whether the object
//! (and, if this node holds it, the thumbnail's) is there, and puts it
//! again from the local copy if not. The audit only ever puts, never
//! deletes: a put of bytes nothing references any more (a message deleted
//! meanwhile) makes an orphan that the bucket listing reclaims, and a put
//! racing another node's sweep of the same hash is the case the sweep's
//! read barrier already covers (it looks again after its delete and puts
//! back if referenced).

use super::Files;
use super::sweep::referenced;
use crate::store::Store;
use tokio_util::sync::CancellationToken;

/// Local copies looked at per sweep. Each referenced one costs one or two
/// leader reads (a few hundred bytes each, about a millisecond); at the
/// default `--file-sweep-secs` of 600 s a node holding 100,000 files is
/// gone through in under a day.
pub const AUDIT_PER_SWEEP: usize = 1_000;

/// Failed puts that end one audit pass (the store is failing, not a copy).
const FAILURES_PER_PASS: usize = 3;

/// Audit up to [`AUDIT_PER_SWEEP`] of this node's copies whose hash sorts
/// after `cursor` (empty: from the start); `cursor` is left at the last
/// hash looked at, or emptied once the end was reached. How many objects
/// were put back.
pub async fn put_back_lost(
    files: &Files,
    store: &Store,
    cursor: &mut String,
    stop: &CancellationToken,
) -> Result<usize, String> {
    if files.shared().is_none() {
        return Ok(0);
    }
    let mut hashes: Vec<String> = {
        let files = files.clone();
        tokio::task::spawn_blocking(move || files.stored())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|(hash, _)| hash)
            .collect()
    };
    hashes.retain(|h| h.as_str() > cursor.as_str());
    hashes.sort_unstable();
    let reached_end = hashes.len() <= AUDIT_PER_SWEEP;
    hashes.truncate(AUDIT_PER_SWEEP);
    let mut put = 0;
    let mut failures = 0;
    for hash in hashes {
        if stop.is_cancelled() {
            return Ok(put); // stopping: a restart starts the audit over
        }
        if referenced(store, hash.clone()).await? {
            let thumb = tokio::fs::try_exists(files.thumb_path(&hash))
                .await
                .unwrap_or(false);
            match files.put_missing(&hash, thumb).await {
                Ok(names) => {
                    for name in names {
                        tracing::warn!(
                            name,
                            "file audit: a referenced object was missing from the cluster's file store; put back from this node's copy"
                        );
                        put += 1;
                    }
                }
                // The local copy went meanwhile (its message deleted and
                // reclaimed): nothing to put back.
                Err(_)
                    if !tokio::fs::try_exists(files.content_path(&hash))
                        .await
                        .unwrap_or(true) => {}
                // This hash could not be put (an unreadable copy, the
                // store failing): logged and passed, so one bad copy cannot
                // hold the audit at it; the next pass tries it again. A
                // few failures in one pass mean the store is failing: the
                // pass ends, and the next sweep goes on from here.
                Err(e) => {
                    tracing::warn!(error = %e, hash, "file audit: cannot put back a missing object");
                    failures += 1;
                    if failures >= FAILURES_PER_PASS {
                        *cursor = hash;
                        return Err(format!(
                            "{failures} puts failed; going on at the next sweep"
                        ));
                    }
                }
            }
        }
        *cursor = hash;
    }
    if reached_end {
        cursor.clear();
    }
    Ok(put)
}
