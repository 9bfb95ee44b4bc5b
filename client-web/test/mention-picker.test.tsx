import { cleanup, fireEvent, render } from '@testing-library/preact';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Composer } from '../src/components/Composer';
import type { RoomInfo, UserInfo } from '../src/protocol';
import { alice, bob, connectedStore } from './fake';
import { typeKeys } from './keys';

afterEach(cleanup);
beforeEach(() => localStorage.clear());

const anna: UserInfo = { id: 'u-anna', username: 'anna', display_name: 'Anna Berg', role: 'staff' };

/** A composer for a room of its own (drafts are kept per room, module-wide). */
function setup(id: string) {
  const room: RoomInfo = { id, name: id, topic: '', visibility: 'public', kind: 'room', member_count: 3, my_role: 'member' };
  const { store, s } = connectedStore([room]);
  // The room's people are known: the picker asks nobody.
  store.members.value = new Map([[id, [alice, anna, bob].map((user) => ({ user, role: 'member' as const }))]]);
  store.users.value = [alice, anna, bob];
  const ui = render(<Composer store={store} roomId={id} label={`Message ${id}`} onSent={() => {}} />);
  const box = ui.getByTestId('composer') as HTMLTextAreaElement;
  expect(box.value).toBe('');
  return { store, s, ui, box };
}


/** The usernames the list offers, in order. */
const names = (root: ParentNode) => [...root.querySelectorAll('[data-testid="mention-option"] .muted')].map((e) => e.textContent);

/** Runs whatever waits for the next frame (a fast typist's next key can come
 * before it, so anything deferred to it must not touch the text or the caret). */
const nextFrame = () => new Promise<void>((resolve) => requestAnimationFrame(() => resolve()));

describe('the @ autocomplete of the composer', () => {
  it('Enter inserts the name with the caret after it at once: keys typed right away follow it', async () => {
    const { box, ui, store } = setup('enter');
    box.focus();
    typeKeys(box, 'thanks @a');
    expect(names(ui.container)).toEqual(['@alice', '@anna']);
    fireEvent.keyDown(box, { key: 'Enter' });
    expect(ui.queryByTestId('mention-list')).toBeNull();
    expect(box.value).toBe('thanks @alice ');
    expect([box.selectionStart, box.selectionEnd]).toEqual([14, 14]);
    // The first key lands before the next frame (CI: "thanks @bob or the reviewf").
    typeKeys(box, 'f');
    await nextFrame();
    typeKeys(box, 'or the review');
    expect(box.value).toBe('thanks @alice for the review');
    expect(box.selectionStart).toBe(box.value.length);
    expect(document.activeElement).toBe(box);
    store.stop();
  });

  it('choosing with the mouse in the middle of the text puts the caret right after the name', async () => {
    const { box, ui, store } = setup('mouse');
    box.focus();
    typeKeys(box, 'thanks  for it');
    box.setSelectionRange(7, 7);
    typeKeys(box, '@an');
    expect(box.value).toBe('thanks @an for it');
    const option = ui.getAllByTestId('mention-option').find((o) => o.textContent?.includes('@anna'))!;
    const mousedown = fireEvent.mouseDown(option);
    // The textarea keeps the focus: the mousedown's default is prevented.
    expect(mousedown).toBe(false);
    expect(box.value).toBe('thanks @anna for it');
    expect([box.selectionStart, box.selectionEnd]).toEqual([13, 13]);
    typeKeys(box, 'a');
    await nextFrame();
    typeKeys(box, 'nd bob ');
    expect(box.value).toBe('thanks @anna and bob for it');
    expect(box.selectionStart).toBe(21);
    store.stop();
  });

  it('@room is offered and inserted the same way', async () => {
    const { box, ui, store, s } = setup('room');
    box.focus();
    typeKeys(box, '@ro');
    expect(names(ui.container)).toEqual(['@room']);
    fireEvent.keyDown(box, { key: 'Tab' });
    expect(box.value).toBe('@room ');
    typeKeys(box, 'l');
    await nextFrame();
    typeKeys(box, 'unch');
    expect(box.value).toBe('@room lunch');
    fireEvent.keyDown(box, { key: 'Enter' });
    expect(s.ofType('send').at(-1)).toMatchObject({ room: 'room', body: '@room lunch' });
    store.stop();
  });
});
