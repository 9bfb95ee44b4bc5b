import { describe, expect, it } from 'vitest';
import { percent, reachTable, toCsv } from '../src/pulse';
import type { PulseReport } from '../src/protocol';

const report = {
  broadcasts: [
    {
      id: 'b1',
      sender: { id: 'u1', username: 'leo', display_name: 'Leo', role: 'leader' },
      sent_at: Date.UTC(2026, 10, 30, 9),
      snippet: 'The new structure starts on 1 March.',
      ack_requested: true,
      audience: 8,
      opened_1h: 2,
      opened_24h: 6,
      acknowledged_1h: 1,
      acknowledged_24h: 3,
    },
  ],
} as unknown as PulseReport;

describe('broadcast reach within 1 h / 24 h', () => {
  it('gives counts and whole-percent shares of the audience', () => {
    expect(percent(1, 3)).toBe(33);
    expect(percent(5, 0)).toBe(0);
    const t = reachTable(report);
    expect(t.rows[0]).toEqual(['2026-11-30T09:00:00.000Z', 'The new structure starts on 1 March.', 8, 2, 6, 1, 3, 25, 75, 13, 38]);
    expect(toCsv(t).split('\n')[0]).toContain('opened 1 h %');
  });
  it('reads a report of an older server (no broadcasts) as empty', () => {
    expect(reachTable({} as PulseReport).rows).toEqual([]);
  });
});
