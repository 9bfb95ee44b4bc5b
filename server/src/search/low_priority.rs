//! The indexer's work runs at the lowest CPU priority (nice 19), so that a
//! saturated core serves sends, acks and fan-out first and the index lag
//! grows instead. Measured with the server pinned to one core: the indexer
//! at normal priority took 38-43 % of saturated durable acks/s
//! (docs/benchmarks.md, "Indexer on and off").
//!
//! Each call runs on a thread of its own (an indexing round is one call,
//! a few a second at most, so a thread's start is nothing next to it):
//! lowering a thread's priority cannot be undone without privileges, so
//! it must not be one of tokio's pooled blocking threads, which serve
//! sessions' store reads too. tantivy's indexing and merge threads inherit
//! the priority of the thread that makes the writer, which is made here.
//!
//! On Linux, `setpriority(PRIO_PROCESS, 0, …)` (rustix's
//! `setpriority_process(None, …)`) sets the calling thread's nice value
//! (threads are scheduled as tasks of their own). On other systems, or if
//! the call fails, the work runs at normal priority.

use super::SearchError;

/// The nice value of the indexer's threads: the lowest priority.
const NICE: i32 = 19;

/// Run `f` on a new thread at the lowest priority and wait for its result.
pub async fn run<T, F>(f: F) -> Result<T, SearchError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("search-index".into())
        .spawn(move || {
            lower_priority();
            let _ = tx.send(f());
        })
        .map_err(|e| SearchError::Index(format!("cannot start the indexer's thread: {e}")))?;
    rx.await
        .map_err(|_| SearchError::Index("the indexer's thread ended without a result".into()))
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn lower_priority() {
    if let Err(e) = rustix::process::setpriority_process(None, NICE) {
        tracing::debug!(error = %e, "cannot lower the indexer thread's priority");
    }
}

/// Elsewhere `setpriority(PRIO_PROCESS, 0, …)` would lower the whole
/// server, for good: the work runs at normal priority.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn lower_priority() {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use rustix::process::getpriority_process;

    #[tokio::test]
    async fn the_work_runs_at_nice_19_and_the_caller_keeps_its_priority() {
        let before = getpriority_process(None).expect("own priority");
        let inside = super::run(|| getpriority_process(None).expect("own priority"))
            .await
            .expect("the thread ran");
        assert_eq!(inside, super::NICE);
        assert_eq!(getpriority_process(None).expect("own priority"), before);
    }
}
