import { expect, test } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SCREENSHOTS, TownhallServer } from './server';
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

test('a broadcast asking for confirmation is pinned for staff and its reach updates live', async ({ browser }) => {
  const ctxL = await browser.newContext();
  const pl = await ctxL.newPage();
  await logIn(pl, server, 'lena');

  // The leader broadcasts to everyone and asks readers to confirm.
  await pl.getByRole('button', { name: 'Broadcast' }).click();
  const dialog = pl.getByRole('dialog', { name: 'New broadcast' });
  await dialog.getByLabel('Announcement').fill('The new structure starts on 1 March.');
  await expect(dialog.getByLabel('Everyone')).toBeChecked();
  await dialog.getByLabel('Ask readers to confirm').check();
  await dialog.getByRole('button', { name: 'Send broadcast' }).click();

  // The Reach view opens: nobody has acknowledged yet.
  await expect(pl.getByRole('heading', { name: 'Reach' })).toBeVisible();
  await expect(pl.getByTestId('reach-acknowledged')).toContainText('0');
  await expect(pl.getByTestId('reader').filter({ hasText: 'Sam Staff' })).toBeVisible();

  // A staff member logs in: the broadcast is pinned first on the home view.
  const ctxS = await browser.newContext();
  const ps = await ctxS.newPage();
  await logIn(ps, server, 'sam');
  const pinned = ps.getByTestId('pinned-ack');
  await expect(pinned).toHaveCount(1);
  await expect(pinned).toContainText('The new structure starts on 1 March.');
  await expect(pinned).toContainText('Lena Leader');
  // Pinned comes before everything else on the home view.
  const firstSection = ps.locator('.home > :nth-child(2)');
  await expect(firstSection).toHaveAttribute('data-testid', 'pinned-acks');
  await pinned.getByRole('button', { name: /I have read this/ }).click();
  await expect(pinned).toHaveCount(0);

  // The leader sees it without reloading.
  await expect(pl.getByTestId('reach-acknowledged')).toHaveText(/^1 of \d+$/);
  const sam = pl.getByTestId('reader').filter({ hasText: 'Sam Staff' });
  await expect(sam.locator('td').nth(2)).not.toHaveText('—');
  // Reach is read days later: each moment says its day, not only the time.
  await expect(sam.locator('td').nth(2)).toContainText(/^Today \d/);
  await expect(sam.locator('td time').first()).toHaveAttribute('datetime', /^\d{4}-\d\d-\d\dT/);
  await pl.screenshot({ path: join(SCREENSHOTS, 'reach.png') });

  // In the room it is an announcement card, no longer pinned.
  await ps.getByRole('link', { name: /Announcements/ }).first().click();
  const card = ps.getByTestId('broadcast');
  await expect(card).toContainText('The new structure starts on 1 March.');
  await expect(card.getByText('Broadcast', { exact: true })).toBeVisible();
  await expect(ps.getByTestId('pinned-ack')).toHaveCount(0);
  await expect(pl.getByTestId('reach-body')).toContainText('The new structure starts on 1 March.');
  await expect(pl.getByTestId('reach-sent')).toContainText(/Sent Today \d/);

  await ctxL.close();
  await ctxS.close();
});
