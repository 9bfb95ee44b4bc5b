//! Stray chunks in the object store: chunks that no object's metadata
//! names, found and purged.
//!
//! An object is chunks on `$O.{bucket}.C.{nuid}` followed by one metadata
//! message on `$O.{bucket}.M.{name}` that names the `nuid`; a put or a
//! delete rolls the name's earlier metadata up and then purges the chunks
//! it named. Chunks are left that nothing names when a put stops between
//! its chunks and its metadata (the node killed mid-upload, the put's 60 s
//! bound), and when two puts of the same name overlap, or a delete races a
//! put, so that neither purges the other's chunks (nats-server issue
//! 6322: a put is not atomic). No listing of names shows them, so the
//! sweep's bucket pass cannot; they would hold disk in the object store
//! for ever.
//!
//! How they are found: the bucket listing (`blobs.rs`, `list`) reads every
//! current metadata message once per pass over the bucket, from position
//! 1 to the end, a page at a time across sweeps. [`Cycle`] records the
//! `nuid` each one names (as a 64-bit hash, so a million objects cost
//! about 16 MiB; two `nuid`s with the same hash only keep a stray). Once a
//! pass reached the end without a gap in the positions it read, every
//! chunk subject whose `nuid` is not in that set, and whose last chunk was
//! written more than the stray age (`--file-pending-secs`, at least an
//! hour: the caller's `age`) before the pass began, is a stray: an object
//! whose metadata existed when the pass began was read by it (metadata
//! written later has a higher position, and the pass went to the end), and
//! a put still writing has written a chunk within that age (a put is
//! bounded at 60 s; an election pauses it for seconds). [`reclaim`] then lists the chunk subjects (stream info
//! with a subject filter, paged by the server), reads the last chunk's
//! time of each candidate from the stream leader, and purges up to
//! [`STRAYS_PER_PASS`] of them. One purge pass per complete listing.

use async_nats::jetstream::stream;
use futures_util::StreamExt;
use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Chunk subjects purged per complete listing; the rest are found again
/// by the next one.
pub const STRAYS_PER_PASS: usize = 1_000;

/// How long listing the chunk subjects may take (a page of stream info
/// per 100,000 subjects, about 60 bytes each).
const SUBJECTS_TIMEOUT: Duration = Duration::from_secs(60);

/// How long one leader read or one purge may take.
const OP_TIMEOUT: Duration = Duration::from_secs(10);

/// The `nuid`s a complete listing found, with when it began.
#[derive(Debug)]
pub struct Complete {
    pub began: SystemTime,
    live: Arc<HashSet<u64>>,
}

/// The listing in progress, as far as strays are concerned.
#[derive(Debug, Default)]
pub struct Cycle {
    /// The pass under way: when it began, the `nuid`s so far, and the
    /// position after the highest entry read (a page that starts beyond it
    /// left a gap, so this pass proves nothing).
    current: Option<(SystemTime, HashSet<u64>, u64)>,
    /// The last complete pass, until a purge pass takes it.
    complete: Option<Complete>,
}

fn key(nuid: &str) -> u64 {
    let mut h = DefaultHasher::new();
    nuid.hash(&mut h);
    h.finish()
}

impl Cycle {
    /// A listing page starts at position `from`: 1 begins a new pass; any
    /// other start must not skip an entry since the last page.
    pub fn page(&mut self, from: u64) {
        if from <= 1 {
            self.current = Some((SystemTime::now(), HashSet::new(), 1));
        } else if matches!(&self.current, Some((_, _, next)) if from > *next) {
            self.current = None; // a gap: wait for a pass from 1
        }
    }

    /// The entry at position `seq` is a current object whose chunks are
    /// `nuid`'s (`None`: its metadata could not be read, so this pass
    /// cannot tell what it names and proves nothing).
    pub fn entry(&mut self, seq: u64, nuid: Option<&str>) {
        let Some((_, live, next)) = &mut self.current else {
            return;
        };
        match nuid {
            Some(nuid) => {
                live.insert(key(nuid));
                *next = (*next).max(seq + 1);
            }
            None => self.current = None,
        }
    }

    /// Entries read up to `seq` were deleted markers or not ours to name a
    /// chunk: no `nuid`, but no gap either.
    pub fn passed(&mut self, seq: u64) {
        if let Some((_, _, next)) = &mut self.current {
            *next = (*next).max(seq + 1);
        }
    }

    /// The page reached the end of the bucket: a pass without a gap is
    /// complete.
    pub fn end(&mut self) {
        if let Some((began, live, _)) = self.current.take() {
            self.complete = Some(Complete {
                began,
                live: Arc::new(live),
            });
        }
    }

    /// The last complete pass, taken (one purge pass each).
    pub fn take_complete(&mut self) -> Option<Complete> {
        self.complete.take()
    }
}

/// Purge the stray chunk subjects (see the module header) that `done`
/// proves: `filter` is `$O.{bucket}.C.>`, `prefix` the same without `>`.
/// How many subjects were purged.
pub async fn reclaim(
    stream: &stream::Stream,
    filter: &str,
    prefix: &str,
    done: Complete,
    age: Duration,
) -> Result<usize, String> {
    let cutoff = done
        .began
        .checked_sub(age)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let candidates = tokio::time::timeout(SUBJECTS_TIMEOUT, async {
        let mut subjects = stream
            .info_with_subjects(filter)
            .await
            .map_err(|e| format!("object store chunk subjects: {e}"))?;
        let mut out = Vec::new();
        while let Some(next) = subjects.next().await {
            let (subject, _) = next.map_err(|e| format!("object store chunk subjects: {e}"))?;
            let Some(nuid) = subject.strip_prefix(prefix) else {
                continue;
            };
            if !done.live.contains(&key(nuid)) {
                out.push(subject);
            }
        }
        Ok::<_, String>(out)
    })
    .await
    .unwrap_or_else(|_| Err("object store chunk subjects: no answer in time".into()))?;
    let mut purged = 0;
    for subject in candidates {
        if purged >= STRAYS_PER_PASS {
            break;
        }
        // The leader's answer: a replica could miss the latest chunk.
        let last =
            tokio::time::timeout(OP_TIMEOUT, stream.get_last_raw_message_by_subject(&subject))
                .await;
        let written = match last {
            Ok(Ok(message)) => SystemTime::from(message.time),
            Ok(Err(e)) if e.kind() == stream::LastRawMessageErrorKind::NoMessageFound => continue,
            Ok(Err(e)) => return Err(format!("object store chunk {subject}: {e}")),
            Err(_) => return Err(format!("object store chunk {subject}: no answer in time")),
        };
        if written > cutoff {
            continue; // maybe a put still writing: the next pass decides
        }
        tokio::time::timeout(OP_TIMEOUT, stream.purge().filter(subject.as_str()))
            .await
            .map_err(|_| format!("object store purge {subject}: no answer in time"))?
            .map_err(|e| format!("object store purge {subject}: {e}"))?;
        tracing::info!(subject, "file sweep: purged chunks no object names");
        purged += 1;
    }
    Ok(purged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_from_one_to_the_end_without_a_gap_is_complete() {
        let mut c = Cycle::default();
        c.page(1);
        c.entry(3, Some("A"));
        c.passed(4);
        c.page(5);
        c.entry(9, Some("B"));
        c.page(8); // a page cut short and started again before its end
        c.end();
        let done = c.take_complete().expect("complete");
        assert!(done.live.contains(&key("A")) && done.live.contains(&key("B")));
        assert!(!done.live.contains(&key("C")));
        assert!(c.take_complete().is_none(), "taken once");
    }

    #[test]
    fn a_gap_an_unreadable_entry_or_no_start_proves_nothing() {
        let mut c = Cycle::default();
        c.page(1);
        c.entry(3, Some("A"));
        c.page(10); // positions 4..9 never read
        c.end();
        assert!(c.take_complete().is_none(), "a gap");

        c.page(1);
        c.entry(3, None);
        c.end();
        assert!(c.take_complete().is_none(), "unreadable metadata");

        c.page(4); // never began at 1 (a restart mid-bucket)
        c.end();
        assert!(c.take_complete().is_none(), "no start");
    }
}
