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

test('past broadcasts: newest first, with my confirmation state, and the button where one is asked', async ({ page }) => {
  const lena = await server.client('lena');
  const send = (body: string, ack: boolean) =>
    lena.request({ type: 'broadcast', client_id: randomUUID(), body, rooms: [], ack_requested: ack });
  await send('Office closed on Friday.', false);
  await send('Please read the new travel policy.', true);
  await send('Town hall moved to 3 pm.', true);

  await logIn(page, server, 'sam');
  await page.getByTestId('past-broadcasts-link').click();
  const items = page.getByTestId('past-broadcast');
  await expect(items).toHaveCount(3);
  // Newest first.
  await expect(items.nth(0)).toContainText('Town hall moved to 3 pm.');
  await expect(items.nth(1)).toContainText('Please read the new travel policy.');
  await expect(items.nth(2)).toContainText('Office closed on Friday.');
  await expect(items.nth(2)).toHaveAttribute('data-state', 'info');
  await expect(items.nth(2).getByRole('button')).toHaveCount(0);
  await expectNoSeriousAxe(page, 'past broadcasts');

  // Confirm the travel policy here; it stays confirmed after a reload.
  const policy = items.nth(1);
  await expect(policy).toHaveAttribute('data-state', 'pending');
  await policy.getByRole('button', { name: 'I have read this: broadcast from Lena Leader' }).click();
  await expect(policy).toHaveAttribute('data-state', 'acknowledged');
  await expect(policy).toContainText('You confirmed reading this');
  // The leader's reach counts the confirmation (the receipt is applied).
  await lena.waitFor((f) => f.type === 'reach_update' && f.counts.acknowledged === 1);
  await page.reload();
  await expect(items).toHaveCount(3);
  await expect(items.nth(1)).toHaveAttribute('data-state', 'acknowledged');
  await expect(items.nth(0)).toHaveAttribute('data-state', 'pending');
  lena.close();
});
