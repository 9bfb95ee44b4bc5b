import { expect, test, type Page } from '@playwright/test';
import { join } from 'node:path';
import { ADMIN_PASSWORD, SCREENSHOTS, TownhallServer } from './server';
import { logIn, openRoom, say } from './ui';

// Anonymous questions (issue 15): a room owner allows them, a member asks
// anonymously, the transformation team approves one and rejects another
// with a reason; the room sees "Anonymous", the asker sees the statuses.

let server: TownhallServer;

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('olivia', 'Olivia Owner');
  await server.createUser('tina', 'Tina Team');
  await server.createUser('ana', 'Ana Asker');
  const admin = await server.login('admin', ADMIN_PASSWORD);
  const res = await fetch(`${server.url}/api/admin/users/tina`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${admin.token}` },
    body: JSON.stringify({ transformation_team: true }),
  });
  expect(res.ok).toBe(true);
});

test.afterAll(async () => {
  await server?.dispose();
});

function message(page: Page, text: string) {
  return page
    .getByTestId('timeline')
    .getByTestId('message')
    .filter({ has: page.getByTestId('message-text').filter({ hasText: text }) });
}

async function joinRoom(page: Page, room: string) {
  await page.getByRole('button', { name: 'Browse rooms' }).click();
  await page.getByRole('button', { name: `Join ${room}` }).click();
  await expect(page.getByTestId('room-title')).toContainText(room);
}

test('an anonymous question is moderated, published as Anonymous, and the asker sees each status', async ({ browser }) => {
  const po = await (await browser.newContext()).newPage();
  const pt = await (await browser.newContext()).newPage();
  const pa = await (await browser.newContext()).newPage();
  await logIn(po, server, 'olivia');
  await po.getByRole('button', { name: 'New room' }).click();
  await po.getByLabel('Name').fill('all-hands');
  await po.getByRole('button', { name: 'Create room' }).click();
  await expect(po.getByTestId('room-title')).toContainText('all-hands');
  // The owner allows anonymous questions in her room.
  await po.getByTestId('anonymous-link').click();
  await po.getByTestId('allow-anon-all-hands').check();
  await expect(po.getByTestId('allow-anon-all-hands')).toBeChecked();

  await logIn(pt, server, 'tina');
  await joinRoom(pt, 'all-hands');
  await logIn(pa, server, 'ana');
  await joinRoom(pa, 'all-hands');

  // Ana asks two questions anonymously.
  for (const text of ['Is the Lyon office closing?', 'Why does my manager never listen?']) {
    await pa.getByLabel('Ask as a question').check();
    await pa.getByTestId('ask-anonymously').check();
    await say(pa, text);
    await expect(pa.getByTestId('anon-note')).toContainText('waiting for moderation');
  }
  // Nothing appears in the room before moderation.
  await openRoom(po, 'all-hands');
  await expect(message(po, 'Is the Lyon office closing?')).toHaveCount(0);

  // Tina's queue: both, live, with no name.
  await pt.getByTestId('anonymous-link').click();
  const items = pt.getByTestId('moderation-item');
  await expect(items).toHaveCount(2);
  await expect(items.first()).not.toContainText('Ana');
  await items.filter({ hasText: 'Lyon' }).getByTestId('approve').click();
  const other = items.filter({ hasText: 'manager' });
  await other.getByTestId('reject-reason').fill('About one person: please talk to HR.');
  await other.getByTestId('reject').click();
  await expect(items).toHaveCount(0);

  // The room sees it from "Anonymous".
  const q = message(po, 'Is the Lyon office closing?');
  await expect(q).toBeVisible();
  await expect(q).toContainText('Anonymous');
  await expect(q).not.toContainText('Ana');

  // Ana sees both outcomes, the reason included.
  await pa.getByTestId('anonymous-link').click();
  const mine = pa.getByTestId('my-anon-question');
  await expect(mine.filter({ hasText: 'Lyon' }).getByTestId('anon-status')).toHaveText('Published in the room');
  await expect(mine.filter({ hasText: 'manager' }).getByTestId('anon-status')).toContainText(
    'About one person: please talk to HR.',
  );
  await pa.screenshot({ path: join(SCREENSHOTS, 'anonymous-question.png') });
});
