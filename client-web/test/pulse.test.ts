import { describe, expect, it } from 'vitest';
import { bucketLabels, csvCell, mayViewPulse, pulseTimeText, questionsTable, shortDuration, toCsv } from '../src/pulse';
import type { PulseReport } from '../src/protocol';

const report: PulseReport = {
  days: ['2026-11-29', '2026-11-30'],
  asked: [2, 3],
  answered: [0, 1],
  messages: [5, 9],
  answer_buckets_ms: [60_000, 3_600_000],
  answer_histogram: [1, 0, 0],
  answer_median: { bucket: 0, at_most_ms: 60_000 },
  answer_p90: { bucket: 2 },
  open_age: [4, 0, 0, 0, 0],
  rooms: [],
  other_rooms: [0, 0],
  top_questions: [],
  rooms_counted: 1,
};

describe('pulse data', () => {
  it('writes a chart table as CSV, one row per day', () => {
    expect(toCsv(questionsTable(report))).toBe('day,asked,answered\r\n2026-11-29,2,0\r\n2026-11-30,3,1\r\n');
  });

  it('quotes CSV cells and never lets text start a formula', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('=HYPERLINK("x")')).toBe('"\'=HYPERLINK(""x"")"');
    expect(csvCell('-1')).toBe("'-1");
    expect(csvCell(-1)).toBe('-1');
  });

  it('names time buckets and percentiles as a person would read them', () => {
    expect(bucketLabels([60_000, 3_600_000])).toEqual(['≤ 1 min', '≤ 1 h', '> 1 h']);
    expect(pulseTimeText(report.answer_median, report.answer_buckets_ms)).toBe('at most 1 min');
    expect(pulseTimeText(report.answer_p90, report.answer_buckets_ms)).toBe('more than 1 h');
    expect(pulseTimeText(undefined, [])).toBe('none answered');
    expect(shortDuration(14 * 86_400_000)).toBe('2 wk');
    expect(shortDuration(3 * 86_400_000)).toBe('3 d');
  });

  it('is offered to the team, leaders and admins only', () => {
    expect(mayViewPulse('staff', false)).toBe(false);
    expect(mayViewPulse('staff', true)).toBe(true);
    expect(mayViewPulse('leader', false)).toBe(true);
    expect(mayViewPulse('admin', false)).toBe(true);
  });
});
