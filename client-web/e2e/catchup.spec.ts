import { expect, test, type Page } from '@playwright/test';
import { randomUUID } from 'node:crypto';
import { TownhallServer, type WsClient } from './server';
import { logIn, openRoom } from './ui';

// Catching up inside a room: the "new messages below" pill (with mentions),
// "Jump to latest", "Jump to first unread", a reply's quote of its parent in
// the room, and a thread panel whose first reply is never hidden.

let server: TownhallServer;
let bob: WsClient;
let busy: string;
let backlog: string;

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('alice', 'Alice Martin');
  await server.createUser('bob', 'Bob Chen');
  const alice = await server.client('alice');
  bob = await server.client('bob');
  busy = await bob.createRoom('busy');
  backlog = await bob.createRoom('backlog');
  await alice.request({ type: 'join', room: busy });
  await alice.request({ type: 'join', room: backlog });
  alice.close();
  await bob.sendMany(busy, Array.from({ length: 60 }, (_, i) => `busy message ${i + 1}`));
  await bob.sendMany(backlog, Array.from({ length: 80 }, (_, i) => `backlog message ${i + 1}`));
});

test.afterAll(async () => {
  bob?.close();
  await server?.dispose();
});

const gapToBottom = (page: Page) =>
  page.locator('.timeline').evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight);

test('scrolled up, new messages show as a pill with their mentions; it and "Jump to latest" bring me down', async ({ page }) => {
  await logIn(page, server, 'alice');
  await openRoom(page, 'busy');
  await expect(page.getByTestId('message-text').filter({ hasText: 'busy message 60' })).toBeAttached();
  await page.locator('.timeline').evaluate((el) => (el.scrollTop = 0));
  await expect(page.getByTestId('jump-latest')).toBeVisible();
  await expect(page.getByTestId('new-below')).toHaveCount(0);

  await bob.send(busy, 'a new thing');
  await bob.send(busy, '@alice can you check this?');
  const pill = page.getByTestId('new-below');
  await expect(pill).toHaveText('↓ 2 new messages below · 1 mentions you');
  // Still up there: arriving messages did not pull the view down.
  expect(await page.locator('.timeline').evaluate((el) => el.scrollTop)).toBeLessThan(300);
  await pill.click();
  await expect(page.getByTestId('message').filter({ hasText: 'a new thing' })).toBeInViewport();
  await expect(pill).toHaveCount(0);

  await page.locator('.timeline').evaluate((el) => (el.scrollTop = 0));
  await page.getByTestId('jump-latest').click();
  await expect.poll(() => gapToBottom(page)).toBeLessThan(40);
  await expect(page.getByTestId('jump-latest')).toHaveCount(0);
});

test('"Jump to first unread" shows while the divider is above the view and goes back to it', async ({ page }) => {
  await logIn(page, server, 'alice');
  await openRoom(page, 'backlog');
  const divider = page.getByTestId('new-divider');
  await expect(divider).toBeInViewport();
  await expect(page.getByTestId('jump-first-unread')).toHaveCount(0);
  await page.locator('.timeline').evaluate((el) => (el.scrollTop = el.scrollHeight));
  await expect(page.getByTestId('jump-first-unread')).toBeVisible();
  await page.getByTestId('jump-first-unread').click();
  await expect(divider).toBeInViewport();
  await expect(page.getByTestId('jump-first-unread')).toHaveCount(0);
});

test('a reply in the room quotes its parent; a long parent never hides the first reply in the thread panel', async ({ page }) => {
  const room = await bob.createRoom('replies');
  const long = ['**Budget for the offsite**', ...Array.from({ length: 60 }, (_, i) => `detail line ${i + 1}`)].join('\n');
  const parent = await bob.send(room, long);
  await bob.request({ type: 'send', room, client_id: randomUUID(), body: 'Agreed on the budget.', thread: parent.seq });
  const alice = await server.client('alice');
  await alice.request({ type: 'join', room });
  alice.close();

  await logIn(page, server, 'alice');
  await openRoom(page, 'replies');
  const reply = page.getByTestId('message').filter({ hasText: 'Agreed on the budget.' });
  await expect(reply.getByTestId('reply-quote')).toHaveText(/Reply to Bob Chen: Budget for the offsite detail line 1 detail line 2/);

  for (const size of [
    { width: 1280, height: 800 },
    { width: 390, height: 700 },
  ]) {
    await page.setViewportSize(size);
    await reply.getByRole('button', { name: 'In a thread: view the thread' }).click();
    const panel = page.getByTestId('thread-panel');
    const first = panel.getByTestId('thread-reply').first();
    await expect(first).toBeInViewport();
    const head = (await panel.locator('.panel-head').boundingBox())!;
    const box = (await first.boundingBox())!;
    expect(box.y).toBeGreaterThanOrEqual(head.y + head.height);
    // Nothing is drawn over it: the element at its centre is inside it.
    const onTop = await first.evaluate((el) => {
      const r = el.getBoundingClientRect();
      return el.contains(document.elementFromPoint(r.x + r.width / 2, r.y + Math.min(r.height / 2, 10)));
    });
    expect(onTop).toBe(true);
    await page.keyboard.press('Escape');
    await expect(panel).toHaveCount(0);
  }
});
