#!/usr/bin/env python3
"""A minimal Townhall client, written from docs/protocol.md alone.

It walks through docs/writing-a-client.md: log in over HTTP, connect to
/ws, authenticate with `hello`, catch up on the backlog, post a message
idempotently (and show that sending it again stores nothing new), store its
position with `ack_pos`, then reconnect with `resume` and get nothing twice.

    python3 client.py --server http://127.0.0.1:8080 --username alice \
        --password '...' --room client-demo --state alice.json

Needs Python 3.10+ and `websockets` (pip install websockets==17.4). It
exits 0 when every step behaved as the protocol says, else 1: the black-box
test tests/tests/python_client.rs runs it against the real server in CI.
"""

import argparse
import asyncio
import json
import os
import sys
import urllib.error
import urllib.request
import uuid

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

PROTOCOL_VERSION = 1
# The largest frame the server sends (MAX_SERVER_FRAME_BYTES).
MAX_SERVER_FRAME_BYTES = 1024 * 1024
# How long to wait for any one reply: a healthy server answers in
# milliseconds; generous for a busy CI machine.
TIMEOUT = 15


class ProtocolError(Exception):
    """The server answered something the protocol does not allow here."""


def login(server, username, password):
    """POST /api/login: JSON in, JSON out; the token goes into `hello`."""
    request = urllib.request.Request(
        server + "/api/login",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        body = json.loads(e.read() or b"{}")
        # 401 invalid_credentials, 429 rate_limited: tell the person, do not retry.
        raise ProtocolError(f"login refused: {e.code} {body.get('code')}") from None


class Connection:
    """One WebSocket connection: frames in order, events tracked by `pos`."""

    def __init__(self, ws, position):
        self.ws = ws
        # The one number to resume from: the highest of caught_up.pos and
        # every processed event's pos.
        self.position = position
        self.pending = []  # frames read while waiting for something else
        self.events = []  # every event processed on this connection
        self.next_req = 0

    async def send(self, frame):
        await self.ws.send(json.dumps(frame))

    async def read(self):
        frame = json.loads(await asyncio.wait_for(self.ws.recv(), TIMEOUT))
        if frame["type"] == "event":
            self.process(frame)
        return frame

    def process(self, event):
        """Handle a timeline event: here, remember it and move the position."""
        self.events.append(event)
        self.position = max(self.position, event["pos"])

    async def wait_for(self, predicate):
        """The first frame matching `predicate`; others are kept for later."""
        for i, frame in enumerate(self.pending):
            if predicate(frame):
                return self.pending.pop(i)
        while True:
            frame = await self.read()
            if predicate(frame):
                return frame
            if frame["type"] != "event":
                self.pending.append(frame)

    async def wait_event(self, pos):
        """Wait until the event at `pos` has been processed."""
        if any(e["pos"] == pos for e in self.events):
            return
        await self.wait_for(lambda f: f["type"] == "event" and f["pos"] == pos)

    async def request(self, frame):
        """Send a request with a fresh req_id; return its whole reply.

        A list reply may come in parts (`more: true` on all but the last):
        the lists of the parts are appended in order. A `rate_limited`
        error means: wait a second, then send the same request again.
        """
        self.next_req += 1
        req_id = f"r{self.next_req}"
        frame = dict(frame, req_id=req_id)
        while True:
            await self.send(frame)
            reply = await self.wait_for(lambda f: f.get("req_id") == req_id)
            if reply["type"] == "error" and reply["code"] == "rate_limited":
                await asyncio.sleep(1)
                continue
            break
        while reply.get("more"):
            part = await self.wait_for(lambda f: f.get("req_id") == req_id)
            for key, value in part.items():
                if isinstance(value, list):
                    reply[key] = reply.get(key, []) + value
            reply["more"] = part.get("more", False)
        return reply


async def open_connection(server, token, device, resume):
    """Connect, say hello, and read the backlog up to `caught_up`."""
    url = server.replace("http://", "ws://").replace("https://", "wss://") + "/ws"
    ws = await connect(url, max_size=MAX_SERVER_FRAME_BYTES, open_timeout=TIMEOUT)
    hello = {"type": "hello", "version": PROTOCOL_VERSION, "token": token, "device": device}
    if resume is not None:
        hello["resume"] = resume
    await ws.send(json.dumps(hello))
    welcome = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    if welcome["type"] == "error":
        # Then Close 4001 (log in again) or 1013/1011 (try again later).
        raise ProtocolError(f"hello refused: {welcome['code']}: {welcome['message']}")
    if welcome["type"] != "welcome":
        raise ProtocolError(f"expected welcome, got {welcome}")
    if welcome.get("reset"):
        # The server's data is older than our position: forget local state.
        print("server was restored from a backup: starting afresh")
    conn = Connection(ws, welcome["resume_from"])
    caught_up = await conn.wait_for(lambda f: f["type"] == "caught_up")
    conn.position = max(conn.position, caught_up["pos"])
    print(f"welcome {welcome['user']['username']}: {len(conn.events)} backlog events, "
          f"caught up at {caught_up['pos']}")
    return conn


async def find_or_create_room(conn, name):
    rooms = (await conn.request({"type": "my_rooms"}))["rooms"]
    for room in rooms:
        if room["name"] == name:
            return room
    for room in (await conn.request({"type": "directory"}))["rooms"]:
        if room["name"] == name:
            reply = await conn.request({"type": "join", "room": room["id"]})
            return reply["room"]
    reply = await conn.request(
        {"type": "create_room", "name": name, "topic": "", "visibility": "public"}
    )
    if reply["type"] != "room":
        raise ProtocolError(f"create_room: {reply}")
    return reply["room"]


async def store_position(conn):
    """ack_pos with a req_id: the `ok` says the position is durable."""
    reply = await conn.request({"type": "ack_pos", "pos": conn.position})
    if reply["type"] != "ok":
        raise ProtocolError(f"ack_pos: {reply}")


def load_state(path):
    if path and os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return {"device": str(uuid.uuid4()), "position": None}


def save_state(path, state):
    if path:
        with open(path, "w") as f:
            json.dump(state, f)


async def run(args):
    state = load_state(args.state)
    token = login(args.server, args.username, args.password)["token"]

    # 1. Connect, authenticate, catch up.
    conn = await open_connection(args.server, token, state["device"], state["position"])
    room = await find_or_create_room(conn, args.room)

    # 2. Send with idempotency: the client_id is made once per message and
    #    kept until its ack, so a resend (after a reconnect, a rate_limited,
    #    a timeout) stores nothing new.
    client_id = str(uuid.uuid4())
    message = {"type": "send", "room": room["id"], "client_id": client_id, "body": args.body}
    ack = await conn.request(message)
    if ack["type"] != "ack" or ack["duplicate"]:
        raise ProtocolError(f"send: {ack}")
    print(f"sent seq {ack['seq']} at pos {ack['pos']}")
    again = await conn.request(message)
    if again["type"] != "ack" or not again["duplicate"] or again["seq"] != ack["seq"]:
        raise ProtocolError(f"the resend was not recognised: {again}")
    print("sent again with the same client_id: duplicate, nothing new stored")
    # My own message also reaches me as an event (in order, by pos).
    await conn.wait_event(ack["pos"])

    # 3. Store the position, and wait until it is durable before closing.
    await store_position(conn)
    state["position"] = conn.position
    save_state(args.state, state)
    await conn.ws.close()

    # 4. Resume: nothing processed before is delivered again.
    conn = await open_connection(args.server, token, state["device"], state["position"])
    seen_again = [e for e in conn.events if e["pos"] <= state["position"]]
    if seen_again:
        raise ProtocolError(f"events delivered twice after resume: {seen_again}")
    history = await conn.request({"type": "history", "room": room["id"], "limit": 5})
    if ack["seq"] not in [e["seq"] for e in history["events"]]:
        raise ProtocolError(f"the message is not in the room's history: {history}")
    await store_position(conn)
    state["position"] = conn.position
    save_state(args.state, state)
    await conn.ws.close()
    print(f"resumed from {state['position']} with no event twice; done")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="http://127.0.0.1:8080")
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--room", default="client-demo")
    parser.add_argument("--body", default="hello from the Python client")
    parser.add_argument("--state", help="a JSON file that keeps the device id and position")
    args = parser.parse_args()
    try:
        asyncio.run(run(args))
    except (ProtocolError, ConnectionClosed, OSError, asyncio.TimeoutError) as e:
        print(f"error: {e!r}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
