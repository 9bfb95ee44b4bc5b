//! A serialized frame shared between many sockets: cloning it bumps a
//! reference count, so a broadcast is serialized once whatever its audience.

pub use axum::extract::ws::Utf8Bytes as SharedFrame;

use townhall_protocol::ServerFrame;

pub fn shared(frame: &ServerFrame) -> SharedFrame {
    SharedFrame::from(frame.to_json())
}
