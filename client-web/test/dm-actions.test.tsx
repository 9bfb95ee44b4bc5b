import { cleanup, fireEvent, render, waitFor } from '@testing-library/preact';
import { afterEach, describe, expect, it } from 'vitest';
import { RoomPane } from '../src/components/RoomPane';
import type { RoomInfo } from '../src/protocol';
import { alice, connectedStore } from './fake';

afterEach(cleanup);

const dm: RoomInfo = { id: 'd', name: '', topic: '', visibility: 'private', kind: 'dm', member_count: 2, my_role: 'member', dm_peer: alice };

const connected = () => connectedStore([dm]);

describe('a direct conversation’s header (issue 17)', () => {
  it('offers Block (confirmed first) and Leave conversation', async () => {
    const { store, s } = connected();
    const ui = render(<RoomPane store={store} roomId="d" />);
    await waitFor(() => expect(s.ofType('blocked')).toHaveLength(1));
    s.push({ type: 'blocked', req_id: s.ofType('blocked')[0]!.req_id!, users: [] });
    expect(ui.getByTestId('leave').textContent).toBe('Leave conversation');
    const blockButton = ui.getByTestId('block');
    expect(blockButton.textContent).toBe('Block');

    fireEvent.click(blockButton);
    expect(s.ofType('block')).toHaveLength(0);
    const confirm = document.querySelector<HTMLButtonElement>('.btn.danger')!;
    expect(confirm.textContent).toBe('Block');
    fireEvent.click(confirm);
    await waitFor(() => expect(s.ofType('block')).toHaveLength(1));
    expect(s.ofType('block')[0]).toMatchObject({ user: 'alice', on: true });
    s.push({ type: 'ok', req_id: s.ofType('block')[0]!.req_id!, pos: 0 });
    await waitFor(() => expect(ui.getByTestId('block').textContent).toBe('Unblock'));
    store.stop();
  });
});
