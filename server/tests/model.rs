//! Model-based test of the delivery guarantee, in process, on a real sled
//! store in a temporary folder.
//!
//! proptest generates sequences of connect, disconnect, send, ack, join,
//! leave, remove and crash-restart (drop everything, reopen the store).
//! After every step, every connected device must have received exactly the
//! events the model says it may see since its resume position: in order,
//! none missing, none twice, none from a room it was not in at the time.

use proptest::prelude::*;
use std::collections::HashMap;
use tokio_util::sync::CancellationToken;
use townhall_protocol::{Pos, Role, RoomId, UserId, UserInfo, Visibility};
use townhall_server::committer::{Command, Committer, Reply};
use townhall_server::hub::{EventFrame, Hub, KillSwitch, SessionHandle};
use townhall_server::outbox;
use townhall_server::store::Store;

const USERS: usize = 3;
const DEVICES: usize = 2;
const ROOMS: usize = 2;

#[derive(Clone, Debug)]
enum Op {
    Connect(usize, usize),
    Disconnect(usize, usize),
    Ack(usize, usize),
    Send(usize, usize),
    Join(usize, usize),
    Leave(usize, usize),
    /// The room's owner (user 0) removes a user.
    Remove(usize, usize),
    CrashRestart,
}

fn op() -> impl Strategy<Value = Op> {
    let u = 0..USERS;
    let d = 0..DEVICES;
    let r = 0..ROOMS;
    prop_oneof![
        3 => (u.clone(), d.clone()).prop_map(|(u, d)| Op::Connect(u, d)),
        2 => (u.clone(), d.clone()).prop_map(|(u, d)| Op::Disconnect(u, d)),
        2 => (u.clone(), d.clone()).prop_map(|(u, d)| Op::Ack(u, d)),
        6 => (u.clone(), r.clone()).prop_map(|(u, r)| Op::Send(u, r)),
        3 => (u.clone(), r.clone()).prop_map(|(u, r)| Op::Join(u, r)),
        2 => (u.clone(), r.clone()).prop_map(|(u, r)| Op::Leave(u, r)),
        2 => (1..USERS, r).prop_map(|(u, r)| Op::Remove(u, r)),
        1 => Just(Op::CrashRestart),
    ]
}

/// What the model knows: every event's position and room, and each user's
/// membership intervals per room.
#[derive(Default)]
struct Model {
    last: Pos,
    events: Vec<(Pos, usize)>,
    /// (user, room) → closed intervals; an open one ends at Pos::MAX.
    member: HashMap<(usize, usize), Vec<(Pos, Pos)>>,
    /// Rooms whose owner (user 0) has left: on rejoining they are a plain member.
    owner_gone: std::collections::HashSet<usize>,
}

impl Model {
    fn is_member(&self, u: usize, r: usize) -> bool {
        self.member
            .get(&(u, r))
            .and_then(|v| v.last())
            .is_some_and(|(_, end)| *end == Pos::MAX)
    }
    fn event(&mut self, r: usize) -> Pos {
        self.last += 1;
        self.events.push((self.last, r));
        self.last
    }
    fn join(&mut self, u: usize, r: usize) {
        let p = self.event(r);
        self.member.entry((u, r)).or_default().push((p, Pos::MAX));
    }
    fn leave(&mut self, u: usize, r: usize) {
        let p = self.event(r);
        if let Some(last) = self.member.get_mut(&(u, r)).and_then(|v| v.last_mut()) {
            last.1 = p;
        }
    }
    /// Positions a device of `u` that resumed after `from` must have received.
    fn expected(&self, u: usize, from: Pos) -> Vec<Pos> {
        self.events
            .iter()
            .filter(|(p, r)| {
                *p > from
                    && self
                        .member
                        .get(&(u, *r))
                        .is_some_and(|iv| iv.iter().any(|(a, b)| a <= p && p <= b))
            })
            .map(|(p, _)| *p)
            .collect()
    }
}

struct Device {
    from: Pos,
    delivered: Vec<Pos>,
    rx: outbox::Receiver<EventFrame>,
    _frames: outbox::Receiver<townhall_server::frame::SharedFrame>,
    session: u64,
}

struct World {
    dir: std::path::PathBuf,
    store: Store,
    hub: Hub,
    committer: Committer,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    users: Vec<UserInfo>,
    rooms: Vec<RoomId>,
    devices: HashMap<(usize, usize), Device>,
    acked: HashMap<(usize, usize), Pos>,
    next_session: u64,
}

fn start(
    dir: &std::path::Path,
) -> (
    Store,
    Hub,
    Committer,
    CancellationToken,
    tokio::task::JoinHandle<()>,
) {
    // A crash-restart reopens the folder in this process: sled's flusher
    // may hold its lock a moment after the last handle dropped (CI failed
    // on it once: "could not acquire lock").
    let store = Store::open_sled_after_close(dir, 8 << 20, std::time::Duration::from_secs(10))
        .expect("open");
    let last = store.init().expect("init");
    let members = store
        .current_memberships()
        .expect("members")
        .into_iter()
        .map(|(r, u, m)| (r, u, m.role));
    let hub = Hub::new(last, members);
    let stop = CancellationToken::new();
    let (committer, task) = Committer::start(store.clone(), hub.clone(), last, 0, stop.clone());
    (store, hub, committer, stop, task)
}

impl World {
    async fn new(dir: std::path::PathBuf, model: &mut Model) -> World {
        let (store, hub, committer, stop, task) = start(&dir);
        let users: Vec<UserInfo> = (0..USERS)
            .map(|i| UserInfo {
                id: UserId::new(),
                username: format!("u{i}"),
                display_name: format!("u{i}"),
                role: Role::Staff,
                transformation_team: false,
                avatar: None,
            })
            .collect();
        // The committer acts with the stored accounts' current roles.
        for u in &users {
            let record = townhall_server::store::UserRecord {
                id: u.id,
                username: u.username.clone(),
                display_name: u.display_name.clone(),
                role: u.role,
                password_hash: String::new(),
                disabled: false,
                created_at: 0,
                sessions_valid_after: 0,
                transformation_team: false,
                avatar: None,
            };
            store
                .apply(&townhall_server::committer::user_record_batch(&record))
                .expect("user");
        }
        let mut rooms = Vec::new();
        for r in 0..ROOMS {
            let reply = committer
                .submit(Command::CreateRoom {
                    user: users[0].clone(),
                    name: format!("r{r}"),
                    topic: String::new(),
                    visibility: Visibility::Public,
                    announce_only: false,
                })
                .await
                .expect("create");
            let Reply::Room(room) = reply else {
                panic!("{reply:?}")
            };
            rooms.push(room.id);
            model.event(r); // created
            model.join(0, r); // owner joined
        }
        World {
            dir,
            store,
            hub,
            committer,
            stop,
            task,
            users,
            rooms,
            devices: HashMap::new(),
            acked: HashMap::new(),
            next_session: 1,
        }
    }

    async fn crash_restart(&mut self) {
        for ((u, _), d) in self.devices.drain() {
            self.hub.unregister(self.users[u].id, d.session);
        }
        self.stop.cancel();
        let task = std::mem::replace(&mut self.task, tokio::spawn(async {}));
        task.await.expect("committer");
        // Every handle on the sled folder must go before it can be reopened.
        self.store = Store::memory();
        let (store, hub, committer, stop, task) = start(&self.dir);
        self.store = store;
        self.hub = hub;
        self.committer = committer;
        self.stop = stop;
        self.task = task;
    }

    fn connect(&mut self, u: usize, d: usize) {
        if self.devices.contains_key(&(u, d)) {
            return;
        }
        let (tx, rx) = outbox::channel(100_000);
        let (ftx, frx) = outbox::channel(100_000);
        let id = self.next_session;
        self.next_session += 1;
        let handle = SessionHandle {
            id,
            user: self.users[u].id,
            token_hash: [0; 32],
            events: tx,
            frames: ftx,
            kill: std::sync::Arc::new(KillSwitch::default()),
            registered_at: 0,
        };
        let upto = self.hub.register(handle, 100).expect("register");
        let from = self.acked.get(&(u, d)).copied().unwrap_or(0).min(upto);
        let mut backlog = self
            .store
            .backlog(self.users[u].id, from, upto)
            .expect("backlog");
        let mut delivered = Vec::new();
        loop {
            let chunk = backlog.next_chunk(&self.store, 7).expect("chunk");
            if chunk.is_empty() {
                break;
            }
            delivered.extend(chunk.iter().map(|e| e.pos));
        }
        self.devices.insert(
            (u, d),
            Device {
                from,
                delivered,
                rx,
                _frames: frx,
                session: id,
            },
        );
    }

    fn drain_and_check(&mut self, model: &Model) -> Result<(), TestCaseError> {
        for ((u, d), dev) in self.devices.iter_mut() {
            while let Ok(e) = dev.rx.try_recv() {
                if dev.delivered.last().is_none_or(|last| e.pos > *last) {
                    dev.delivered.push(e.pos);
                } else {
                    // The writer drops these too; count them as a failure of
                    // the hand-over if they were not already delivered.
                    prop_assert!(
                        dev.delivered.contains(&e.pos),
                        "device {u}/{d}: out-of-order {} after {:?}",
                        e.pos,
                        dev.delivered.last()
                    );
                }
            }
            let want = model.expected(*u, dev.from);
            prop_assert_eq!(
                &dev.delivered,
                &want,
                "device {}/{} from {}",
                u,
                d,
                dev.from
            );
        }
        Ok(())
    }
}

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut model = Model::default();
    let mut w = World::new(tmp.path().join("db"), &mut model).await;
    for op in ops {
        match op {
            Op::Connect(u, d) => w.connect(u, d),
            Op::Disconnect(u, d) => {
                if let Some(dev) = w.devices.remove(&(u, d)) {
                    w.hub.unregister(w.users[u].id, dev.session);
                }
            }
            Op::Ack(u, d) => {
                if let Some(dev) = w.devices.get(&(u, d))
                    && let Some(last) = dev.delivered.last()
                {
                    w.acked.insert((u, d), *last);
                }
            }
            Op::Send(u, r) => {
                let cmd = Command::Post {
                    user: w.users[u].clone(),
                    room: w.rooms[r],
                    client_id: uuid::Uuid::new_v4(),
                    body: "m".into(),
                    thread: None,
                    question: false,
                    attachments: Vec::new(),
                };
                let got = w.committer.submit(cmd).await;
                if model.is_member(u, r) {
                    let p = model.event(r);
                    match got {
                        Ok(Reply::Ack {
                            ack,
                            duplicate: false,
                        }) => prop_assert_eq!(ack.pos, p),
                        other => prop_assert!(false, "send should succeed: {other:?}"),
                    }
                } else {
                    prop_assert!(got.is_err(), "non-member send must fail");
                }
            }
            Op::Join(u, r) => {
                let got = w
                    .committer
                    .submit(Command::Join {
                        user: w.users[u].clone(),
                        server_role: Role::Staff,
                        room: w.rooms[r],
                    })
                    .await;
                if model.is_member(u, r) {
                    prop_assert!(got.is_err());
                } else {
                    prop_assert!(got.is_ok(), "{got:?}");
                    model.join(u, r);
                }
            }
            Op::Leave(u, r) => {
                let got = w
                    .committer
                    .submit(Command::Leave {
                        user: w.users[u].clone(),
                        room: w.rooms[r],
                    })
                    .await;
                if model.is_member(u, r) {
                    prop_assert!(got.is_ok(), "{got:?}");
                    model.leave(u, r);
                    if u == 0 {
                        model.owner_gone.insert(r);
                    }
                } else {
                    prop_assert!(got.is_err());
                }
            }
            Op::Remove(u, r) => {
                let cmd = Command::RemoveMember {
                    actor: w.users[0].clone(),
                    actor_role: Role::Staff,
                    room: w.rooms[r],
                    target: w.users[u].clone(),
                };
                let got = w.committer.submit(cmd).await;
                if model.is_member(0, r) && !model.owner_gone.contains(&r) && model.is_member(u, r)
                {
                    prop_assert!(got.is_ok(), "{got:?}");
                    model.leave(u, r);
                } else {
                    prop_assert!(got.is_err());
                }
            }
            Op::CrashRestart => w.crash_restart().await,
        }
        w.drain_and_check(&model)?;
    }
    Ok(())
}

proptest! {
    // 48 cases in the normal suite; the long suite sets TOWNHALL_MODEL_CASES.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("TOWNHALL_MODEL_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48),
        .. ProptestConfig::default()
    })]
    #[test]
    fn every_device_gets_exactly_what_the_model_allows(ops in proptest::collection::vec(op(), 1..60)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(run(ops))?;
    }
}
