//! The fsync thread of the embedded node's committer.

use crate::store::Store;
use tokio::sync::oneshot;

/// A thread of its own for the flush + fdatasync, so that acks never wait
/// behind other blocking work (a burst of argon2 logins, backlog reads) on
/// tokio's shared blocking pool.
pub(super) struct Syncer {
    /// Capacity 1: the committer waits for each sync before asking again.
    /// An Option so that drop can close it before joining the thread.
    tx: Option<std::sync::mpsc::SyncSender<oneshot::Sender<Result<(), crate::store::StoreError>>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Syncer {
    fn drop(&mut self) {
        // Close the channel, then wait for the thread: it holds a store
        // handle, and the data folder stays locked until that is gone.
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Syncer {
    pub(super) fn start(store: Store) -> Syncer {
        let (tx, rx) = std::sync::mpsc::sync_channel::<
            oneshot::Sender<Result<(), crate::store::StoreError>>,
        >(1);
        let spawned = std::thread::Builder::new()
            .name("townhall-fsync".into())
            .spawn(move || {
                while let Ok(reply) = rx.recv() {
                    let _ = reply.send(store.sync());
                }
            });
        let thread = match spawned {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the fsync thread");
                None
            }
        };
        Syncer {
            tx: Some(tx),
            thread,
        }
    }

    pub(super) async fn sync(&self) -> Result<(), crate::store::StoreError> {
        let (reply, done) = oneshot::channel();
        self.tx
            .as_ref()
            .ok_or_else(|| crate::store::StoreError::Backend("fsync thread gone".into()))?
            .send(reply)
            .map_err(|_| crate::store::StoreError::Backend("fsync thread gone".into()))?;
        done.await
            .map_err(|_| crate::store::StoreError::Backend("fsync thread gone".into()))?
    }
}
