// Replies split into parts: a reply too large for one WebSocket frame (a
// summary of thousands of rooms, the members of a large room) arrives as
// several frames with the same `req_id`, all but the last with
// `more: true`; each part's lists continue the previous part's. The
// connection joins them before anyone sees the reply. Pure, so the rule is
// unit-tested apart from the socket.

type Frame = Record<string, unknown>;

/** `next` appended to `prev`: lists concatenated, other fields from `next`. */
export function joinPart(prev: Frame, next: Frame): Frame {
  const out: Frame = { ...prev };
  for (const [key, value] of Object.entries(next)) {
    const before = prev[key];
    out[key] = Array.isArray(before) && Array.isArray(value) ? [...before, ...value] : value;
  }
  if (next.more !== true) delete out.more;
  return out;
}

/** Joins parts as they arrive; one instance per connection. */
export class PartJoiner {
  private open = new Map<string, Frame>();

  /** The whole reply once its last part is in; `null` while parts are missing. */
  add<T>(frame: T): T | null {
    const f = frame as unknown as Frame;
    const id = typeof f.req_id === 'string' ? f.req_id : '';
    const key = `${String(f.type)}\u0000${id}`;
    const prev = this.open.get(key);
    if (!prev && f.more !== true) return frame;
    const joined = prev ? joinPart(prev, f) : f;
    if (f.more === true) {
      this.open.set(key, joined);
      return null;
    }
    this.open.delete(key);
    return joined as unknown as T;
  }

  /** The link dropped: parts of unfinished replies will never be completed. */
  clear(): void {
    this.open.clear();
  }
}
