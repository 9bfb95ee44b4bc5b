import { expect, test } from '@playwright/test';
import { TownhallServer, type WsClient } from './server';
import { logIn, messages, openRoom, roomLink } from './ui';

let server: TownhallServer;
let alice: WsClient;
let archive: string;
let live: string;

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('alice', 'Alice Martin');
  await server.createUser('bob', 'Bob Chen');
  alice = await server.client('alice');
  const bob = await server.client('bob');
  archive = await alice.createRoom('archive', 'public', 'Lots of history');
  live = await alice.createRoom('live', 'public', '');
  await bob.request({ type: 'join', room: archive });
  await bob.request({ type: 'join', room: live });
  await alice.sendMany(
    archive,
    Array.from({ length: 160 }, (_, i) => `history ${String(i + 1).padStart(3, '0')}`),
    1, // one at a time: keeps seq order equal to the numbering
  );
  // Bob has read everything in the archive.
  const last = await alice.send(archive, 'history end');
  await bob.request({ type: 'mark_read', room: archive, seq: last.seq });
  bob.close();
});

test.afterAll(async () => {
  alice?.close();
  await server?.dispose();
});

test('scrolling up loads older history page by page', async ({ page }) => {
  await logIn(page, server, 'bob');
  // A first login on a device streams everything since pos 0; after a reload
  // the client resumes from its stored position and must page history in.
  await page.waitForFunction(() => Object.keys(localStorage).some((k) => k.startsWith('townhall.pos.')));
  await page.reload();
  await openRoom(page, 'archive');
  await expect(messages(page).last()).toHaveText('history end');
  await expect(page.getByTestId('new-divider')).toHaveCount(0);
  const loaded = await messages(page).count();
  expect(loaded).toBeLessThan(100);
  const timeline = page.locator('.timeline');
  // Scroll to the top until the beginning of the room is there.
  for (let i = 0; i < 10; i++) {
    await timeline.evaluate((el) => (el.scrollTop = 0));
    if (await page.getByText('This is the beginning of the conversation.').isVisible()) break;
    await page.waitForTimeout(300);
  }
  await expect(page.getByText('This is the beginning of the conversation.')).toBeVisible();
  await expect(messages(page).first()).toHaveText('history 001');
  const all = await messages(page).allTextContents();
  expect(all).toHaveLength(161);
  expect(all.slice(0, 160)).toEqual(Array.from({ length: 160 }, (_, i) => `history ${String(i + 1).padStart(3, '0')}`));
});

test('a background tab does not mark messages read; coming back does', async ({ page }) => {
  await logIn(page, server, 'bob');
  await openRoom(page, 'live');
  // The window loses focus (another app in front).
  await page.evaluate(() => {
    (document as unknown as { hasFocus: () => boolean }).hasFocus = () => false;
    window.dispatchEvent(new Event('blur'));
  });
  await alice.send(live, 'first while you look away');
  await alice.send(live, 'second while you look away');
  await expect(messages(page).last()).toHaveText('second while you look away');
  const link = roomLink(page, 'live');
  await expect(link.getByTestId('unread-badge')).toHaveText('2');
  // A divider appears where the unseen messages start.
  await expect(page.getByTestId('new-divider')).toBeVisible();
  await expect(page).toHaveTitle('(2) Townhall');
  // The tab's icon carries the same count (a pinned tab shows no title).
  const icon = page.locator('link[rel="icon"]');
  await expect(icon).toHaveAttribute('data-count', '2');
  expect(decodeURIComponent((await icon.getAttribute('href')) ?? '')).toContain('>2</text>');

  await page.evaluate(() => {
    (document as unknown as { hasFocus: () => boolean }).hasFocus = () => true;
    window.dispatchEvent(new Event('focus'));
  });
  await expect(link.getByTestId('unread-badge')).toHaveCount(0);
  await expect(page).toHaveTitle('Townhall');
  await expect(icon).toHaveAttribute('data-count', '0');
});

test('keyboard only: log in, reach a room, send a message', async ({ page }) => {
  await page.goto(server.url + '/');
  // The username field takes focus once the app has rendered: wait for that
  // (typing earlier loses keystrokes on a busy machine).
  await expect(page.getByRole('textbox', { name: 'Username' })).toBeFocused();
  await page.keyboard.type('bob');
  await page.keyboard.press('Tab');
  await page.keyboard.type('bob-password');
  await page.keyboard.press('Enter');
  await expect(page.getByRole('navigation', { name: 'Conversations' })).toBeVisible();
  // Tab to the room link and open it.
  const target = roomLink(page, 'live');
  for (let i = 0; i < 20; i++) {
    await page.keyboard.press('Tab');
    if (await target.evaluate((el) => el === document.activeElement)) break;
  }
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('room-title')).toContainText('live');
  const composer = page.getByTestId('composer');
  for (let i = 0; i < 20; i++) {
    if (await composer.evaluate((el) => el === document.activeElement)) break;
    await page.keyboard.press('Tab');
  }
  await page.keyboard.type('typed with the keyboard only');
  await page.keyboard.press('Enter');
  await expect(messages(page).last()).toHaveText('typed with the keyboard only');
});
