// Everything the client keeps in localStorage, in one place, with one key
// scheme. Per-user keys carry the user id so two accounts on one browser never
// share a resume position or an outbox.

import type { LoginResponse, Pos, RoomId } from './protocol';

const PREFIX = 'townhall.';

/** A message the user wrote that the server has not acknowledged yet. */
export interface OutboxItem {
  client_id: string;
  room: RoomId;
  body: string;
  /** Local time it was written: keeps the on-screen order stable. */
  created_at: number;
  status: 'sending' | 'failed';
  /** Posted as a question. */
  question?: boolean;
  /** A reply in the thread under this message. */
  thread?: number;
  /** Ids of files already uploaded, posted with it. */
  attachments?: string[];
  /** Why it failed, for the "failed — retry" line. */
  error?: string;
}

/** localStorage may throw (private mode, quota, disabled): never let it break the app. */
function safeGet(key: string): string | null {
  try {
    return globalThis.localStorage?.getItem(PREFIX + key) ?? null;
  } catch {
    return null;
  }
}

function safeSet(key: string, value: string | null): void {
  try {
    if (value === null) globalThis.localStorage?.removeItem(PREFIX + key);
    else globalThis.localStorage?.setItem(PREFIX + key, value);
  } catch {
    // Quota or disabled storage: the app works on, only without persistence.
  }
}

function readJson<T>(key: string): T | null {
  const raw = safeGet(key);
  if (raw === null) return null;
  try {
    return JSON.parse(raw) as T;
  } catch {
    return null;
  }
}

export function loadSession(): LoginResponse | null {
  const s = readJson<LoginResponse>('session');
  if (!s || typeof s.token !== 'string' || !s.user) return null;
  if (typeof s.expires_at === 'number' && s.expires_at <= Date.now()) {
    saveSession(null);
    return null;
  }
  return s;
}

export function saveSession(s: LoginResponse | null): void {
  safeSet('session', s === null ? null : JSON.stringify(s));
}

/** A stable random id for this browser, so the server remembers its position. */
export function deviceId(): string {
  let id = safeGet('device');
  if (!id) {
    id = uuidv4();
    safeSet('device', id);
  }
  return id;
}

export function loadPos(userId: string): Pos | undefined {
  const raw = safeGet(`pos.${userId}`);
  if (raw === null) return undefined;
  const n = Number(raw);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

export function savePos(userId: string, pos: Pos): void {
  safeSet(`pos.${userId}`, String(pos));
}

export function loadOutbox(userId: string): OutboxItem[] {
  const items = readJson<OutboxItem[]>(`outbox.${userId}`);
  if (!Array.isArray(items)) return [];
  return items.filter(
    (i) => i && typeof i.client_id === 'string' && typeof i.room === 'string' && typeof i.body === 'string',
  );
}

export function saveOutbox(userId: string, items: OutboxItem[]): void {
  safeSet(`outbox.${userId}`, items.length ? JSON.stringify(items) : null);
}

/** RFC 4122 version 4, from the platform when it can (secure contexts only). */
export function uuidv4(): string {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  const b = new Uint8Array(16);
  if (c && typeof c.getRandomValues === 'function') c.getRandomValues(b);
  else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
