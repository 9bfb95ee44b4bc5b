// Rumour watch (issue 15) on the client: the transformation team's shared
// watch list, my alerts (a room message matched a watched phrase) and the
// weekly counts per phrase. Only team members load any of it; the server
// refuses everyone else.

import { signal } from '@preact/signals';
import type { ClientFrame, ServerFrame, WatchAlert, WatchCounts, WatchPhrase } from './protocol';

type Request = <T extends ServerFrame>(frame: ClientFrame) => Promise<T>;

/** Weeks shown in the counts table: a quarter. */
export const WEEKS_SHOWN = 12;

/** Newest first by position, one entry per position (a deleted message's alert replaces the first one). */
export function upsertAlert(list: WatchAlert[], a: WatchAlert): WatchAlert[] {
  const rest = list.filter((x) => x.pos !== a.pos);
  return [a, ...rest].sort((x, y) => y.pos - x.pos);
}

export class RumourWatch {
  readonly phrases = signal<WatchPhrase[]>([]);
  /** My alerts, newest first. */
  readonly alerts = signal<WatchAlert[]>([]);
  /** Alerts that arrived live since the panel was last opened. */
  readonly unseen = signal(0);
  readonly weeks = signal<string[]>([]);
  readonly counts = signal<WatchCounts[]>([]);

  constructor(private readonly request: Request) {}

  /** After every (re)connect: alerts may have come while away. */
  onReady(team: boolean): void {
    if (team) void this.refresh().catch(() => {});
  }

  async refresh(): Promise<void> {
    const l = await this.request<Extract<ServerFrame, { type: 'watch_list' }>>({ type: 'watch_list' });
    this.phrases.value = l.phrases;
    const a = await this.request<Extract<ServerFrame, { type: 'watch_alerts' }>>({ type: 'watch_alerts' });
    this.alerts.value = a.alerts;
    await this.loadCounts();
  }

  async loadCounts(): Promise<void> {
    const c = await this.request<Extract<ServerFrame, { type: 'watch_counts' }>>({
      type: 'watch_counts',
      weeks: WEEKS_SHOWN,
    });
    this.weeks.value = c.weeks;
    this.counts.value = c.phrases;
  }

  /** Returns true if the frame was one of ours. */
  handleFrame(f: ServerFrame): boolean {
    if (f.type === 'watch_alert') {
      const known = this.alerts.value.some((a) => a.pos === f.alert.pos);
      this.alerts.value = upsertAlert(this.alerts.value, f.alert);
      if (!known) {
        this.unseen.value++;
        // The counts moved: keep the table current.
        void this.loadCounts().catch(() => {});
      }
      return true;
    }
    if (f.type === 'watch_list' && f.req_id === undefined) {
      this.phrases.value = f.phrases;
      void this.loadCounts().catch(() => {});
      return true;
    }
    return false;
  }

  async add(phrase: string): Promise<void> {
    const l = await this.request<Extract<ServerFrame, { type: 'watch_list' }>>({ type: 'watch_add', phrase });
    this.phrases.value = l.phrases;
    void this.loadCounts().catch(() => {});
  }

  async remove(phrase: string): Promise<void> {
    const l = await this.request<Extract<ServerFrame, { type: 'watch_list' }>>({ type: 'watch_remove', phrase });
    this.phrases.value = l.phrases;
    void this.loadCounts().catch(() => {});
  }
}
