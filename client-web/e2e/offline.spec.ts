import { expect, test } from '@playwright/test';
import { TownhallServer } from './server';
import { logIn, messages, openRoom, say } from './ui';

// The service worker (public/sw.js) keeps the app shell: a reload while the
// server is down opens Townhall in its own "Reconnecting" state, not the
// browser's error page; and it caches nothing but the public shell.

let server: TownhallServer;
let ops: string;

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('alice', 'Alice Martin');
  const alice = await server.client('alice');
  ops = await alice.createRoom('ops', 'public', 'Operations');
  await alice.send(ops, 'Shell check');
  alice.close();
});

test.afterAll(async () => {
  await server?.dispose();
});

test('a reload while the server is down opens Townhall reconnecting; it connects by itself when the server is back', async ({
  page,
}) => {
  await logIn(page, server, 'alice');
  await openRoom(page, 'ops');
  await expect(messages(page).last()).toHaveText('Shell check');
  // The worker controls the page and holds the shell and its assets.
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 30_000 });
  await page.waitForFunction(async () => {
    const shell = await caches.match('/');
    const scripts = [...document.querySelectorAll<HTMLScriptElement>('script[src]')].map((s) => new URL(s.src).pathname);
    const cached = await Promise.all(scripts.map((p) => caches.match(p)));
    return shell !== undefined && scripts.length > 0 && cached.every((c) => c !== undefined);
  });

  await server.stop();
  await page.reload();
  // Townhall itself answers, logged in, and says it is reconnecting.
  const badge = page.locator('.conn');
  await expect(badge).toHaveAttribute('data-state', /reconnecting|offline|connecting/);
  await expect(page.getByRole('button', { name: 'Log out' })).toBeVisible();
  await expect(page).toHaveTitle(/Townhall/);

  await server.launch(); // same port, same data folder
  await expect(badge).toHaveAttribute('data-state', 'connected', { timeout: 30_000 });
  await openRoom(page, 'ops');
  await say(page, 'Back online');
  await expect(messages(page).filter({ hasText: 'Back online' })).toHaveCount(1);

  // Nothing but the public shell is in the cache: no API reply, no file.
  const cached = await page.evaluate(async () => {
    const names = await caches.keys();
    const urls: string[] = [];
    for (const n of names) for (const r of await (await caches.open(n)).keys()) urls.push(new URL(r.url).pathname);
    return urls;
  });
  expect(cached.length).toBeGreaterThan(1);
  for (const u of cached) expect(u === '/' || u.startsWith('/assets/')).toBe(true);
});
