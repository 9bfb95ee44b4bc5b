// A scripted stand-in for the server's socket: tests see every frame the
// client sends and push server frames back.

import type { SocketLike } from '../src/connection';
import type { ChatEvent, ClientFrame, LoginResponse, RoomInfo, ServerFrame, UserInfo } from '../src/protocol';
import { ChatStore } from '../src/store';

export class FakeSocket implements SocketLike {
  readyState = 0;
  sent: ClientFrame[] = [];
  closed = false;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  constructor(readonly url: string) {}

  send(data: string): void {
    if (this.closed) throw new Error('send on a closed socket');
    this.sent.push(JSON.parse(data) as ClientFrame);
  }
  close(): void {
    this.closed = true;
  }
  /** The server accepts the TCP connection. */
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  push(frame: ServerFrame): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  /** The link drops (server stopped, network gone). */
  drop(code = 1006): void {
    this.closed = true;
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
  ofType<T extends ClientFrame['type']>(type: T): Extract<ClientFrame, { type: T }>[] {
    return this.sent.filter((f) => f.type === type) as Extract<ClientFrame, { type: T }>[];
  }
}

export const alice: UserInfo = { id: 'u-alice', username: 'alice', display_name: 'Alice Smith', role: 'staff' };
export const bob: UserInfo = { id: 'u-bob', username: 'bob', display_name: 'Bob Jones', role: 'staff' };

export function session(user: UserInfo = bob): LoginResponse {
  return { token: `tok-${user.username}`, expires_at: Date.now() + 3_600_000, user };
}

let pos = 100;
export function msg(room: string, seq: number, body: string, sender: UserInfo = alice, extra: Partial<ChatEvent> = {}): ChatEvent {
  return { pos: ++pos, room, seq, ts: 1_700_000_000_000 + seq * 1000, sender, content: { kind: 'message', body }, ...extra };
}

export function ev(e: ChatEvent): ServerFrame {
  return { type: 'event', ...e };
}

/** A store signed in as bob over a fake socket, caught up, whose summary
 * lists `rooms` (none unread). */
export function connectedStore(rooms: RoomInfo[]): { store: ChatStore; s: FakeSocket } {
  const sockets: FakeSocket[] = [];
  const store = new ChatStore({
    session: session(bob),
    url: 'ws://test/ws',
    createSocket: (url) => {
      const sock = new FakeSocket(url);
      sockets.push(sock);
      return sock;
    },
    isActive: () => true,
  });
  store.start();
  const s = sockets[0]!;
  s.open();
  s.push({ type: 'welcome', version: 1, user: store.me, resume_from: 0 });
  s.push({ type: 'caught_up', pos: 0 });
  s.push({
    type: 'summary',
    req_id: 'summary',
    rooms: rooms.map((room) => ({ room, last_seq: 0, read_seq: 0, unread: 0, mentions: 0 })),
  });
  return { store, s };
}
