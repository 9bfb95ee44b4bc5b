import { expect, test } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SCREENSHOTS, TownhallServer } from './server';
import { logIn, messages, openRoom, roomLink, say } from './ui';

let server: TownhallServer;

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('alice', 'Alice Martin');
  await server.createUser('bob', 'Bob Chen');
  await server.createUser('carol', 'Carol Diaz');
  mkdirSync(SCREENSHOTS, { recursive: true });
});

test.afterAll(async () => {
  await server?.dispose();
});

test('log in, stay logged in across a reload, log out', async ({ page }) => {
  await page.goto(server.url + '/');
  await expect(page.getByRole('heading', { name: 'Sign in to Townhall' })).toBeVisible();
  await page.screenshot({ path: join(SCREENSHOTS, 'login.png') });

  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill('wrong-password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('alert')).toContainText('do not match');

  await page.getByLabel('Password').fill('alice-password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('heading', { name: /Welcome back, Alice Martin/ })).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: 'Connected' })).toBeVisible();

  await page.reload();
  await expect(page.getByRole('heading', { name: /Welcome back/ })).toBeVisible();
  await expect(page.getByText('Connected')).toBeVisible();

  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in to Townhall' })).toBeVisible();
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Sign in to Townhall' })).toBeVisible();
});

test('two people chat in real time, with typing and presence', async ({ browser }) => {
  const a = await browser.newContext();
  const b = await browser.newContext();
  const pa = await a.newPage();
  const pb = await b.newPage();
  await logIn(pa, server, 'alice');
  await logIn(pb, server, 'bob');

  // Alice makes a public room; Bob finds it in the directory and joins.
  await pa.getByRole('button', { name: 'New room' }).click();
  await pa.getByLabel('Name').fill('design');
  await pa.getByLabel('Topic (optional)').fill('Product design talk');
  await pa.getByRole('button', { name: 'Create room' }).click();
  await expect(pa.getByTestId('room-title')).toContainText('design');

  await pb.getByRole('button', { name: 'Browse rooms' }).click();
  await pb.getByRole('button', { name: 'Join design' }).click();
  await expect(pb.getByTestId('room-title')).toContainText('design');

  await say(pa, 'Hi Bob, welcome to design');
  await expect(pa.locator('[data-status="sent"]')).toBeVisible();
  await expect(messages(pb).last()).toHaveText('Hi Bob, welcome to design');

  // Typing shows on the other side.
  await pb.getByTestId('composer').pressSequentially('Thanks', { delay: 20 });
  await expect(pa.getByTestId('typing')).toHaveText('Bob Chen is typing…');
  await pb.getByTestId('composer').press('Enter');
  await expect(messages(pa).last()).toHaveText('Thanks');

  // Shift+Enter makes a new line instead of sending.
  await pb.getByTestId('composer').fill('line one');
  await pb.getByTestId('composer').press('Shift+Enter');
  await pb.getByTestId('composer').pressSequentially('line two');
  await pb.getByTestId('composer').press('Enter');
  await expect(messages(pa).last()).toHaveText('line one\nline two');

  // Text is text: markup is shown, not run; links are clickable and safe.
  await say(pa, '<img src=x onerror="window.pwned=1"> see https://example.com/spec');
  const last = messages(pb).last();
  await expect(last).toContainText('<img src=x onerror="window.pwned=1">');
  await expect(last.locator('img')).toHaveCount(0);
  await expect(last.getByRole('link', { name: 'https://example.com/spec' })).toHaveAttribute('rel', 'noopener noreferrer');
  expect(await pb.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();

  // Members and presence.
  await pa.getByRole('button', { name: /\d+ members?$/ }).click();
  const panel = pa.getByRole('complementary', { name: 'Members' });
  await expect(panel.getByText('Bob Chen')).toBeVisible();
  await expect(panel.getByText('@bob · online')).toBeVisible();

  // A direct message, listed under the other person's name.
  await panel.getByRole('button', { name: 'Message Bob Chen' }).click();
  await expect(pa.getByTestId('room-title')).toContainText('Bob Chen');
  await say(pa, 'A private word');
  await expect(roomLink(pb, 'Direct message with Alice Martin')).toContainText('1');
  await roomLink(pb, 'Direct message with Alice Martin').click();
  await expect(messages(pb).last()).toHaveText('A private word');

  await a.close();
  await b.close();
});

test('a private room: owner adds a person; a non-member sees no content at its URL; leaving', async ({ browser }) => {
  const a = await browser.newContext();
  const c = await browser.newContext();
  const pa = await a.newPage();
  const pc = await c.newPage();
  await logIn(pa, server, 'alice');
  await logIn(pc, server, 'carol');

  await pa.getByRole('button', { name: 'New room' }).click();
  await pa.getByLabel('Name').fill('leadership');
  await pa.getByRole('radio', { name: /Private/ }).check();
  await pa.getByRole('button', { name: 'Create room' }).click();
  await expect(pa.getByTestId('room-title')).toContainText('leadership');
  await say(pa, 'Confidential: reorg plan');
  await expect(pa.locator('[data-status="sent"]')).toBeVisible();
  const privateUrl = pa.url();

  // Carol opens the URL directly: a not-found state, nothing of the room.
  await pc.goto(privateUrl);
  await expect(pc.getByTestId('room-not-found')).toBeVisible();
  await expect(pc.getByText('does not exist, or you do not have access')).toBeVisible();
  await expect(pc.getByText('Confidential')).toHaveCount(0);
  await expect(pc.getByText('leadership')).toHaveCount(0);

  // Alice adds Bob (by username) from the members panel.
  await pa.getByRole('button', { name: /\d+ members?$/ }).click();
  await pa.getByTestId('add-member-input').fill('bob');
  await pa.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(pa.getByRole('complementary', { name: 'Members' }).getByText('Bob Chen')).toBeVisible();

  const b = await browser.newContext();
  const pb = await b.newPage();
  await logIn(pb, server, 'bob');
  await openRoom(pb, 'leadership');
  await expect(messages(pb).last()).toHaveText('Confidential: reorg plan');
  await pb.getByRole('button', { name: 'Leave' }).click();
  await pb.getByRole('dialog').getByRole('button', { name: 'Leave room' }).click();
  await expect(roomLink(pb, 'leadership')).toHaveCount(0);

  await a.close();
  await b.close();
  await c.close();
});
