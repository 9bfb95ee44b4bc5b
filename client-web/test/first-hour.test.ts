import { describe, expect, it } from 'vitest';
import { belowLabel, newBelow } from '../src/catchup';
import { keyAction, stepRoom } from '../src/keys';
import { applyMention, mentionQuery, suggest } from '../src/mention';
import type { ChatEvent, UserInfo } from '../src/protocol';
import { moveIndex } from '../src/roving';
import { matchScore, switcherItems, type SwitchItem } from '../src/switcher';
import { plural } from '../src/text';
import { resolve } from '../src/theme';
import { notifyReason, type NotifyContext } from '../src/notify';

const user = (id: string, username: string, display_name: string): UserInfo => ({ id, username, display_name, role: 'staff' });

describe('@ autocomplete', () => {
  it('finds the name being typed before the caret, not inside words or e-mail addresses', () => {
    expect(mentionQuery('hi @bo', 6)).toEqual({ start: 3, query: 'bo' });
    expect(mentionQuery('@', 1)).toEqual({ start: 0, query: '' });
    expect(mentionQuery('mail a@bo', 9)).toBeNull();
    expect(mentionQuery('hi @bob there', 13)).toBeNull();
    expect(mentionQuery('hi @bob there', 7)).toEqual({ start: 3, query: 'bob' });
  });

  it('puts the room\'s people first, me last, and offers @room', () => {
    const me = user('1', 'alice', 'Alice Martin');
    const bob = user('2', 'bob', 'Bob Chen');
    const bea = user('3', 'bea', 'Bea Brown');
    const rob = user('4', 'rob', 'Robert Bolt');
    const list = suggest('b', [me, bob], [me, bob, bea, rob], '1');
    expect(list.map((u) => u.username)).toEqual(['bob', 'bea', 'rob']);
    expect(suggest('', [me, bob], [me, bea], '1').map((u) => u.username)).toEqual(['bob', 'bea', 'room', 'alice']);
    expect(suggest('ro', [], [rob], '1').map((u) => u.username)).toEqual(['rob', 'room']);
  });

  it('replaces the typed part with the full name and one space', () => {
    expect(applyMention('hi @bo', 3, 6, 'bob')).toEqual({ text: 'hi @bob ', caret: 8 });
    expect(applyMention('hi @bo there', 3, 6, 'bob')).toEqual({ text: 'hi @bob there', caret: 8 });
  });
});

describe('keyboard shortcuts', () => {
  const key = (k: string, mods: Partial<KeyboardEvent> = {}) => ({
    key: k,
    ctrlKey: false,
    metaKey: false,
    altKey: false,
    shiftKey: false,
    isComposing: false,
    defaultPrevented: false,
    ...mods,
  });
  const textarea = { tagName: 'TEXTAREA' } as Element;
  const li = { tagName: 'LI' } as Element;

  it('maps keys to actions; "?" only outside text fields', () => {
    expect(keyAction(key('k', { ctrlKey: true }), textarea)).toEqual({ do: 'switcher' });
    expect(keyAction(key('k', { metaKey: true }), null)).toEqual({ do: 'switcher' });
    expect(keyAction(key('ArrowDown', { altKey: true }), textarea)).toEqual({ do: 'room', step: 1, unread: false });
    expect(keyAction(key('ArrowUp', { altKey: true, shiftKey: true }), li)).toEqual({ do: 'room', step: -1, unread: true });
    expect(keyAction(key('?', { shiftKey: true }), li)).toEqual({ do: 'help' });
    expect(keyAction(key('?', { shiftKey: true }), textarea)).toBeNull();
    expect(keyAction(key('Escape'), li)).toEqual({ do: 'escape' });
    expect(keyAction(key('Escape', { defaultPrevented: true }), li)).toBeNull();
    expect(keyAction(key('k', { ctrlKey: true, isComposing: true }), li)).toBeNull();
  });

  it('steps through rooms with wrap-around, and to the next unread one', () => {
    const ids = ['a', 'b', 'c', 'd'];
    expect(stepRoom(ids, 'b', 1)).toBe('c');
    expect(stepRoom(ids, 'd', 1)).toBe('a');
    expect(stepRoom(ids, 'a', -1)).toBe('d');
    expect(stepRoom(ids, null, 1)).toBe('a');
    expect(stepRoom(ids, null, -1)).toBe('d');
    const unread = (id: string) => id === 'a' || id === 'c';
    expect(stepRoom(ids, 'c', 1, unread)).toBe('a');
    expect(stepRoom(ids, 'a', -1, unread)).toBe('c');
    expect(stepRoom(ids, 'b', 1, () => false)).toBeNull();
    expect(stepRoom([], null, 1)).toBeNull();
  });

  it('moves the timeline focus within bounds', () => {
    expect(moveIndex('ArrowUp', 0, 3)).toBe(0);
    expect(moveIndex('ArrowDown', 2, 3)).toBe(2);
    expect(moveIndex('ArrowDown', 0, 3)).toBe(1);
    expect(moveIndex('Home', 2, 3)).toBe(0);
    expect(moveIndex('End', 0, 3)).toBe(2);
    expect(moveIndex('x', 0, 3)).toBeNull();
    expect(moveIndex('ArrowUp', 0, 0)).toBeNull();
  });
});

describe('quick switcher', () => {
  const item = (key: string, kind: SwitchItem['kind'], label: string, username?: string): SwitchItem => ({
    key,
    kind,
    label,
    detail: username ? `@${username}` : '',
    unread: 0,
    mentions: 0,
    ...(username ? { username } : {}),
  });

  it('ranks prefix matches over word and substring matches', () => {
    expect(matchScore('des', 'design')).toBe(3);
    expect(matchScore('rev', 'code review')).toBe(2);
    expect(matchScore('sig', 'design')).toBe(1);
    expect(matchScore('zz', 'design')).toBe(0);
    expect(matchScore('  ', 'design')).toBe(1);
  });

  it('lists conversations, then people without one; a DM peer shows once', () => {
    const rooms = [item('room:1', 'room', 'random'), item('room:2', 'dm', 'Dora Quist', 'dora'), item('room:3', 'room', 'design')];
    const people = [item('user:dora', 'person', 'Dora Quist', 'dora'), item('user:dan', 'person', 'Dan Smith', 'dan')];
    expect(switcherItems('', rooms, people).map((i) => i.key)).toEqual(['room:1', 'room:2', 'room:3', 'user:dan']);
    expect(switcherItems('d', rooms, people).map((i) => i.key)).toEqual(['room:2', 'room:3', 'user:dan', 'room:1']);
  });
});

describe('catching up', () => {
  const ev = (seq: number, sender: string, body: string, extra: Partial<ChatEvent> = {}): ChatEvent =>
    ({
      seq,
      pos: seq,
      room: 'r',
      ts: 0,
      sender: { id: sender, username: sender, display_name: sender, role: 'staff' },
      content: { kind: 'message', body },
      ...extra,
    }) as ChatEvent;

  it('counts others\' messages after what I saw, and the ones mentioning me', () => {
    const events = [ev(1, 'bob', 'old'), ev(2, 'me', 'mine'), ev(3, 'bob', 'hi @alice'), ev(4, 'bob', 'more'), ev(5, 'bob', '@room')];
    expect(newBelow(events, 1, 'me', 'alice')).toEqual({ count: 3, mentions: 2, firstSeq: 3 });
    expect(newBelow(events, 5, 'me', 'alice')).toEqual({ count: 0, mentions: 0, firstSeq: null });
  });

  it('says it in words, singular or plural', () => {
    expect(belowLabel({ count: 1, mentions: 0, firstSeq: 1 })).toBe('1 new message below');
    expect(belowLabel({ count: 3, mentions: 1, firstSeq: 1 })).toBe('3 new messages below · 1 mentions you');
    expect(belowLabel({ count: 3, mentions: 2, firstSeq: 1 })).toBe('3 new messages below · 2 mention you');
    expect(plural(1, 'member')).toBe('1 member');
    expect(plural(2, 'member')).toBe('2 members');
    expect(plural(2, 'reply', 'replies')).toBe('2 replies');
  });
});

describe('theme', () => {
  it('follows the system unless a theme was chosen', () => {
    expect(resolve('system', true)).toBe('dark');
    expect(resolve('system', false)).toBe('light');
    expect(resolve('light', true)).toBe('light');
    expect(resolve('dark', false)).toBe('dark');
  });
});

describe('desktop notifications', () => {
  const ev = (room: string, sender: string, content: ChatEvent['content']): ChatEvent =>
    ({ seq: 1, pos: 1, room, ts: 0, sender: { id: sender, username: sender, display_name: sender, role: 'staff' }, content }) as ChatEvent;
  const ctx = (over: Partial<NotifyContext> = {}): NotifyContext => ({
    meId: 'me',
    myName: 'alice',
    isDm: (r) => r === 'dm',
    level: () => 'mentions',
    viewRoom: 'general',
    active: true,
    ...over,
  });
  const msg = (body: string) => ({ kind: 'message', body }) as const;

  it('notifies DMs, mentions and broadcasts asking for acknowledgement; not plain messages by default', () => {
    expect(notifyReason(ev('dm', 'bob', msg('hi')), ctx())).toBe('dm');
    expect(notifyReason(ev('other', 'bob', msg('@alice look')), ctx())).toBe('mention');
    expect(notifyReason(ev('other', 'bob', msg('@room look')), ctx())).toBe('mention');
    expect(notifyReason(ev('other', 'bob', msg('hello')), ctx())).toBeNull();
    expect(notifyReason(ev('other', 'bob', { kind: 'broadcast', body: 'b', broadcast: 'x', ack_requested: true }), ctx({ level: () => 'none' }))).toBe('broadcast');
    expect(notifyReason(ev('other', 'bob', { kind: 'broadcast', body: 'b', broadcast: 'x' }), ctx())).toBeNull();
    expect(notifyReason(ev('other', 'me', msg('@alice me')), ctx())).toBeNull();
  });

  it('never for the room in view in an active tab; follows the room level', () => {
    expect(notifyReason(ev('general', 'bob', msg('@alice')), ctx())).toBeNull();
    expect(notifyReason(ev('general', 'bob', msg('@alice')), ctx({ active: false }))).toBe('mention');
    expect(notifyReason(ev('other', 'bob', msg('hello')), ctx({ level: () => 'all' }))).toBe('message');
    expect(notifyReason(ev('other', 'bob', msg('@alice')), ctx({ level: () => 'none' }))).toBeNull();
    expect(notifyReason(ev('dm', 'bob', msg('hi')), ctx({ level: () => 'none' }))).toBeNull();
  });
});
