import { cleanup, render } from '@testing-library/preact';
import { afterEach, describe, expect, it } from 'vitest';
import { MessageText } from '../src/components/MessageText';
import { Sidebar } from '../src/components/Sidebar';
import { Home } from '../src/components/Home';
import type { RoomInfo } from '../src/protocol';
import { ChatStore } from '../src/store';
import { alice, FakeSocket, msg, session } from './fake';

afterEach(cleanup);

describe('message text', () => {
  it('renders markup as text, never as HTML', () => {
    const body = '<img src=x onerror="alert(1)"> <b>bold</b>';
    const { container } = render(<MessageText body={body} />);
    expect(container.querySelector('img')).toBeNull();
    expect(container.querySelector('b')).toBeNull();
    expect(container.textContent).toBe(body);
  });

  it('makes http(s) links clickable with rel="noopener noreferrer"', () => {
    const { container } = render(<MessageText body="docs at https://example.com/x, thanks" />);
    const a = container.querySelector('a')!;
    expect(a.getAttribute('href')).toBe('https://example.com/x');
    expect(a.getAttribute('rel')).toBe('noopener noreferrer');
    expect(a.getAttribute('target')).toBe('_blank');
    expect(container.textContent).toBe('docs at https://example.com/x, thanks');
  });
});

describe('room list', () => {
  it('shows unread counts, a mention mark, and a DM under the other person’s name', () => {
    const store = new ChatStore({ session: session(), url: 'ws://t', createSocket: (u) => new FakeSocket(u) });
    const room: RoomInfo = { id: 'g', name: 'general', topic: '', visibility: 'public', kind: 'room', member_count: 3, my_role: 'member' };
    const dm: RoomInfo = { id: 'd', name: 'x', topic: '', visibility: 'private', kind: 'dm', member_count: 2, my_role: 'member', dm_peer: alice };
    store.applySummary([
      { room, last_seq: 10, read_seq: 7, unread: 3, mentions: 1, latest: msg('g', 10, 'hi') },
      { room: dm, last_seq: 2, read_seq: 2, unread: 0, mentions: 0 },
    ]);
    const { getByRole, getAllByRole } = render(
      <Sidebar store={store} activeRoom={null} onBrowse={() => {}} onCreate={() => {}} onNewDm={() => {}} onLogout={() => {}} />,
    );
    const links = getAllByRole('link').filter((a) => a.classList.contains('room-item'));
    // The spoken name is the content without the aria-hidden badges; no
    // aria-label, so it always contains the visible name.
    const spoken = (a: HTMLElement) => {
      const c = a.cloneNode(true) as HTMLElement;
      c.querySelectorAll('[aria-hidden="true"]').forEach((n) => n.remove());
      return c.textContent;
    };
    expect(links.map((a) => a.getAttribute('aria-label'))).toEqual([null, null]);
    expect(links.map(spoken)).toEqual([
      'Room general, 3 unread, 1 mentioning you',
      'Direct message with Alice Smith, offline',
    ]);
    expect(getByRole('navigation', { name: 'Conversations' })).toBeTruthy();
    expect(links[0]!.querySelector('[data-testid="mention-badge"]')).not.toBeNull();
    expect(links[0]!.querySelector('[data-testid="unread-badge"]')!.textContent).toBe('3');
  });
});

describe('home', () => {
  it('puts rooms where I was mentioned before the other rooms with news', () => {
    const store = new ChatStore({ session: session(), url: 'ws://t', createSocket: (u) => new FakeSocket(u) });
    const room = (id: string, name: string): RoomInfo => ({
      id,
      name,
      topic: '',
      visibility: 'public',
      kind: 'room',
      member_count: 3,
      my_role: 'member',
    });
    // "busy" changed last, "quiet" mentions me: quiet comes first.
    store.applySummary([
      { room: room('b', 'busy'), last_seq: 10, read_seq: 5, unread: 5, mentions: 0, latest: msg('b', 10, 'later', alice, { pos: 20 }) },
      { room: room('q', 'quiet'), last_seq: 3, read_seq: 1, unread: 2, mentions: 1, latest: msg('q', 3, '@bob look', alice, { pos: 9 }) },
      { room: room('r', 'read'), last_seq: 4, read_seq: 4, unread: 0, mentions: 0 },
    ]);
    store.loaded.value = true;
    const { getByTestId, getAllByRole } = render(<Home store={store} onCreateRoom={() => undefined} />);
    const headings = getAllByRole('heading', { level: 2 }).map((h) => h.textContent);
    expect(headings).toEqual(['You were mentioned', 'While you were away']);
    expect(getByTestId('away-mentioned').textContent).toContain('quiet');
    expect(getByTestId('away-rooms').textContent).toContain('busy');
    expect(getByTestId('away-rooms').textContent).not.toContain('read');
  });
});

describe('bidi isolation (issue 17)', () => {
  it('renders room names, a DM peer’s name, my name and link text inside <bdi>', () => {
    const store = new ChatStore({ session: session(), url: 'ws://t', createSocket: (u) => new FakeSocket(u) });
    const spoof = 'invoice\u202Efdp.exe';
    const room: RoomInfo = { id: 'g', name: spoof, topic: '', visibility: 'public', kind: 'room', member_count: 3, my_role: 'member' };
    const dm: RoomInfo = { id: 'd', name: 'x', topic: '', visibility: 'private', kind: 'dm', member_count: 2, my_role: 'member', dm_peer: alice };
    store.applySummary([
      { room, last_seq: 1, read_seq: 1, unread: 0, mentions: 0 },
      { room: dm, last_seq: 2, read_seq: 2, unread: 0, mentions: 0 },
    ]);
    const { container } = render(
      <Sidebar store={store} activeRoom={null} onBrowse={() => {}} onCreate={() => {}} onNewDm={() => {}} onLogout={() => {}} />,
    );
    const names = [...container.querySelectorAll('.room-name')].map((n) => [n.tagName, n.textContent]);
    expect(names).toContainEqual(['BDI', spoof]);
    expect(names).toContainEqual(['BDI', 'Alice Smith']);
    expect(names.every(([tag]) => tag === 'BDI')).toBe(true);
    expect(container.querySelector('.me-name')!.tagName).toBe('BDI');

    cleanup();
    const link = render(<MessageText body={`see https://example.com/${'\u202E'}gpj.exe`} />).container.querySelector('a')!;
    expect(link.firstElementChild?.tagName).toBe('BDI');
    expect(link.firstElementChild?.textContent).toBe('https://example.com/\u202Egpj.exe');
  });
});
