import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Connection } from '../src/connection';
import { deviceId, loadSession, saveSession } from '../src/storage';
import { FakeSocket, session } from './fake';

beforeEach(() => {
  localStorage.clear();
  vi.useFakeTimers();
});
afterEach(() => vi.useRealTimers());

describe('session storage', () => {
  it('keeps a session until it expires', () => {
    const s = session();
    saveSession(s);
    expect(loadSession()?.token).toBe(s.token);
    saveSession({ ...s, expires_at: Date.now() - 1 });
    expect(loadSession()).toBeNull();
    expect(localStorage.getItem('townhall.session')).toBeNull();
  });

  it('keeps one device id per browser', () => {
    expect(deviceId()).toBe(deviceId());
  });
});

describe('connection', () => {
  it('gives up, without retrying, when the server refuses the token', () => {
    const sockets: FakeSocket[] = [];
    const lost: string[] = [];
    const states: string[] = [];
    const c = new Connection({
      url: 'ws://t',
      token: 'expired',
      device: 'd',
      resume: () => undefined,
      onFrame: () => {},
      onState: (s) => states.push(s),
      onReady: () => {},
      onAuthLost: (w) => lost.push(w),
      createSocket: (u) => {
        const s = new FakeSocket(u);
        sockets.push(s);
        return s;
      },
    });
    c.start();
    sockets[0]!.open();
    sockets[0]!.push({ type: 'error', code: 'bad_token', message: 'token expired' });
    sockets[0]!.drop(4001);
    vi.advanceTimersByTime(60_000);
    expect(lost).toEqual(['bad_token']);
    expect(sockets).toHaveLength(1);
    expect(states).not.toContain('reconnecting');
  });

  it('a request made while disconnected goes out when the link is back', async () => {
    const sockets: FakeSocket[] = [];
    const c = new Connection({
      url: 'ws://t',
      token: 't',
      device: 'd',
      resume: () => undefined,
      onFrame: () => {},
      onState: () => {},
      onReady: () => {},
      onAuthLost: () => {},
      random: () => 0,
      createSocket: (u) => {
        const s = new FakeSocket(u);
        sockets.push(s);
        return s;
      },
    });
    c.start();
    const reply = c.request({ type: 'summary' });
    expect(sockets[0]!.ofType('summary')).toHaveLength(0);
    sockets[0]!.open();
    sockets[0]!.push({ type: 'welcome', version: 1, user: session().user, resume_from: 0 });
    const sent = sockets[0]!.ofType('summary');
    expect(sent).toHaveLength(1);
    sockets[0]!.push({ type: 'summary', req_id: sent[0]!.req_id!, rooms: [] });
    await expect(reply).resolves.toMatchObject({ type: 'summary', rooms: [] });
    c.stop();
  });
});
