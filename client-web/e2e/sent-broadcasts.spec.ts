import { randomUUID } from 'node:crypto';
import { expect, test } from '@playwright/test';
import { TownhallServer } from './server';
import { expectNoSeriousAxe } from './axe';
import { logIn } from './ui';

let server: TownhallServer;

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('sam', 'Sam Staff');
  await server.createUser('lena', 'Lena Leader', 'lena-password', 'leader');
});

test.afterAll(async () => {
  await server?.dispose();
});

test('your broadcasts: newest first with dates and counts, each opens its reach page', async ({ page }) => {
  const lena = await server.client('lena');
  const sam = await server.client('sam');
  const send = async (body: string, ack: boolean) => {
    const r = await lena.request({ type: 'broadcast', client_id: randomUUID(), body, rooms: [], ack_requested: ack });
    return (r as { broadcast: string }).broadcast;
  };
  await send('Office closed on Friday.', false);
  const policy = await send('Please read the new travel policy.', true);
  // Sam confirms the policy; the leader's reach counts it.
  sam.post({ type: 'broadcast_receipt', broadcast: policy, kind: 'acknowledged' });
  await lena.waitFor((f) => f.type === 'reach_update' && f.counts.acknowledged === 1);

  await logIn(page, server, 'lena');
  await page.getByTestId('sent-broadcasts-link').click();
  await expect(page.getByRole('heading', { name: 'Your broadcasts' })).toBeVisible();
  const items = page.getByTestId('sent-broadcast');
  await expect(items).toHaveCount(2);
  // Newest first, each with its date and counts.
  await expect(items.nth(0)).toContainText('Please read the new travel policy.');
  await expect(items.nth(0).getByTestId('sent-counts')).toHaveText(/^1 of \d+ acknowledged, \d+ opened$/);
  await expect(items.nth(1)).toContainText('Office closed on Friday.');
  await expect(items.nth(1).getByTestId('sent-counts')).toHaveText(/^\d+ of \d+ opened$/);
  for (const i of [0, 1]) await expect(items.nth(i).locator('time')).toHaveAttribute('datetime', /^\d{4}-/);
  await expectNoSeriousAxe(page, 'your broadcasts');

  await items.nth(0).getByTestId('sent-reach-link').click();
  await expect(page).toHaveURL(new RegExp(`#/reach/${policy}$`));
  await expect(page.getByTestId('reach-body')).toContainText('Please read the new travel policy.');
  // The reach page lists them too.
  await expect(page.getByTestId('sent-broadcast')).toHaveCount(2);
  await expectNoSeriousAxe(page, 'reach with your broadcasts');
  sam.close();
  lena.close();
});
