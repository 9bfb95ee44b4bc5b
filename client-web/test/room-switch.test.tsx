import { cleanup, render } from '@testing-library/preact';
import { signal } from '@preact/signals';
import { afterEach, describe, expect, it } from 'vitest';
import { RoomPane } from '../src/components/RoomPane';
import type { RoomInfo } from '../src/protocol';
import { connectedStore, ev, msg } from './fake';

afterEach(cleanup);

const info = (id: string, name: string): RoomInfo => ({ id, name, topic: '', visibility: 'public', kind: 'room', member_count: 2, my_role: 'member' });

const connected = () => connectedStore([info('g', 'general'), info('o', 'other')]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('switching rooms', () => {
  it('shows the new room even when an event arrives before the effects flush', async () => {
    const { store, s } = connected();
    const current = signal('g');
    const Main = () => (
      <main>
        <RoomPane key={current.value} store={store} roomId={current.value} />
      </main>
    );
    const ui = render(<Main />);
    await sleep(100);
    expect(ui.getByTestId('room-title').textContent).toContain('general');
    // The user clicks "other"; an event (e.g. a broadcast reminder) lands
    // in the same frame, before Preact's after-paint effect flush.
    current.value = 'o';
    await Promise.resolve();
    await Promise.resolve();
    s.push(ev(msg('o', 1, 'a broadcast lands')));
    await sleep(300);
    // Before the fix: the old pane's deferred cleanup (closeRoom) ran after
    // the new pane's openRoom, and the main area stayed an empty section.
    expect(ui.queryByTestId('room-title')?.textContent ?? '').toContain('other');
    store.stop();
  });
});
