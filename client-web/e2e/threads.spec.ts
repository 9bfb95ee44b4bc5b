import { expect, test } from '@playwright/test';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerFrame } from '../src/protocol';
import { SCREENSHOTS, TownhallServer, type WsClient } from './server';
import { AVATAR_COLOURS } from '../src/avatar';
import { logIn, openRoom } from './ui';

let server: TownhallServer;

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('lena', 'Lena Leader', undefined, 'leader');
  await server.createUser('sam', 'Sam Staff');
  await server.createUser('olga', 'Olga Owner');
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

test('staff ask a question in a thread under an announcement; replies and the count update live and load again after a reload', async ({
  page,
}) => {
  const lena = await server.client('lena');
  const org = await orgRoom(lena);
  const post = await lena.send(org, 'We move to the new building on 3 March.');

  await logIn(page, server, 'sam');
  await openRoom(page, 'Announcements');
  // Staff cannot start a topic here: no composer, a note says where to talk.
  await expect(page.getByTestId('announce-only-note')).toBeVisible();
  await expect(page.getByTestId('composer')).toHaveCount(0);

  const parent = page.locator(`.timeline [data-seq="${post.seq}"]`);
  await expect(parent).toContainText('We move to the new building on 3 March.');
  // A leader is shown as such, and each person's initials have their own colour.
  await expect(parent.getByTestId('leader-tag')).toHaveText('Leader');
  const colourOf = (el: Element) => getComputedStyle(el).backgroundColor;
  const lenaColour = await parent.locator('.avatar').evaluate(colourOf);
  const palette = AVATAR_COLOURS.map((hex) => `rgb(${[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(', ')})`);
  expect(palette).toContain(lenaColour);
  expect(palette).toContain(await page.locator('.sidebar-foot .avatar').evaluate(colourOf));
  await parent.hover();
  await parent.getByRole('button', { name: 'Reply', exact: true }).click();
  const panel = page.getByTestId('thread-panel');
  await expect(panel.getByRole('heading', { name: 'Thread' })).toBeVisible();
  await expect(panel.getByTestId('thread-parent')).toContainText('We move to the new building on 3 March.');
  await expect(panel.getByTestId('thread-count')).toHaveText('No replies yet');

  // Ask a question in the thread, with the keyboard.
  const box = panel.getByLabel('Reply in thread');
  await expect(box).toBeFocused();
  await box.fill('Will there be parking for bikes?');
  await panel.getByLabel('Ask as a question').check();
  await box.press('Enter');
  const replies = panel.getByTestId('thread-reply');
  await expect(replies).toHaveCount(1);
  await expect(replies.first()).toContainText('Will there be parking for bikes?');
  await expect(replies.first().getByText('Question', { exact: true })).toBeVisible();

  // The leader sees it as a question in the thread, and answers there.
  const asked = await lena.waitFor(
    (f) => f.type === 'event' && f.content.kind === 'message' && f.content.thread === post.seq && !!f.content.question,
  );
  expect(asked.type === 'event' && asked.sender.username).toBe('sam');
  await lena.request({
    type: 'send',
    room: org,
    client_id: randomUUID(),
    body: 'Yes, 40 covered bike spaces.',
    thread: post.seq,
  });
  await expect(replies).toHaveCount(2);
  await expect(replies.nth(1)).toContainText('Yes, 40 covered bike spaces.');
  await expect(panel.getByTestId('thread-count')).toHaveText('2 replies');
  // The count under the message in the room updates live too.
  await expect(parent.getByTestId('thread-link')).toHaveText('2 replies');
  await page.screenshot({ path: join(SCREENSHOTS, 'thread.png') });

  // Escape closes the thread.
  await box.press('Escape');
  await expect(panel).toHaveCount(0);

  // After a reload the thread loads from the server.
  await page.reload();
  await openRoom(page, 'Announcements');
  // The same person has the same colour after a reload.
  await expect(page.locator(`.timeline [data-seq="${post.seq}"] .avatar`)).toHaveCSS('background-color', lenaColour);
  await page.locator(`.timeline [data-seq="${post.seq}"]`).getByTestId('thread-link').click();
  await expect(page.getByTestId('thread-reply')).toHaveCount(2);
  await expect(page.getByTestId('thread-reply').first()).toContainText('Will there be parking for bikes?');
  lena.close();
});

test('a room owner makes a member a moderator and back from the members panel', async ({ page }) => {
  const olga = await server.client('olga');
  const room = await olga.createRoom('projects');
  const sam = await server.client('sam');
  await sam.request({ type: 'join', room });

  await logIn(page, server, 'olga');
  await openRoom(page, 'projects');
  await page.getByRole('button', { name: /\d+ members?$/ }).click();
  const samRow = page.locator('.member').filter({ hasText: 'Sam Staff' });
  await expect(samRow.getByTestId('member-role')).toHaveCount(0);
  await samRow.getByRole('button', { name: 'Make Sam Staff a moderator' }).click();
  await expect(samRow.getByTestId('member-role')).toHaveText('moderator');
  // Sam's app is told.
  await sam.waitFor((f) => f.type === 'event' && f.content.kind === 'room_role_set' && f.content.role === 'moderator');
  await samRow.getByRole('button', { name: 'Make Sam Staff a member again' }).click();
  await expect(samRow.getByTestId('member-role')).toHaveCount(0);
  await sam.waitFor((f) => f.type === 'event' && f.content.kind === 'room_role_set' && f.content.role === 'member');
  // The owner's own row offers no role change.
  const olgaRow = page.locator('.member').filter({ hasText: 'Olga Owner' });
  await expect(olgaRow.getByTestId('set-room-role')).toHaveCount(0);
  olga.close();
  sam.close();
});

test('following a leader still shows after a reload', async ({ page }) => {
  await logIn(page, server, 'sam');
  await openRoom(page, 'Announcements');
  await page.getByRole('button', { name: /\d+ members?$/ }).click();
  const follow = page.getByRole('button', { name: 'Follow Lena Leader' });
  await expect(follow).toHaveAttribute('aria-pressed', 'false');
  await follow.click();
  await expect(follow).toHaveAttribute('aria-pressed', 'true');
  await expect(follow).toHaveText('Following');
  await page.reload();
  await openRoom(page, 'Announcements');
  await page.getByRole('button', { name: /\d+ members?$/ }).click();
  await expect(page.getByRole('button', { name: 'Follow Lena Leader' })).toHaveAttribute('aria-pressed', 'true');
});
