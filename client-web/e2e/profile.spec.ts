import { expect, test } from '@playwright/test';
import { ADMIN_PASSWORD, TownhallServer } from './server';
import { logIn, openRoom } from './ui';
import type { ServerFrame } from '../src/protocol';

// A person as others see them and as they set themselves (issue 13): the
// transformation-team tag, one's own display name, "My questions".

let server: TownhallServer;
let room: string;

/** An admin's PATCH of an account (the admin page does the same). */
async function patchUser(username: string, body: object): Promise<void> {
  const { token } = await server.login('admin', ADMIN_PASSWORD);
  const res = await fetch(`${server.url}/api/admin/users/${username}`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`patch ${username}: ${res.status} ${await res.text()}`);
}

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('tina', 'Tina Team');
  await server.createUser('sam', 'Sam Staff');
  await patchUser('tina', { transformation_team: true });
  const tina = await server.client('tina');
  room = await tina.createRoom('change-desk');
  await tina.send(room, 'The new rota starts Monday.');
  tina.close();
  const sam = await server.client('sam');
  await sam.request({ type: 'join', room });
  await sam.send(room, 'Thanks!');
  sam.close();
});

test.afterAll(async () => {
  await server?.dispose();
});

test('a transformation-team member is tagged as such in the timeline and on their card', async ({ page }) => {
  await logIn(page, server, 'sam');
  await openRoom(page, 'change-desk');
  const tinaMsg = page.getByTestId('timeline').locator('.msg', { hasText: 'The new rota starts Monday.' });
  await expect(tinaMsg.getByTestId('team-tag')).toHaveText('Team');
  // Sam is plain staff: no tag on his message.
  const samMsg = page.getByTestId('timeline').locator('.msg', { hasText: 'Thanks!' });
  await expect(samMsg).toBeVisible();
  await expect(samMsg.getByTestId('team-tag')).toHaveCount(0);
  await tinaMsg.getByTestId('person-name').first().click();
  await expect(page.getByTestId('profile-team')).toHaveText('Transformation team');
});

test('a person sets their own display name on the account page; a colleague sees it live', async ({ browser, page }) => {
  // Sam watches the members of the room in another browser.
  const samContext = await browser.newContext();
  const samPage = await samContext.newPage();
  await logIn(samPage, server, 'sam');
  await openRoom(samPage, 'change-desk');
  await samPage.getByRole('button', { name: /member/i }).first().click();
  await expect(samPage.locator('.member-name', { hasText: 'Tina Team' })).toBeVisible();

  await logIn(page, server, 'tina');
  await page.getByTestId('account-link').click();
  const form = page.getByTestId('display-name-form');
  const field = form.getByLabel('Display name');
  await expect(field).toHaveValue('Tina Team');

  // Refused before asking the server, in words.
  await field.fill('   ');
  await form.getByRole('button', { name: 'Save name' }).click();
  await expect(form.getByRole('alert')).toHaveText('Enter a display name.');

  await field.fill('  Tina Transform  ');
  await form.getByRole('button', { name: 'Save name' }).click();
  await expect(page.getByTestId('display-name-saved')).toBeVisible();
  await expect(field).toHaveValue('Tina Transform');
  await expect(page.locator('.me-name')).toHaveText('Tina Transform');

  // Live in Sam's members list, no reload.
  await expect(samPage.locator('.member-name', { hasText: 'Tina Transform' })).toBeVisible();
  await samContext.close();
});

test('"My questions" lists what I asked, anonymous ones too, with the answer inline', async ({ page }) => {
  const tina = await server.client('tina');
  // Tina (owner of change-desk, and on the team) allows anonymous questions.
  await tina.request({ type: 'set_anonymous_questions', room, on: true });
  const sam = await server.client('sam');
  const ack = await sam.request<Extract<ServerFrame, { type: 'ack' }>>({
    type: 'send',
    room,
    client_id: crypto.randomUUID(),
    body: 'Which desks are ours?',
    question: true,
  });
  await sam.request({ type: 'ask_anonymously', room, body: 'Is the office closing?' });
  const answer = await tina.send(room, 'Desks 12 to 20.');
  await tina.request({ type: 'mark_answer', room, question: ack.seq, answer: answer.seq });

  await logIn(page, server, 'sam');
  await page.getByTestId('my-questions-link').click();
  const items = page.getByTestId('my-question');
  await expect(items).toHaveCount(2);
  // Newest first: the anonymous one, waiting for the team; marked as mine only.
  await expect(items.nth(0)).toContainText('Is the office closing?');
  await expect(items.nth(0)).toContainText('Waiting for moderation');
  await expect(items.nth(0)).toContainText('Anonymous');
  await expect(items.nth(1)).toContainText('Which desks are ours?');
  await expect(items.nth(1).getByTestId('my-question-state')).toHaveText('Answered');
  await expect(items.nth(1).getByTestId('my-question-answer')).toContainText('Desks 12 to 20.');
  await expect(items.nth(1).getByTestId('my-question-answer')).toContainText('Tina');

  // Tina asked nothing: her list is empty (Sam's anonymous question is not hers).
  const tinaView = await tina.request<Extract<ServerFrame, { type: 'my_questions' }>>({ type: 'my_questions' });
  expect(tinaView.questions).toHaveLength(0);
  tina.close();
  sam.close();
});
