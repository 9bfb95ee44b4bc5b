import { expect, test } from '@playwright/test';
import { TownhallServer, type WsClient } from './server';
import { logIn, messages, openRoom, say } from './ui';

let server: TownhallServer;
let ops: string;

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('alice', 'Alice Martin');
  await server.createUser('bob', 'Bob Chen');
  const alice = await server.client('alice');
  const bob = await server.client('bob');
  ops = await alice.createRoom('ops', 'public', 'Operations');
  await bob.request({ type: 'join', room: ops });
  await bob.send(ops, 'Deploy window opens at 18:00.');
  alice.close();
  bob.close();
});

test.afterAll(async () => {
  await server?.dispose();
});

test('a message written while the server is down is delivered once after it restarts', async ({ page }) => {
  await logIn(page, server, 'alice');
  await openRoom(page, 'ops');
  await expect(messages(page).last()).toHaveText('Deploy window opens at 18:00.');
  const badge = page.locator('.conn');
  await expect(badge).toHaveAttribute('data-state', 'connected');

  await server.stop();
  await expect(badge).toHaveAttribute('data-state', /reconnecting|offline/);
  await expect(badge).toContainText(/Reconnecting|Offline/);

  const text = 'Written while the server was down';
  await say(page, text);
  const pending = page.locator('.msg.pending');
  await expect(pending).toContainText(text);
  await expect(pending.locator('[data-status="sending"]')).toHaveText('Sending…');
  await expect(page.getByText('messages you write now are sent when the connection returns')).toBeVisible();

  await server.launch(); // same port, same data folder
  await expect(badge).toHaveAttribute('data-state', 'connected', { timeout: 30_000 });
  await expect(page.locator('[data-status="sent"]')).toBeVisible();
  await expect(page.locator('.msg.pending')).toHaveCount(0);
  await expect(messages(page).filter({ hasText: text })).toHaveCount(1);

  // The server stored it exactly once, and Bob sees it once.
  let bob: WsClient | null = null;
  try {
    bob = await server.client('bob');
    const h = await bob.request<{ type: 'history'; events: { content: { kind: string; body?: string } }[] } & never>({
      type: 'history',
      room: ops,
    });
    const bodies = (h as unknown as { events: { content: { body?: string } }[] }).events.map((e) => e.content.body);
    expect(bodies.filter((b) => b === text)).toHaveLength(1);
  } finally {
    bob?.close();
  }

  // A reload resumes from the stored position: still exactly once, in order.
  await page.reload();
  await openRoom(page, 'ops');
  await expect(messages(page)).toHaveText(['Deploy window opens at 18:00.', text]);
});

test('resume after a dropped connection shows what was missed, without gaps or duplicates', async ({ page }) => {
  await logIn(page, server, 'bob');
  await openRoom(page, 'ops');
  await expect(messages(page).last()).toHaveText('Written while the server was down');
  await server.stop();
  // Alice posts while Bob's browser is disconnected (she uses another server
  // run: start it, post, and Bob's client reconnects and resumes).
  await server.launch();
  const alice = await server.client('alice');
  for (let i = 1; i <= 5; i++) await alice.send(ops, `catch-up ${i}`);
  alice.close();
  await expect(page.locator('.conn')).toHaveAttribute('data-state', 'connected', { timeout: 30_000 });
  await expect(messages(page)).toHaveText([
    'Deploy window opens at 18:00.',
    'Written while the server was down',
    'catch-up 1',
    'catch-up 2',
    'catch-up 3',
    'catch-up 4',
    'catch-up 5',
  ]);
});
