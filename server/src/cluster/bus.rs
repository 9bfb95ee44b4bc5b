//! Ephemeral traffic between nodes over core NATS (never the log): typing
//! and presence. Nothing here is stored or replayed; a lost message costs a
//! typing hint, or a presence dot that is wrong until the next heartbeat.
//!
//! Presence: each node publishes its own users' transitions as they happen
//! and, every [`HEARTBEAT`], the full list of users online on it. Each node
//! keeps, per other node, the set it last heard, and tells the hub of every
//! change (`Hub::remote_presence`). A node not heard from for
//! [`NODE_SILENT`] is taken as gone: its users count as offline there.
//!
//! Session kicks (logout, password change, disabled account) do not travel
//! here: they follow from logged commands, so every node applies them from
//! the log itself (`committer/accounts.rs`), and none can be lost.

use crate::frame::shared;
use crate::hub::Hub;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use townhall_protocol::{RoomId, ServerFrame, UserId, UserInfo};
use uuid::Uuid;

/// The subject of every bus message.
pub const SUBJECT: &str = "townhall.bus";

/// How often a node repeats its full presence list.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// A node silent this long is taken as gone (three missed heartbeats).
pub const NODE_SILENT: Duration = Duration::from_secs(15);

/// Presence changes waiting for the bus task. Bounded: a burst of logins
/// larger than this loses transitions, which the next heartbeat repairs.
pub const PRESENCE_QUEUE: usize = 4096;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum Msg {
    Typing {
        node: Uuid,
        room: RoomId,
        user: UserInfo,
    },
    Presence {
        node: Uuid,
        user: UserId,
        online: bool,
    },
    Heartbeat {
        node: Uuid,
        users: Vec<UserId>,
    },
}

/// The handle handlers use to reach the other nodes.
#[derive(Clone)]
pub struct Bus {
    client: async_nats::Client,
    node: Uuid,
}

impl Bus {
    pub fn new(client: async_nats::Client, node: Uuid) -> Bus {
        Bus { client, node }
    }

    /// Relay "`user` is typing in `room`" to the other nodes.
    pub fn typing(&self, room: RoomId, user: UserInfo) {
        self.send(&Msg::Typing {
            node: self.node,
            room,
            user,
        });
    }

    fn send(&self, msg: &Msg) {
        let Ok(bytes) = serde_json::to_vec(msg) else {
            return;
        };
        let client = self.client.clone();
        // `publish` only queues in the client; a full queue waits, so keep
        // that wait off the caller.
        tokio::spawn(async move {
            let _ = client.publish(SUBJECT, bytes.into()).await;
        });
    }
}

/// Run the bus for this node until `shutdown`: publish local presence
/// (`presence` comes from the hub) and heartbeats, apply the other nodes'
/// typing and presence to the local hub.
pub async fn run(
    bus: Bus,
    hub: Hub,
    mut presence: mpsc::Receiver<(UserId, bool)>,
    shutdown: CancellationToken,
) {
    let mut sub = match bus.client.subscribe(SUBJECT).await {
        Ok(sub) => sub,
        Err(e) => {
            tracing::error!(error = %e, "cannot subscribe to the cluster bus; presence and typing stay local");
            return;
        }
    };
    let mut nodes: HashMap<Uuid, (HashSet<UserId>, Instant)> = HashMap::new();
    let mut beat = tokio::time::interval(HEARTBEAT);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            Some((user, online)) = presence.recv() => {
                bus.send(&Msg::Presence { node: bus.node, user, online });
            }
            _ = beat.tick() => {
                bus.send(&Msg::Heartbeat { node: bus.node, users: hub.local_online_users() });
                let now = Instant::now();
                nodes.retain(|node, (users, seen)| {
                    let alive = now.duration_since(*seen) < NODE_SILENT;
                    if !alive {
                        tracing::warn!(%node, users = users.len(), "a node went silent; its users count as offline");
                        for user in users.iter() {
                            hub.remote_presence(*user, -1);
                        }
                    }
                    alive
                });
            }
            msg = sub.next() => {
                let Some(msg) = msg else { break };
                let Ok(msg) = serde_json::from_slice::<Msg>(&msg.payload) else {
                    continue;
                };
                apply(&bus, &hub, &mut nodes, msg);
            }
        }
    }
}

fn apply(bus: &Bus, hub: &Hub, nodes: &mut HashMap<Uuid, (HashSet<UserId>, Instant)>, msg: Msg) {
    match msg {
        Msg::Typing { node, room, user } if node != bus.node => {
            let from = user.id;
            hub.send_to_room_except(room, from, shared(&ServerFrame::Typing { room, user }));
        }
        Msg::Presence { node, user, online } if node != bus.node => {
            let (users, seen) = nodes
                .entry(node)
                .or_insert_with(|| (HashSet::new(), Instant::now()));
            *seen = Instant::now();
            let changed = if online {
                users.insert(user)
            } else {
                users.remove(&user)
            };
            if changed {
                hub.remote_presence(user, if online { 1 } else { -1 });
            }
        }
        Msg::Heartbeat { node, users } if node != bus.node => {
            let (known, seen) = nodes
                .entry(node)
                .or_insert_with(|| (HashSet::new(), Instant::now()));
            *seen = Instant::now();
            let now: HashSet<UserId> = users.into_iter().collect();
            for gone in known.difference(&now) {
                hub.remote_presence(*gone, -1);
            }
            for came in now.difference(known) {
                hub.remote_presence(*came, 1);
            }
            *known = now;
        }
        _ => {}
    }
}
