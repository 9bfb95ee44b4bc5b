import { describe, expect, it } from 'vitest';
import { RumourWatch, upsertAlert } from '../src/watch';
import type { ClientFrame, ServerFrame, WatchAlert } from '../src/protocol';

function alert(pos: number, deleted = false): WatchAlert {
  const sender = { id: 'u', username: 'carl', display_name: 'Carl', role: 'staff' } as WatchAlert['sender'];
  return { pos, room: 'r', room_name: 'lyon', seq: pos, ts: 0, sender, snippet: deleted ? '' : 'x', phrases: ['layoffs'], deleted };
}

describe('rumour watch', () => {
  it('keeps alerts newest first; a deleted message replaces its alert', () => {
    let list = upsertAlert([], alert(1));
    list = upsertAlert(list, alert(3));
    list = upsertAlert(list, alert(1, true));
    expect(list.map((a) => [a.pos, a.deleted])).toEqual([
      [3, false],
      [1, true],
    ]);
  });

  it('counts live alerts as unseen once, and takes the live list', () => {
    const asked: ClientFrame[] = [];
    const w = new RumourWatch(<T extends ServerFrame>(f: ClientFrame) => {
      asked.push(f);
      return Promise.resolve({ type: 'watch_counts', weeks: [], phrases: [] } as unknown as T);
    });
    expect(w.handleFrame({ type: 'watch_alert', alert: alert(5) })).toBe(true);
    expect(w.handleFrame({ type: 'watch_alert', alert: alert(5, true) })).toBe(true);
    expect(w.unseen.value).toBe(1);
    expect(w.alerts.value[0]!.deleted).toBe(true);
    const added_by = alert(1).sender;
    expect(w.handleFrame({ type: 'watch_list', phrases: [{ phrase: 'layoffs', added_by, added_at: 1 }] })).toBe(true);
    expect(w.phrases.value.map((p) => p.phrase)).toEqual(['layoffs']);
    // A reply (with req_id) is the requester's, not a live change.
    expect(w.handleFrame({ type: 'watch_list', req_id: 'r1', phrases: [] })).toBe(false);
    expect(w.handleFrame({ type: 'pong' })).toBe(false);
    expect(asked.every((f) => f.type === 'watch_counts')).toBe(true);
  });
});
