import { cleanup, fireEvent, render } from '@testing-library/preact';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ThreadPanel } from '../src/components/ThreadPanel';
import type { RoomInfo } from '../src/protocol';
import { ChatStore } from '../src/store';
import { alice, bob, FakeSocket, msg, session } from './fake';
import { typeKeys } from './keys';

afterEach(cleanup);
beforeEach(() => localStorage.clear());

const room: RoomInfo = { id: 'g', name: 'general', topic: '', visibility: 'public', kind: 'room', member_count: 2, my_role: 'member' };

async function openThread() {
  let sock: FakeSocket | null = null;
  const store = new ChatStore({
    session: session(bob),
    url: 'ws://t',
    createSocket: (u) => (sock = new FakeSocket(u)),
    isActive: () => true,
  });
  store.start();
  const s = sock as unknown as FakeSocket;
  s.open();
  s.push({ type: 'welcome', version: 1, user: bob, resume_from: 0 });
  s.push({ type: 'caught_up', pos: 0 });
  s.push({ type: 'summary', req_id: 'summary', rooms: [{ room, last_seq: 7, read_seq: 7, unread: 0, mentions: 0 }] });
  const opening = store.openThread('g', 5);
  const req = s.ofType('thread')[0]!;
  s.push({
    type: 'thread',
    req_id: req.req_id!,
    room: 'g',
    parent: msg('g', 5, 'The plan for March', alice, { state: { replies: 1 } }),
    replies: [msg('g', 7, 'Is it final?', bob, { content: { kind: 'message', body: 'Is it final?', thread: 5, question: true } })],
    has_more: false,
  });
  await opening;
  let closed = 0;
  const ui = render(<ThreadPanel store={store} onClose={() => closed++} />);
  return { store, s, ui, closed: () => closed };
}

describe('the thread panel', () => {
  it('shows the parent, the replies with their question tag, and the count', async () => {
    const { ui, store } = await openThread();
    expect(ui.getByTestId('thread-parent').textContent).toContain('The plan for March');
    const replies = ui.getAllByTestId('thread-reply');
    expect(replies).toHaveLength(1);
    expect(replies[0]!.textContent).toContain('Is it final?');
    expect(replies[0]!.textContent).toContain('Question');
    expect(ui.getByTestId('thread-count').textContent).toBe('1 reply');
    store.stop();
  });

  it('Enter in the reply box sends a thread reply, as a question when ticked; Escape closes', async () => {
    const { ui, s, store, closed } = await openThread();
    const box = ui.getByLabelText('Reply in thread') as HTMLTextAreaElement;
    expect(document.activeElement).toBe(box);
    fireEvent.click(ui.getByLabelText('Ask as a question'));
    fireEvent.input(box, { target: { value: 'When exactly?' } });
    fireEvent.keyDown(box, { key: 'Enter' });
    expect(s.ofType('send')[0]).toMatchObject({ room: 'g', body: 'When exactly?', thread: 5, question: true });
    // Shown at once as sending, in the thread (not in the room's main list).
    expect(ui.getAllByTestId('thread-reply')).toHaveLength(2);
    fireEvent.keyDown(box, { key: 'Escape' });
    expect(closed()).toBe(1);
    store.stop();
  });

  it('a key typed right after choosing a name with Enter follows the name', async () => {
    const { ui, s, store } = await openThread();
    store.members.value = new Map([['g', [alice, bob].map((user) => ({ user, role: 'member' as const }))]]);
    const box = ui.getByLabelText('Reply in thread') as HTMLTextAreaElement;
    const type = (text: string) => typeKeys(box, text);
    type('ask @al');
    expect(ui.getAllByTestId('mention-option')[0]!.textContent).toContain('@alice');
    fireEvent.keyDown(box, { key: 'Enter' });
    expect(box.value).toBe('ask @alice ');
    type('a');
    // Whatever waits for the next frame runs now: it must not move the caret.
    await new Promise<void>((resolve) => requestAnimationFrame(() => resolve()));
    type('bout it');
    expect(box.value).toBe('ask @alice about it');
    fireEvent.keyDown(box, { key: 'Enter' });
    expect(s.ofType('send').at(-1)).toMatchObject({ room: 'g', body: 'ask @alice about it', thread: 5 });
    store.stop();
  });
});
