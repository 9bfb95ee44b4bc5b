//! Raw bytes of a WebSocket text message → decoding → dispatch to the real
//! handlers, against an in-process server (memory store, hub, committer).
//! Nothing a client sends may panic the server or hang a request.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use townhall_protocol::{ClientFrame, Role, Visibility};
use townhall_server::app::App;
use townhall_server::committer::{Command, Committer};
use townhall_server::config::Config;
use townhall_server::handlers::{Ctx, MAX_IN_FLIGHT, dispatch};
use townhall_server::hub::Hub;
use townhall_server::store::{Store, UserRecord};

struct Harness {
    rt: tokio::runtime::Runtime,
    ctx: Ctx,
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let ctx = rt.block_on(async {
            let store = Store::memory();
            store.init().expect("init");
            let user = UserRecord {
                id: townhall_protocol::UserId::new(),
                username: "fuzz".into(),
                display_name: "fuzz".into(),
                role: Role::Staff,
                password_hash: String::new(),
                disabled: false,
                sessions_valid_after: 0,
                transformation_team: false,
                avatar: None,
                created_at: 0,
            };
            store
                .apply(&townhall_server::committer::user_record_batch(&user))
                .expect("user");
            let hub = Hub::new(0, []);
            let (committer, _task) =
                Committer::start(store.clone(), hub.clone(), 0, 0, CancellationToken::new());
            committer
                .submit(Command::CreateRoom {
                    user: user.info(),
                    name: "r".into(),
                    topic: String::new(),
                    visibility: Visibility::Public,
                    announce_only: false,
                })
                .await
                .expect("room");
            let app = App::new(
                store,
                hub,
                committer,
                Config::for_data("/nonexistent".into()),
                CancellationToken::new(),
            );
            let (frames, mut rx) = townhall_server::outbox::channel(1024);
            // Drain replies so the handlers never wait on a full queue.
            tokio::spawn(async move { while rx.recv().await.is_some() {} });
            Ctx {
                app,
                user,
                device: None,
                frames,
                in_flight: std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT)),
            }
        });
        Harness { rt, ctx }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(frame) = ClientFrame::decode(text) else {
        return;
    };
    let h = harness();
    let r = h.rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(5), dispatch(&h.ctx, frame)).await
    });
    assert!(r.is_ok(), "a request hung for 5 s");
});
