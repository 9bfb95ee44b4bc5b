import { expect, test, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerFrame } from '../src/protocol';
import { SCREENSHOTS, TownhallServer, type WsClient } from './server';
import { logIn, openRoom } from './ui';

// The keyboard (src/keys.ts, src/roving.ts): focus on opening a room, the
// timeline as one Tab stop, the quick switcher, room stepping, Escape, "?".

let server: TownhallServer;
let bob: WsClient;
const rooms: Record<string, string> = {};

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('alice', 'Alice Martin');
  await server.createUser('bob', 'Bob Chen');
  await server.createUser('dora', 'Dora Quist');
  mkdirSync(SCREENSHOTS, { recursive: true });
  const alice = await server.client('alice');
  bob = await server.client('bob');
  for (const name of ['design', 'ops', 'random']) {
    rooms[name] = await alice.createRoom(name);
    await bob.request({ type: 'join', room: rooms[name]! });
  }
  for (const text of ['first message', 'second message', 'third message']) await bob.send(rooms.design!, text);
  // Alice reads design and random now; ops stays unread.
  for (const name of ['design', 'random']) {
    const hist = await alice.request<Extract<ServerFrame, { type: 'history' }>>({ type: 'history', room: rooms[name]!, limit: 50 });
    const last = hist.events[hist.events.length - 1]?.seq ?? 1;
    await alice.request({ type: 'mark_read', room: rooms[name]!, seq: last });
  }
  await bob.send(rooms.ops!, 'ops needs you');
  alice.close();
});

test.afterAll(async () => {
  bob?.close();
  await server?.dispose();
});

const active = (page: Page) =>
  page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    return { seq: el?.closest('li[data-seq]')?.getAttribute('data-seq') ?? null, tag: el?.tagName ?? '', action: el?.dataset.action ?? '', inTimeline: !!el?.closest('.timeline') };
  });

test('opening a room focuses the composer; the timeline is one Tab stop with arrow keys and Enter for actions', async ({ page }) => {
  await logIn(page, server, 'alice');
  await openRoom(page, 'design');
  await expect(page.getByTestId('composer')).toBeFocused();
  await expect(page.getByTestId('message-text').filter({ hasText: 'third message' })).toBeVisible();

  // Shift+Tab from the composer reaches the newest message: one stop for the whole timeline.
  for (let i = 0; i < 10; i++) {
    await page.keyboard.press('Shift+Tab');
    if ((await active(page)).seq !== null) break;
  }
  const newest = await active(page);
  expect(newest.tag).toBe('LI');
  const third = page.locator('.timeline li[data-seq]').last();
  await expect(third).toBeFocused();
  await expect(third).toContainText('third message');
  // One more Shift+Tab leaves the timeline: no stop on each message's buttons.
  await page.keyboard.press('Shift+Tab');
  expect((await active(page)).inTimeline).toBe(false);
  await page.keyboard.press('Tab');
  await expect(third).toBeFocused();

  // ↑ moves to the previous message; End to the last; Home to the first.
  await page.keyboard.press('ArrowUp');
  const second = page.getByTestId('message').filter({ hasText: 'second message' });
  await expect(second).toBeFocused();
  // Enter opens its actions: the first action has the focus, Tab goes to the next one inside.
  await page.keyboard.press('Enter');
  await expect(second.getByRole('button', { name: 'Add reaction' })).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(second.getByRole('button', { name: 'Reply', exact: true })).toBeFocused();
  // Escape goes back to the message.
  await page.keyboard.press('Escape');
  await expect(second).toBeFocused();
  await page.keyboard.press('Home');
  await expect(page.locator('.timeline li[data-seq]').first()).toBeFocused();
  await page.keyboard.press('End');
  await expect(third).toBeFocused();

  // "?" opens the shortcut list; Escape closes it and focus comes back.
  await page.keyboard.press('?');
  const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await expect(help).toBeVisible();
  await expect(help).toContainText('Jump to a room or person');
  await page.keyboard.press('Escape');
  await expect(help).toHaveCount(0);
  await expect(third).toBeFocused();
  // In the composer, "?" is just a character.
  await page.getByTestId('composer').focus();
  await page.keyboard.type('why?');
  await expect(help).toHaveCount(0);
  await expect(page.getByTestId('composer')).toHaveValue('why?');
});

test('Ctrl+K switches to a room or a person; Alt+arrows step through rooms and unread rooms', async ({ page }) => {
  await logIn(page, server, 'alice');
  await openRoom(page, 'design');
  await page.keyboard.press('Control+k');
  const dialog = page.getByRole('dialog', { name: 'Jump to…' });
  await expect(dialog).toBeVisible();
  await expect(page.getByTestId('switcher-input')).toBeFocused();
  await page.keyboard.type('ran');
  await expect(page.getByTestId('switcher-item').first()).toContainText('random');
  await page.screenshot({ path: join(SCREENSHOTS, 'quick-switcher.png') });
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('room-title')).toContainText('random');
  await expect(page.getByTestId('composer')).toBeFocused();

  // A person without a conversation yet: the switcher opens one.
  await page.keyboard.press('Control+k');
  // Type only once the dialog has the focus (keys typed before would go to the composer).
  await expect(page.getByTestId('switcher-input')).toBeFocused();
  await page.keyboard.type('dora');
  await expect(page.getByTestId('switcher-item').first()).toContainText('Dora Quist');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('room-title')).toContainText('Dora Quist');

  // Alt+↓ / Alt+↑ follow the sidebar's order. The new DM moves up the list
  // when its first events (the two members) arrive, after its title shows:
  // wait for that (unread ops first, then the newest conversation, the DM),
  // or the order read here is not the one the keys step through.
  const sidebarOrder = () =>
    page
      .getByRole('navigation', { name: 'Conversations' })
      .locator('[data-room-id]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-room-id')));
  const title = page.getByTestId('room-title');
  const at = async () => page.evaluate(() => decodeURIComponent(location.hash.replace('#/room/', '')));
  const dm = await at();
  await expect.poll(async () => (await sidebarOrder()).indexOf(dm)).toBe(1);
  const order = await sidebarOrder();
  expect(order[0]).toBe(rooms.ops);
  const start = order.indexOf(dm);
  await page.keyboard.press('Alt+ArrowDown');
  await expect.poll(at).toBe(order[(start + 1) % order.length]);
  await page.keyboard.press('Alt+ArrowUp');
  await expect.poll(at).toBe(order[start]);
  // Alt+Shift+↓ goes to the one unread room, ops, from wherever.
  await page.keyboard.press('Alt+Shift+ArrowDown');
  await expect(title).toContainText('ops');
});

test('Escape closes the thread panel from anywhere in the room', async ({ page }) => {
  await logIn(page, server, 'alice');
  await openRoom(page, 'design');
  const msg = page.getByTestId('message').filter({ hasText: 'first message' });
  await msg.hover();
  await msg.getByRole('button', { name: 'Reply', exact: true }).click();
  await expect(page.getByTestId('thread-panel')).toBeVisible();
  await page.getByTestId('composer').focus();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('thread-panel')).toHaveCount(0);
});
