import { cleanup, fireEvent, render } from '@testing-library/preact';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Timeline } from '../src/components/Timeline';
import type { RoomInfo, RoomRole } from '../src/protocol';
import { ChatStore, type RoomView } from '../src/store';
import { alice, bob, FakeSocket, msg, session } from './fake';

afterEach(cleanup);
beforeEach(() => localStorage.clear());

function setup(myRole: RoomRole) {
  const store = new ChatStore({
    session: session(bob),
    url: 'ws://t',
    createSocket: (u) => new FakeSocket(u),
    isActive: () => false,
  });
  const info: RoomInfo = { id: 'g', name: 'general', topic: '', visibility: 'public', kind: 'room', member_count: 2, my_role: myRole };
  store.applySummary([{ room: info, last_seq: 0, read_seq: 0, unread: 0, mentions: 0 }]);
  const q = msg('g', 1, 'why <b>not</b>?', alice, {
    content: { kind: 'message', body: 'why <b>not</b>?', question: true },
    state: { answer: 2, reactions: { '👍': ['u-alice', 'u-bob'], '🎉': ['u-alice'] } },
  });
  store.onStreamEvent(q);
  store.onStreamEvent(msg('g', 2, 'because', bob, { state: { edited_at: 1 } }));
  store.onStreamEvent(msg('g', 3, 'gone', alice, { content: { kind: 'message', body: '' }, state: { deleted: true } }));
  const view: RoomView = { room: 'g', status: 'ready', dividerSeq: null, loadingOlder: false, loadingNewer: false };
  const ui = render(<Timeline store={store} room={store.rooms.value.get('g')!} view={view} pending={[]} />);
  const items = [...ui.container.querySelectorAll<HTMLElement>('[data-testid="message"]')];
  return { store, ui, items };
}

describe('message actions and state in the timeline', () => {
  it('shows question, answered, answer, edited and deleted states as text', () => {
    const { items } = setup('member');
    expect(items).toHaveLength(3);
    const [q, a, d] = items as [HTMLElement, HTMLElement, HTMLElement];
    expect(q.querySelector('b')).toBeNull();
    expect(q.querySelector('[data-testid="message-text"]')!.textContent).toBe('why <b>not</b>?');
    expect(q.querySelector('[data-testid="question-badge"]')!.textContent).toBe('Question');
    expect(q.querySelector('[data-testid="answered-badge"]')!.textContent).toBe('Answered');
    expect(a.querySelector('[data-testid="answer-badge"]')).not.toBeNull();
    expect(a.querySelector('[data-testid="edited-mark"]')).not.toBeNull();
    expect(d.querySelector('[data-testid="message-text"]')!.textContent).toBe('(message deleted)');
    expect(d.querySelector('.msg-actions')).toBeNull();
  });

  it('reaction counts, with mine pressed', () => {
    const { items } = setup('member');
    const chips = [...items[0]!.querySelectorAll<HTMLButtonElement>('[data-testid="reaction"]')];
    expect(chips.map((c) => [c.dataset.emoji, c.textContent, c.getAttribute('aria-pressed')])).toEqual([
      ['👍', '👍2', 'true'],
      ['🎉', '🎉1', 'false'],
    ]);
  });

  it('a member may edit and delete only their own message; an owner deletes any', () => {
    const member = setup('member');
    const names = (el: HTMLElement) => [...el.querySelectorAll('.msg-actions button')].map((b) => b.textContent);
    expect(names(member.items[0]!)).toEqual(['☺+', 'Reply']);
    expect(names(member.items[1]!)).toEqual(['☺+', 'Reply', 'Edit', 'Delete']);
    cleanup();
    const owner = setup('owner');
    expect(names(owner.items[0]!)).toEqual(['☺+', 'Reply', 'Delete']);
  });

  it('the picker offers the eight reactions, mine pressed', () => {
    const { ui, items } = setup('member');
    fireEvent.click(items[0]!.querySelector('[data-action="react"]')!);
    const picker = ui.getByRole('group', { name: 'Pick a reaction' });
    const choices = [...picker.querySelectorAll('button')];
    expect(choices.map((b) => b.textContent)).toEqual(['👍', '❤️', '😄', '🎉', '😮', '😢', '🙏', '✅']);
    expect(choices[0]!.getAttribute('aria-pressed')).toBe('true');
  });

  it('the inline editor: Escape cancels', () => {
    const { ui, items } = setup('member');
    fireEvent.click(items[1]!.querySelector('[data-action="edit"]')!);
    const box = ui.getByLabelText('Edit message') as HTMLTextAreaElement;
    expect(box.value).toBe('because');
    fireEvent.keyDown(box, { key: 'Escape' });
    expect(ui.queryByLabelText('Edit message')).toBeNull();
  });
});
