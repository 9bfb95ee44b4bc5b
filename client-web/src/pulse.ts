// The Pulse view's data (issue 15, "trends, as pictures"): loading the
// server's aggregated numbers (`pulse`), shaping each chart's numbers as a
// table, and exporting a table as CSV. No rendering here (components/Pulse.tsx)
// and no state in store.ts: the view owns one `PulseData`.

import { signal } from '@preact/signals';
import type { ClientFrame, PulseReport, PulseTime, Role, ServerFrame } from './protocol';

type Request = <T extends ServerFrame>(frame: ClientFrame) => Promise<T>;

export const pulseHref = '#/pulse';

/** Ranges offered, in days (the server allows 1 to 366). */
export const RANGES = [7, 30, 90, 366] as const;

/** Who may open Pulse: the server refuses everyone else (`forbidden`). */
export function mayViewPulse(role: Role, team: boolean): boolean {
  return team || role === 'admin' || role === 'leader';
}

/** One chart's numbers: what its data table shows and its CSV holds. */
export interface ChartTable {
  columns: string[];
  rows: (string | number)[][];
}

export class PulseData {
  readonly report = signal<PulseReport | null>(null);
  readonly error = signal('');
  readonly loading = signal(false);
  readonly days = signal(30);

  constructor(private readonly request: Request) {}

  async load(days = this.days.value): Promise<void> {
    this.days.value = days;
    this.loading.value = true;
    this.error.value = '';
    try {
      const r = await this.request<Extract<ServerFrame, { type: 'pulse' }>>({ type: 'pulse', days });
      this.report.value = r.report;
    } catch (e) {
      this.error.value = e instanceof Error ? e.message : String(e);
    } finally {
      this.loading.value = false;
    }
  }
}

/** "2 h", "3 d", "45 s": a duration short enough for a chart label. */
export function shortDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.round(m / 60);
  if (h < 24) return `${h} h`;
  const d = Math.round(h / 24);
  if (d % 7 === 0) return `${d / 7} wk`;
  return `${d} d`;
}

/** The label of each time-to-answer bucket: "≤ 1 min", …, "> 8 wk". */
export function bucketLabels(boundsMs: number[]): string[] {
  const labels = boundsMs.map((b) => `≤ ${shortDuration(b)}`);
  const last = boundsMs[boundsMs.length - 1];
  labels.push(last === undefined ? 'any' : `> ${shortDuration(last)}`);
  return labels;
}

/** "at most 1 h", or "more than 8 wk" for the open bucket. */
export function pulseTimeText(t: PulseTime | undefined, boundsMs: number[]): string {
  if (!t) return 'none answered';
  if (t.at_most_ms !== undefined) return `at most ${shortDuration(t.at_most_ms)}`;
  const last = boundsMs[boundsMs.length - 1];
  return last === undefined ? 'unknown' : `more than ${shortDuration(last)}`;
}

export const OPEN_AGE_LABELS = ['< 1 d', '1–3 d', '3–7 d', '1–4 wk', '> 4 wk'];

export function questionsTable(r: PulseReport): ChartTable {
  return {
    columns: ['day', 'asked', 'answered'],
    rows: r.days.map((d, i) => [d, r.asked[i] ?? 0, r.answered[i] ?? 0]),
  };
}

export function answerTimeTable(r: PulseReport): ChartTable {
  const labels = bucketLabels(r.answer_buckets_ms);
  return {
    columns: ['time to answer', 'upper bound (ms)', 'answered'],
    rows: r.answer_histogram.map((n, i) => [labels[i] ?? '', r.answer_buckets_ms[i] ?? '', n]),
  };
}

export function openAgeTable(r: PulseReport): ChartTable {
  return {
    columns: ['age', 'open questions'],
    rows: r.open_age.map((n, i) => [OPEN_AGE_LABELS[i] ?? '', n]),
  };
}

export function activityTable(r: PulseReport): ChartTable {
  const others = r.other_rooms.some((n) => n > 0);
  const columns = ['day', ...r.rooms.map((x) => x.name), ...(others ? ['other rooms'] : []), 'all rooms'];
  const rows = r.days.map((d, i) => [
    d,
    ...r.rooms.map((x) => x.messages[i] ?? 0),
    ...(others ? [r.other_rooms[i] ?? 0] : []),
    r.messages[i] ?? 0,
  ]);
  return { columns, rows };
}

export function topQuestionsTable(r: PulseReport): ChartTable {
  return {
    columns: ['votes', 'room', 'question', 'asked'],
    rows: r.top_questions.map((q) => [q.votes, q.room_name, q.body, new Date(q.asked_at).toISOString()]),
  };
}

/** A count as a whole percentage of `of` (0 when `of` is 0). */
export function percent(n: number, of: number): number {
  return of > 0 ? Math.round((100 * n) / of) : 0;
}

/** Broadcast reach within 1 h / 24 h: counts and shares of each audience. */
export function reachTable(r: PulseReport): ChartTable {
  return {
    columns: [
      'sent',
      'broadcast',
      'audience',
      'opened 1 h',
      'opened 24 h',
      'acknowledged 1 h',
      'acknowledged 24 h',
      'opened 1 h %',
      'opened 24 h %',
      'acknowledged 1 h %',
      'acknowledged 24 h %',
    ],
    rows: (r.broadcasts ?? []).map((b) => [
      new Date(b.sent_at).toISOString(),
      b.snippet,
      b.audience,
      b.opened_1h,
      b.opened_24h,
      b.acknowledged_1h,
      b.acknowledged_24h,
      percent(b.opened_1h, b.audience),
      percent(b.opened_24h, b.audience),
      percent(b.acknowledged_1h, b.audience),
      percent(b.acknowledged_24h, b.audience),
    ]),
  };
}

export function watchTable(weeks: string[], phrases: { phrase: string; counts: number[] }[]): ChartTable {
  return {
    columns: ['week', ...phrases.map((p) => p.phrase)],
    rows: weeks.map((w, i) => [w, ...phrases.map((p) => p.counts[i] ?? 0)]),
  };
}

/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, quote or line
 * break. Text starting with `=`, `+`, `-`, `@`, tab or CR is prefixed with
 * `'` so a spreadsheet never runs a room name or question as a formula.
 */
export function csvCell(v: string | number): string {
  if (typeof v === 'number') return String(v);
  let s = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  if (/[",\r\n]/.test(s)) s = `"${s.replace(/"/g, '""')}"`;
  return s;
}

export function toCsv(t: ChartTable): string {
  return [t.columns, ...t.rows].map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

/** Save a table as a CSV file through a Blob link (nothing leaves the browser). */
export function downloadCsv(filename: string, t: ChartTable): void {
  const blob = new Blob([toCsv(t)], { type: 'text/csv;charset=utf-8' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  // After the click has started the download.
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
