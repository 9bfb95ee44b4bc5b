//! The JSON Schema (draft 2020-12) of the protocol, generated from the
//! types of this crate with `schemars` (feature `schema`), so that a client
//! in another language can generate its types from it. The checked-in copy
//! is `docs/protocol.schema.json`; `tests/tests/schema.rs` fails when it
//! differs from what the code generates (`TOWNHALL_UPDATE_SCHEMA=1` rewrites
//! it).
//!
//! Client frames and request bodies are described as the server *reads*
//! them (a field with a default may be left out), server frames and reply
//! bodies as the server *writes* them (a field it always writes is
//! required), which is what each side of a client needs.

use crate::http::{
    AuditEntry, ChangePasswordRequest, CreateUserRequest, ErrorBody, LoginRequest, LoginResponse,
    UpdateUserRequest,
};
use crate::invite::{
    CreateInvitationRequest, CreatedInvitation, Invitation, InvitationInfo, InvitationInfoRequest,
    RedeemInvitationRequest,
};
use crate::{ClientFrame, PROTOCOL_VERSION, ServerFrame};
use schemars::SchemaGenerator;
use schemars::generate::{Contract, SchemaSettings};
use serde_json::{Map, Value, json};

/// Why a definition could not be placed in the document.
#[derive(Debug, PartialEq, Eq)]
pub struct SchemaConflict {
    /// The definition described differently as read and as written.
    pub name: String,
}

/// The whole document: `oneOf` a client frame or a server frame, with
/// every type (HTTP bodies included) under `$defs`.
pub fn protocol_schema() -> Result<Value, SchemaConflict> {
    let mut defs = Map::new();
    let mut read = generator(Contract::Deserialize);
    let mut written = generator(Contract::Serialize);
    // Each `$ref` is registered in its generator's definitions.
    let _ = read.subschema_for::<ClientFrame>();
    let _ = read.subschema_for::<LoginRequest>();
    let _ = read.subschema_for::<CreateUserRequest>();
    let _ = read.subschema_for::<UpdateUserRequest>();
    let _ = read.subschema_for::<ChangePasswordRequest>();
    let _ = read.subschema_for::<CreateInvitationRequest>();
    let _ = read.subschema_for::<InvitationInfoRequest>();
    let _ = read.subschema_for::<RedeemInvitationRequest>();
    let _ = written.subschema_for::<ServerFrame>();
    let _ = written.subschema_for::<LoginResponse>();
    let _ = written.subschema_for::<ErrorBody>();
    let _ = written.subschema_for::<AuditEntry>();
    let _ = written.subschema_for::<CreatedInvitation>();
    let _ = written.subschema_for::<Vec<Invitation>>();
    let _ = written.subschema_for::<InvitationInfo>();
    for generated in [read.take_definitions(true), written.take_definitions(true)] {
        for (name, schema) in generated {
            match defs.get(&name) {
                // Shared types (ids, enums, users) must read as they are written.
                Some(existing) if *existing != schema => return Err(SchemaConflict { name }),
                Some(_) => {}
                None => {
                    defs.insert(name, schema);
                }
            }
        }
    }
    Ok(json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": format!("Townhall protocol, version {PROTOCOL_VERSION}"),
        "description": "Every WebSocket frame of /ws: a ClientFrame (client to server) or a ServerFrame (server to client), one JSON object per text message. $defs also holds the bodies of the HTTP API. Generated from protocol/src by `schemars`; see docs/protocol.md for what each frame means. Do not edit: run `TOWNHALL_UPDATE_SCHEMA=1 cargo test -p townhall-tests --test schema`.",
        "oneOf": [
            {"$ref": "#/$defs/ClientFrame"},
            {"$ref": "#/$defs/ServerFrame"},
        ],
        "$defs": defs,
    }))
}

fn generator(contract: Contract) -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .with(|s| s.contract = contract)
        .into_generator()
}
