import { expect, test } from '@playwright/test';
import { join } from 'node:path';
import { SCREENSHOTS, TownhallServer, type WsClient } from './server';
import { logIn, roomLink } from './ui';

// The Mentions view (search's `mentions:me`: every message that mentions me
// in a room I can read now, newest first, each opening the room at it) and
// "Mark all as read" (every room's marker, on my other devices too).

let server: TownhallServer;
let bob: WsClient;
let open: string;
let secret: string;

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('alice', 'Alice Reader');
  await server.createUser('bob', 'Bob Writer');
  bob = await server.client('bob');
  open = await bob.createRoom('open-plan', 'public');
  secret = await bob.createRoom('secret-plan', 'private');
  const alice = await server.client('alice');
  await alice.request({ type: 'join', room: open });
  alice.close();
  await bob.request({ type: 'add_member', room: secret, user: 'alice' });
  await bob.send(secret, '@alice the budget is in the vault');
  for (let i = 0; i < 30; i++) await bob.send(open, `filler ${i}`);
  await bob.send(open, 'hey @alice, can you review the launch plan?');
  await bob.send(open, 'no mention here');
});

test.afterAll(async () => {
  bob?.close();
  await server?.dispose();
});

test('the mentions view lists my mentions newest first, opens one in context, and drops a room I left', async ({ page }) => {
  await logIn(page, server, 'alice');
  await page.getByTestId('mentions-link').click();
  await expect(page.getByRole('heading', { name: 'Mentions' })).toBeVisible();
  const results = page.getByTestId('search-result');
  // The index fills in the background: open the view again until both are in.
  await expect(async () => {
    await page.reload();
    await expect(results).toHaveCount(2, { timeout: 2_000 });
  }).toPass({ timeout: 15_000 });
  await expect(results.nth(0)).toContainText('can you review the launch plan');
  await expect(results.nth(1)).toContainText('the budget is in the vault');
  await page.screenshot({ path: join(SCREENSHOTS, 'mentions-light.png') });

  await results.nth(0).getByRole('link').click();
  await expect(page.getByTestId('room-title')).toContainText('open-plan');
  await expect(page.locator('.timeline li[data-seq]:focus')).toContainText('can you review the launch plan');

  // Removed from the private room: its mention is not listed any more.
  await bob.request({ type: 'remove_member', room: secret, user: 'alice' });
  await page.getByTestId('mentions-link').click();
  await expect(results).toHaveCount(1);
  await expect(results.nth(0)).toContainText('can you review the launch plan');
});

test('mark all as read clears every room, on my other device too', async ({ browser }) => {
  const one = await (await browser.newContext()).newPage();
  const two = await (await browser.newContext()).newPage();
  const other = await bob.createRoom('other-room', 'public');
  const alice = await server.client('alice');
  await alice.request({ type: 'join', room: other });
  alice.close();
  await bob.send(other, 'something new');
  await bob.send(open, 'and more here');
  await logIn(one, server, 'alice');
  await logIn(two, server, 'alice');
  for (const p of [one, two]) {
    await expect(roomLink(p, 'other-room').getByTestId('unread-badge')).toBeVisible();
    await expect(roomLink(p, 'open-plan').getByTestId('unread-badge')).toBeVisible();
  }
  await one.getByTestId('mark-all-read').click();
  for (const p of [one, two]) {
    await expect(p.getByRole('navigation', { name: 'Conversations' }).getByTestId('unread-badge')).toHaveCount(0);
    await expect(p.getByTestId('mark-all-read')).toHaveCount(0);
  }
  // It stays read after a reload (the markers are the server's).
  await one.reload();
  await expect(roomLink(one, 'open-plan')).toBeVisible();
  await expect(one.getByRole('navigation', { name: 'Conversations' }).getByTestId('unread-badge')).toHaveCount(0);
});
