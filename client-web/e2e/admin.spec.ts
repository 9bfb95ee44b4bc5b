import { expect, test } from '@playwright/test';
import { randomUUID } from 'node:crypto';
import { ADMIN_PASSWORD, TownhallServer } from './server';
import { logIn, openRoom } from './ui';

let server: TownhallServer;

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('olga', 'Olga Owner');
  await server.createUser('sam', 'Sam Staff');
});

test.afterAll(async () => {
  await server?.dispose();
});

test('a room owner merges duplicate questions from the Questions view', async ({ page }) => {
  const olga = await server.client('olga');
  const room = await olga.createRoom('move');
  const sam = await server.client('sam');
  await sam.request({ type: 'join', room });
  for (const body of ['Where do we park?', 'Is there parking at the new site?']) {
    await sam.request({ type: 'send', room, client_id: randomUUID(), body, question: true });
  }

  await logIn(page, server, 'olga');
  await page.getByTestId('questions-link').click();
  const list = page.getByTestId('open-question');
  await expect(list).toHaveCount(2);
  const boxes = page.getByTestId('select-question');
  await boxes.nth(0).check();
  // One alone cannot be merged.
  await expect(page.getByTestId('merge-bar')).toContainText('Select two or more');
  await boxes.nth(1).check();
  const bar = page.getByTestId('merge-bar');
  // The oldest is kept by default; keep the second one instead.
  await expect(bar.getByRole('radio', { name: 'Where do we park?' })).toBeChecked();
  await bar.getByRole('radio', { name: 'Is there parking at the new site?' }).check();
  await bar.getByRole('button', { name: 'Merge 2 questions' }).click();

  // One canonical question is left in the queue; Sam's app sees the merge.
  await expect(list).toHaveCount(1);
  await expect(list.first()).toContainText('Is there parking at the new site?');
  await sam.waitFor((f) => f.type === 'event' && f.content.kind === 'merged');
  olga.close();
  sam.close();
});

test('an admin puts someone on the transformation team and reads the audit log', async ({ page }) => {
  // A moderation action to find in the log.
  const olga = await server.client('olga');
  const room = await olga.createRoom('ops');
  const sam = await server.client('sam');
  await sam.request({ type: 'join', room });
  await olga.request({ type: 'set_room_role', room, user: 'sam', role: 'moderator' });
  sam.close();
  olga.close();

  await logIn(page, server, 'admin', ADMIN_PASSWORD);
  await page.getByTestId('admin-link').click();
  await expect(page.getByRole('heading', { name: 'Administration' })).toBeVisible();
  const team = page.getByRole('checkbox', { name: 'Sam Staff is on the transformation team' });
  await expect(team).not.toBeChecked();
  await team.check();
  await expect(team).toBeChecked();
  const samRow = page.getByTestId('admin-user').filter({ hasText: '@sam' });
  await expect(samRow).toContainText('Member');

  const log = page.getByTestId('audit-entry');
  await expect(log.filter({ hasText: 'changed the room role of' })).toContainText('Olga Owner');
  await expect(log.filter({ hasText: 'changed the room role of' })).toContainText('#ops');
  await expect(log.filter({ hasText: 'changed user' }).first()).toContainText('Sam Staff');

  // After a reload the flag is still set (it is the server's state).
  await page.reload();
  await openRoom(page, 'Announcements');
  await page.getByTestId('admin-link').click();
  await expect(page.getByRole('checkbox', { name: 'Sam Staff is on the transformation team' })).toBeChecked();
});
