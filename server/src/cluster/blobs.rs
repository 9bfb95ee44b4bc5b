//! File bytes shared by every node: the NATS JetStream object store.
//!
//! One bucket, `{stream}_FILES`, with the log stream's replica count and
//! file storage, on the same servers (which run with `sync_interval:
//! always`): a `put` returns once every chunk and the object's metadata
//! are acknowledged, so replicated to a quorum and fsynced, like a log
//! append. An upload's record is submitted to the log only after its put,
//! so any node that applies the record can fetch the bytes. Nodes keep a
//! copy of what they fetched in their own `<data>/files/` (the files
//! module's cache); the object store is where a node finds bytes it does
//! not hold. The object store checks each object's SHA-256 digest while
//! it is read; `http/files.rs` checks the content hash as well.

use super::strays;
use crate::files::shared::{BoxFuture, Listing, SharedBlobs};
use async_nats::jetstream::{self, consumer, object_store, stream};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use futures_util::StreamExt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};
use tokio::io::AsyncWriteExt;

/// How long one blob operation may take before it is answered as failed
/// (the client then gets `unavailable` and may retry). A 25 MiB put is
/// ~200 chunk publishes, each acknowledged by a quorum; an election pauses
/// publishes for 4 to 9 s.
const OP_TIMEOUT: Duration = Duration::from_secs(60);

/// The bucket of a cluster whose log stream is `stream`.
pub fn bucket_name(stream: &str) -> String {
    format!("{stream}_FILES")
}

/// How long one page of the bucket listing may take (a page is at most
/// `max` small metadata messages, read from an ordered consumer).
const LIST_TIMEOUT: Duration = Duration::from_secs(30);

/// The object store, opened by every node at start.
pub struct NatsBlobs {
    store: object_store::ObjectStore,
    /// The bucket's stream (`OBJ_{bucket}`), for listing its metadata from
    /// a sequence (async-nats' own `list` always starts at the beginning,
    /// so it cannot be paged).
    stream: jetstream::stream::Stream,
    /// Its metadata subjects, `$O.{bucket}.M.>`.
    meta_subject: String,
    /// One object's metadata subject without the name, `$O.{bucket}.M.`
    /// (the name follows, base64url as async-nats writes it).
    meta_prefix: String,
    /// Its chunk subjects, `$O.{bucket}.C.>`, and the same without `>`.
    chunk_subject: String,
    chunk_prefix: String,
    /// What the listing has proved about stray chunks (`strays.rs`). A
    /// lock because `list` takes `&self`; only the sweep task lists, and it
    /// is held for in-memory updates only, never across an await.
    strays: std::sync::Mutex<strays::Cycle>,
    client: async_nats::Client,
}

impl NatsBlobs {
    /// Open the bucket, making it if it does not exist yet. A new bucket's
    /// stream may answer "no responders" until its leader is elected:
    /// retried for up to 10 s.
    pub async fn open(
        js: &jetstream::Context,
        stream: &str,
        replicas: usize,
    ) -> Result<NatsBlobs, String> {
        let bucket = bucket_name(stream);
        let mut last = String::new();
        for _ in 0..20 {
            if let Ok(store) = js.get_object_store(&bucket).await {
                return Self::with_stream(js, &bucket, store).await;
            }
            match js
                .create_object_store(object_store::Config {
                    bucket: bucket.clone(),
                    description: Some("Townhall file attachments, by content hash".into()),
                    storage: jetstream::stream::StorageType::File,
                    num_replicas: replicas,
                    ..Default::default()
                })
                .await
            {
                Ok(store) => return Self::with_stream(js, &bucket, store).await,
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(format!("cannot open the object store {bucket}: {last}"))
    }

    async fn with_stream(
        js: &jetstream::Context,
        bucket: &str,
        store: object_store::ObjectStore,
    ) -> Result<NatsBlobs, String> {
        let stream = js
            .get_stream(format!("OBJ_{bucket}"))
            .await
            .map_err(|e| format!("the object store's stream OBJ_{bucket}: {e}"))?;
        Ok(NatsBlobs {
            store,
            stream,
            meta_subject: format!("$O.{bucket}.M.>"),
            meta_prefix: format!("$O.{bucket}.M."),
            chunk_subject: format!("$O.{bucket}.C.>"),
            chunk_prefix: format!("$O.{bucket}.C."),
            strays: std::sync::Mutex::new(strays::Cycle::default()),
            client: js.client(),
        })
    }

    /// The stray-chunk record of the listing (a poisoned lock only means
    /// a panic elsewhere mid-update: the record is then started over).
    fn strays(&self) -> std::sync::MutexGuard<'_, strays::Cycle> {
        self.strays.lock().unwrap_or_else(|poisoned| {
            let mut guard = poisoned.into_inner();
            *guard = strays::Cycle::default();
            guard
        })
    }

    /// One page of the listing (see [`SharedBlobs::list`]); each entry is
    /// also recorded for finding stray chunks (`strays.rs`).
    async fn list_page(&self, from: u64, max: usize) -> Result<Listing, String> {
        let from = from.max(1);
        self.strays().page(from);
        let ordered = self
            .stream
            .create_consumer(consumer::push::OrderedConfig {
                deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: from,
                },
                deliver_subject: self.client.new_inbox(),
                description: Some("townhall file sweep listing".into()),
                filter_subject: self.meta_subject.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| format!("object store listing: {e}"))?;
        let mut listing = Listing {
            objects: Vec::new(),
            next: 0,
        };
        if ordered.cached_info().num_pending == 0 {
            self.strays().end();
            return Ok(listing); // nothing from `from` on: the end
        }
        let mut messages = ordered
            .messages()
            .await
            .map_err(|e| format!("object store listing: {e}"))?;
        let mut read = 0;
        while let Some(message) = messages.next().await {
            let message = message.map_err(|e| format!("object store listing: {e}"))?;
            let (seq, pending) = {
                let info = message
                    .info()
                    .map_err(|e| format!("object store listing: {e}"))?;
                (info.stream_sequence, info.pending)
            };
            read += 1;
            // A metadata message we cannot read is skipped, not fatal: the
            // rest of the bucket is still swept.
            match serde_json::from_slice::<object_store::ObjectInfo>(&message.payload) {
                Ok(info) if !info.deleted => {
                    self.strays().entry(seq, Some(&info.nuid));
                    listing.objects.push((
                        info.name,
                        info.modified
                            .map(SystemTime::from)
                            .unwrap_or(SystemTime::UNIX_EPOCH),
                        seq,
                    ))
                }
                Ok(_) => self.strays().passed(seq),
                Err(e) => {
                    self.strays().entry(seq, None);
                    tracing::warn!(seq, error = %e, "object store listing: bad metadata")
                }
            }
            if pending == 0 {
                self.strays().end();
                return Ok(listing);
            }
            if read >= max {
                listing.next = seq + 1;
                return Ok(listing);
            }
        }
        Err("object store listing: the consumer ended early".into())
    }
}

async fn bounded<T>(
    what: &str,
    f: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::time::timeout(OP_TIMEOUT, f)
        .await
        .unwrap_or_else(|_| Err(format!("{what}: no answer within {OP_TIMEOUT:?}")))
}

impl SharedBlobs for NatsBlobs {
    fn put(&self, name: String, path: PathBuf) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(bounded("object store put", async move {
            let mut file = tokio::fs::File::open(&path)
                .await
                .map_err(|e| format!("{}: {e}", path.display()))?;
            self.store
                .put(name.as_str(), &mut file)
                .await
                .map_err(|e| format!("object store put {name}: {e}"))?;
            Ok(())
        }))
    }

    fn fetch(&self, name: String, dest: PathBuf) -> BoxFuture<'_, Result<bool, String>> {
        Box::pin(bounded("object store get", async move {
            let mut object = match self.store.get(name.as_str()).await {
                Ok(o) => o,
                Err(e) if e.kind() == object_store::GetErrorKind::NotFound => return Ok(false),
                Err(e) => return Err(format!("object store get {name}: {e}")),
            };
            let mut out = tokio::fs::File::create(&dest)
                .await
                .map_err(|e| format!("{}: {e}", dest.display()))?;
            // `Object` checks the digest at its end and fails the read if
            // the bytes are not the ones put.
            tokio::io::copy(&mut object, &mut out)
                .await
                .map_err(|e| format!("object store read {name}: {e}"))?;
            out.flush().await.map_err(|e| e.to_string())?;
            out.sync_all().await.map_err(|e| e.to_string())?;
            Ok(true)
        }))
    }

    fn modified(&self, name: String) -> BoxFuture<'_, Result<Option<SystemTime>, String>> {
        Box::pin(bounded("object store info", async move {
            // Not `ObjectStore::info`: with `allow_direct` that is a direct
            // get, which any replica answers, a lagging one included (no
            // read-your-writes). The uploader's check after its commit and
            // the sweep's look again must see the latest put or delete, so
            // they ask the stream leader (STREAM.MSG.GET) for the object's
            // last metadata message.
            let subject = format!("{}{}", self.meta_prefix, URL_SAFE.encode(name.as_str()));
            let message = match self.stream.get_last_raw_message_by_subject(&subject).await {
                Ok(m) => m,
                Err(e) if e.kind() == stream::LastRawMessageErrorKind::NoMessageFound => {
                    return Ok(None);
                }
                Err(e) => return Err(format!("object store info {name}: {e}")),
            };
            let info = serde_json::from_slice::<object_store::ObjectInfo>(&message.payload)
                .map_err(|e| format!("object store info {name}: {e}"))?;
            if info.deleted {
                return Ok(None);
            }
            Ok(Some(
                info.modified
                    .map(SystemTime::from)
                    .unwrap_or(SystemTime::UNIX_EPOCH),
            ))
        }))
    }

    fn list(&self, from: u64, max: usize) -> BoxFuture<'_, Result<Listing, String>> {
        Box::pin(async move {
            tokio::time::timeout(LIST_TIMEOUT, self.list_page(from, max))
                .await
                .unwrap_or_else(|_| {
                    Err(format!(
                        "object store listing: no end within {LIST_TIMEOUT:?}"
                    ))
                })
        })
    }

    fn reclaim_strays(&self, age: Duration) -> BoxFuture<'_, Result<usize, String>> {
        Box::pin(async move {
            let Some(done) = self.strays().take_complete() else {
                return Ok(0);
            };
            strays::reclaim(
                &self.stream,
                &self.chunk_subject,
                &self.chunk_prefix,
                done,
                age,
            )
            .await
        })
    }

    fn delete(&self, name: String) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(bounded("object store delete", async move {
            match self.store.delete(name.as_str()).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == object_store::DeleteErrorKind::NotFound => Ok(()),
                Err(e) => Err(format!("object store delete {name}: {e}")),
            }
        }))
    }
}
