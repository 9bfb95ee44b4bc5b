//! docs/protocol.schema.json is what the protocol's types generate (issue
//! 16): a client writer generates types from it, so it must never drift
//! from the code. After a deliberate wire change, rewrite it with
//! `TOWNHALL_UPDATE_SCHEMA=1 cargo test -p townhall-tests --test schema`
//! and review the diff with the change.

use serde_json::Value;
use std::path::PathBuf;
use townhall_protocol::schema::protocol_schema;
use townhall_protocol::{CLIENT_FRAME_TYPES, ErrorCode};

fn checked_in() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/protocol.schema.json")
}

fn generated() -> Value {
    protocol_schema().unwrap_or_else(|c| {
        panic!(
            "`{}` reads differently than it is written; the schema cannot hold both",
            c.name
        )
    })
}

#[test]
fn the_checked_in_schema_is_what_the_code_generates() {
    let schema = generated();
    let path = checked_in();
    let pretty = serde_json::to_string_pretty(&schema).expect("a schema serializes") + "\n";
    if std::env::var_os("TOWNHALL_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &pretty).expect("write docs/protocol.schema.json");
    }
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    // Compared as JSON values, so that key order (which a serde_json
    // feature elsewhere in the build could change) does not matter.
    let on_disk: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    assert!(
        on_disk == schema,
        "docs/protocol.schema.json is out of date with protocol/src: run \
         `TOWNHALL_UPDATE_SCHEMA=1 cargo test -p townhall-tests --test schema` and commit it"
    );
}

/// Every client frame type and every error code is in the schema, so a
/// client generating its types from it misses nothing.
#[test]
fn the_schema_names_every_frame_type_and_error_code() {
    let text = serde_json::to_string(&generated()).expect("serializes");
    for kind in CLIENT_FRAME_TYPES {
        assert!(
            text.contains(&format!("\"{kind}\"")),
            "no `{kind}` in the schema"
        );
    }
    for code in ErrorCode::ALL {
        assert!(
            text.contains(&format!("\"{code}\"")),
            "no `{code}` in the schema"
        );
    }
    for kind in ["welcome", "event", "caught_up", "ack", "error", "pong"] {
        assert!(
            text.contains(&format!("\"{kind}\"")),
            "no `{kind}` in the schema"
        );
    }
}
