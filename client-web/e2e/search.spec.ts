import { expect, test } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerFrame } from '../src/protocol';
import { SCREENSHOTS, TownhallServer, type WsClient } from './server';
import { logIn } from './ui';

let server: TownhallServer;

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('lena', 'Lena Leader', undefined, 'leader');
  await server.createUser('sam', 'Sam Staff');
  mkdirSync(SCREENSHOTS, { recursive: true });
});

test.afterAll(async () => {
  await server?.dispose();
});

async function orgRoom(c: WsClient): Promise<string> {
  const r = await c.request<Extract<ServerFrame, { type: 'rooms' }>>({ type: 'my_rooms' });
  const org = r.rooms.find((x) => x.org_wide);
  if (!org) throw new Error('no organisation room');
  return org.id;
}

test('search finds a message with its words highlighted, and a click opens the room at it', async ({ page }) => {
  const lena = await server.client('lena');
  const org = await orgRoom(lena);
  await lena.send(org, 'The quarterly budgets are due on Friday.');
  await lena.send(org, 'Forecast, forecast, forecast: the sales forecast.');
  await lena.send(org, 'A longer note about the week ahead that mentions the forecast once, among many other words about rooms and desks.');
  const target = await lena.send(org, 'The new org chart is on the wiki: https://wiki.example/people');
  // Enough later messages that the hit is far above the room's latest page.
  await lena.sendMany(
    org,
    Array.from({ length: 70 }, (_, i) => `Filler announcement number ${i}`),
  );

  await logIn(page, server, 'sam');
  const box = page.getByRole('searchbox', { name: 'Search messages' });
  const results = page.getByTestId('search-result');
  // The index fills in the background (at nice 19: on a loaded machine it
  // lags): search again, Enter on the same words, until the hit is there.
  await expect(async () => {
    await box.fill('"org chart" has:link');
    await box.press('Enter');
    await expect(results).toHaveCount(1, { timeout: 2_000 });
  }).toPass({ timeout: 15_000 });
  await expect(results.first().locator('mark')).toHaveText(['org', 'chart']);
  await expect(results.first()).toContainText('Lena Leader');

  // Stemming: "budget" finds "budgets".
  await box.fill('budget');
  await box.press('Enter');
  await expect(results).toHaveCount(1);
  await expect(results.first().locator('mark')).toHaveText('budgets');
  await page.screenshot({ path: join(SCREENSHOTS, 'search.png') });

  // Back to the first query; the click opens the room at that message.
  await box.fill('"org chart"');
  await box.press('Enter');
  await expect(results).toHaveCount(1);
  await results.first().getByRole('link').click();
  const hit = page.locator(`.timeline [data-seq="${target.seq}"]`);
  await expect(hit).toBeVisible();
  await expect(hit).toHaveClass(/focused/);
  await expect(hit).toContainText('The new org chart is on the wiki');

  // Newest first by default; "Best match" puts the message that says it
  // most first, though it is older.
  await box.fill('forecast');
  await box.press('Enter');
  await expect(results).toHaveCount(2);
  await expect(results.first()).toContainText('mentions the forecast once');
  await page.getByRole('radio', { name: 'Best match' }).check();
  await expect(results.first()).toContainText('Forecast, forecast');
  await expect(results).toHaveCount(2);
  await page.getByRole('radio', { name: 'Newest first' }).check();
  await expect(results.first()).toContainText('mentions the forecast once');

  // A query the server cannot read says why.
  await box.fill('is:pinned');
  await box.press('Enter');
  await expect(page.getByTestId('search-view').getByRole('alert')).toContainText('is:');
});

test('Enter on the same words again searches again and finds a message indexed since', async ({ page }) => {
  const lena = await server.client('lena');
  const org = await orgRoom(lena);
  await logIn(page, server, 'sam');
  const box = page.getByRole('searchbox', { name: 'Search messages' });
  const results = page.getByTestId('search-result');
  await box.fill('wombat');
  await box.press('Enter');
  await expect(page.getByTestId('search-view')).toContainText('No messages found.');
  await lena.send(org, 'A wombat was seen near the loading dock.');
  // The server's index holds it now (asked over lena's connection).
  await expect
    .poll(async () => (await lena.request<Extract<ServerFrame, { type: 'search_results' }>>({ type: 'search', query: 'wombat' })).results.length, {
      timeout: 15_000,
    })
    .toBe(1);
  // The view on screen searched before: Enter again asks anew.
  await expect(box).toHaveValue('wombat');
  await box.press('Enter');
  await expect(results).toHaveCount(1);
  await expect(results.first().locator('mark')).toHaveText('wombat');
  lena.close();
});
