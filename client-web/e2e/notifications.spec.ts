import { expect, test, type Page } from '@playwright/test';
import { randomUUID } from 'node:crypto';
import type { ServerFrame } from '../src/protocol';
import { join } from 'node:path';
import { SCREENSHOTS, TownhallServer, type WsClient } from './server';
import { logIn, openRoom } from './ui';

// Desktop notifications (src/notify.ts) with a recording stand-in for the
// browser's Notification API: when permission is offered, what notifies,
// never the room in view, and the per-room level.

let server: TownhallServer;
let bob: WsClient;
let general: string;
let other: string;

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('alice', 'Alice Martin');
  await server.createUser('bob', 'Bob Chen');
  await server.createUser('lena', 'Lena Leader', undefined, 'leader');
  bob = await server.client('bob');
  general = await bob.createRoom('general');
  other = await bob.createRoom('other');
  const alice = await server.client('alice');
  await alice.request({ type: 'join', room: general });
  await alice.request({ type: 'join', room: other });
  alice.close();
});

test.afterAll(async () => {
  bob?.close();
  await server?.dispose();
});

type Note = { title: string; body: string };
const notes = (page: Page) => page.evaluate(() => (window as unknown as { __notes: Note[] }).__notes);

test('offered after the first DM, never on load; DMs and mentions notify, the room in view does not; per-room level', async ({ page }) => {
  await page.addInitScript(() => {
    const w = window as unknown as { __notes: Note[]; __perm: string };
    w.__notes = [];
    w.__perm = 'default';
    class FakeNotification {
      onclick: (() => void) | null = null;
      constructor(title: string, opts: { body?: string } = {}) {
        w.__notes.push({ title, body: opts.body ?? '' });
      }
      close() {}
      static get permission() {
        return w.__perm;
      }
      static async requestPermission() {
        w.__perm = 'granted';
        return 'granted';
      }
    }
    (window as unknown as { Notification: unknown }).Notification = FakeNotification;
  });
  await logIn(page, server, 'alice');
  await openRoom(page, 'general');
  await expect(page.getByTestId('notify-offer')).toHaveCount(0);

  // A plain message elsewhere does not call for notifications; a DM does.
  await bob.send(other, 'just chatting');
  const dm = await bob.request<Extract<ServerFrame, { type: 'room' }>>({ type: 'open_dm', user: 'alice' });
  await bob.send(dm.room.id, 'hi Alice, a quick question');
  const offer = page.getByTestId('notify-offer');
  await expect(offer).toContainText('Get notified of DMs and mentions');
  await page.screenshot({ path: join(SCREENSHOTS, 'notifications-offer.png') });
  await offer.getByRole('button', { name: 'Turn on notifications' }).click();
  await expect(offer).toHaveCount(0);
  expect(await notes(page)).toEqual([]);

  await bob.send(dm.room.id, 'are you there?');
  await expect.poll(() => notes(page)).toEqual([{ title: 'New direct message · Bob Chen', body: 'Bob Chen: are you there?' }]);
  await bob.send(other, '@alice please review');
  await expect.poll(async () => (await notes(page)).length).toBe(2);
  expect((await notes(page))[1]).toEqual({ title: 'You were mentioned · other', body: 'Bob Chen: @alice please review' });
  // The room on screen in a focused tab: no notification, even for a mention.
  await bob.send(general, '@alice in the room you are reading');
  await expect(page.getByTestId('message-text').filter({ hasText: 'in the room you are reading' })).toBeVisible();
  await bob.send(other, 'plain message elsewhere');
  await bob.send(dm.room.id, 'marker');
  await expect.poll(async () => (await notes(page)).length).toBe(3);
  expect((await notes(page)).map((n) => n.body)).toEqual(['Bob Chen: are you there?', 'Bob Chen: @alice please review', 'Bob Chen: marker']);

  // "other" set to every message, then to nothing.
  await openRoom(page, 'other');
  await page.getByTestId('room-notify').selectOption('all');
  await openRoom(page, 'general');
  await bob.send(other, 'now every message counts');
  await expect.poll(async () => (await notes(page)).length).toBe(4);
  expect((await notes(page))[3]!.title).toBe('New message · other');
  await openRoom(page, 'other');
  await page.getByTestId('room-notify').selectOption('none');
  await openRoom(page, 'general');
  await bob.send(other, '@alice muted room');
  await bob.send(dm.room.id, 'second marker');
  await expect.poll(async () => (await notes(page)).length).toBe(5);
  expect((await notes(page))[4]!.body).toBe('Bob Chen: second marker');
  // The level is kept across a reload.
  await page.reload();
  await openRoom(page, 'other');
  await expect(page.getByTestId('room-notify')).toHaveValue('none');
});

test('a broadcast asking for acknowledgement notifies, one that does not ask does not, and a reminder notifies again', async ({ page }) => {
  await page.addInitScript(() => {
    const w = window as unknown as { __notes: Note[] };
    w.__notes = [];
    class FakeNotification {
      onclick: (() => void) | null = null;
      constructor(title: string, opts: { body?: string } = {}) {
        w.__notes.push({ title, body: opts.body ?? '' });
      }
      close() {}
      static get permission() {
        return 'granted';
      }
      static async requestPermission() {
        return 'granted';
      }
    }
    (window as unknown as { Notification: unknown }).Notification = FakeNotification;
  });
  const lena = await server.client('lena');
  // alice reads "general"; the broadcasts go to "other", which she is in.
  await lena.request({ type: 'join', room: other });
  await logIn(page, server, 'alice');
  await openRoom(page, 'general');

  const broadcast = (body: string, ack: boolean) =>
    lena.request<Extract<ServerFrame, { type: 'broadcast_posted' }>>({
      type: 'broadcast',
      client_id: randomUUID(),
      body,
      rooms: [other],
      ack_requested: ack,
    });
  // Not asking for acknowledgement, in a room at the default level: no notification
  // (src/notify.ts: only a broadcast that asks gets through as such).
  await broadcast('FYI: the canteen opens at 8.', false);
  const asked = await broadcast('Please read the new travel policy.', true);
  await expect.poll(async () => (await notes(page)).length).toBe(1);
  expect((await notes(page))[0]).toEqual({
    title: 'Broadcast: please confirm you have read it · other',
    body: 'Lena Leader: Please read the new travel policy.',
  });

  // The leader reminds those who have not acknowledged: alice is notified again.
  const r = await lena.request<Extract<ServerFrame, { type: 'broadcast_reminded' }>>({ type: 'broadcast_remind', broadcast: asked.broadcast });
  expect(r.reminded).toBeGreaterThanOrEqual(1);
  await expect.poll(async () => (await notes(page)).length).toBe(2);
  expect((await notes(page))[1]).toEqual({
    title: 'Reminder: please confirm you have read it · other',
    body: 'Lena Leader: Please read the new travel policy.',
  });
  await expect(page.getByTestId('pinned-reminded')).toHaveCount(0); // pinned in "other", not in "general"
  await openRoom(page, 'other');
  await expect(page.getByTestId('pinned-reminded')).toContainText('Reminder from Lena Leader');
  lena.close();
});
