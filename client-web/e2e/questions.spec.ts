import { expect, test, type Page } from '@playwright/test';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerFrame } from '../src/protocol';
import { SCREENSHOTS, TownhallServer } from './server';
import { logIn, say } from './ui';

let server: TownhallServer;

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('olivia', 'Olivia Owner');
  await server.createUser('sam', 'Sam Staff');
  mkdirSync(SCREENSHOTS, { recursive: true });
});

test.afterAll(async () => {
  await server?.dispose();
});

/** The timeline item of the message whose text is exactly `text`. */
function message(page: Page, text: string | RegExp) {
  return page
    .getByTestId('timeline')
    .getByTestId('message')
    .filter({ has: page.getByTestId('message-text').filter({ hasText: text }) });
}

test('questions, answers, edits, deletes and reactions reach both people live', async ({ browser }) => {
  const ctxO = await browser.newContext();
  const ctxS = await browser.newContext();
  const po = await ctxO.newPage();
  const ps = await ctxS.newPage();
  await logIn(po, server, 'olivia');
  await logIn(ps, server, 'sam');

  // Olivia owns a public room; Sam joins it.
  await po.getByRole('button', { name: 'New room' }).click();
  await po.getByLabel('Name').fill('ask-hr');
  await po.getByRole('button', { name: 'Create room' }).click();
  await expect(po.getByTestId('room-title')).toContainText('ask-hr');
  await ps.getByRole('button', { name: 'Browse rooms' }).click();
  await ps.getByRole('button', { name: 'Join ask-hr' }).click();
  await expect(ps.getByTestId('room-title')).toContainText('ask-hr');

  // Sam asks a question.
  await ps.getByLabel('Ask as a question').check();
  await say(ps, 'Will our team move to the new building?');
  const qS = message(ps, 'Will our team move to the new building?');
  const qO = message(po, 'Will our team move to the new building?');
  await expect(qS.getByTestId('question-badge')).toHaveText('Question');
  await expect(qO.getByTestId('question-badge')).toHaveText('Question');
  await expect(ps.getByLabel('Ask as a question')).not.toBeChecked();

  // The owner's Questions view lists it with the open count.
  await po.getByTestId('questions-link').click();
  await expect(po.getByRole('heading', { name: 'Questions' })).toBeVisible();
  await expect(po.getByTestId('open-count')).toHaveText('1');
  const item = po.getByTestId('open-question');
  await expect(item).toHaveCount(1);
  await expect(item).toContainText('Will our team move to the new building?');
  await expect(item).toContainText('#ask-hr');
  await po.screenshot({ path: join(SCREENSHOTS, 'questions.png') });
  // Clicking opens the room at that message.
  await item.click();
  await expect(po.getByTestId('room-title')).toContainText('ask-hr');
  await expect(qO).toHaveClass(/focused/);

  // Olivia answers and marks the answer.
  await say(po, 'Yes, in March.');
  const aO = message(po, 'Yes, in March.');
  await expect(aO).toBeVisible();
  await qO.hover();
  await qO.getByRole('button', { name: 'Mark answer…' }).click();
  await expect(po.getByTestId('answer-banner')).toBeVisible();
  await aO.getByRole('button', { name: 'Mark as answer' }).click();
  await expect(po.getByTestId('answer-banner')).toHaveCount(0);
  await expect(qO.getByTestId('answered-badge')).toHaveText('Answered');
  await expect(qS.getByTestId('answered-badge')).toHaveText('Answered');
  await expect(message(ps, 'Yes, in March.').getByTestId('answer-badge')).toBeVisible();
  // A staff asker may not mark answers.
  await qS.hover();
  await expect(qS.getByRole('button', { name: 'Mark answer…' })).toHaveCount(0);

  // A reaction shows its count on both sides, highlighted for the reactor only.
  await qO.hover();
  await qO.getByRole('button', { name: 'Add reaction' }).click();
  await qO.getByRole('button', { name: 'React with 🎉' }).click();
  const rO = qO.locator('[data-testid="reaction"][data-emoji="🎉"]');
  const rS = qS.locator('[data-testid="reaction"][data-emoji="🎉"]');
  await expect(rO).toContainText('1');
  await expect(rO).toHaveAttribute('aria-pressed', 'true');
  await expect(rS).toContainText('1');
  await expect(rS).toHaveAttribute('aria-pressed', 'false');
  // Sam adds his: 2 on both sides; then takes it back.
  await rS.click();
  await expect(rS).toContainText('2');
  await expect(rO).toContainText('2');
  await rS.click();
  await expect(rO).toContainText('1');
  await expect(rS).toHaveAttribute('aria-pressed', 'false');

  // Sam edits a message (keyboard: Enter saves); Olivia sees it live.
  await say(ps, 'Thanks a lot!');
  const tS = message(ps, 'Thanks a lot!');
  await expect(message(po, 'Thanks a lot!')).toBeVisible();
  await tS.hover();
  await tS.getByRole('button', { name: 'Edit' }).click();
  const box = ps.getByLabel('Edit message');
  await expect(box).toBeFocused();
  await box.fill('Thanks a lot, Olivia!');
  await box.press('Enter');
  const edited = message(po, 'Thanks a lot, Olivia!');
  await expect(edited).toBeVisible();
  await expect(edited.getByTestId('edited-mark')).toBeVisible();
  await expect(message(ps, 'Thanks a lot, Olivia!').getByTestId('edited-mark')).toBeVisible();

  // Escape cancels an edit.
  const eS = message(ps, 'Thanks a lot, Olivia!');
  await eS.hover();
  await eS.getByRole('button', { name: 'Edit' }).click();
  await ps.getByLabel('Edit message').fill('never saved');
  await ps.getByLabel('Edit message').press('Escape');
  await expect(ps.getByLabel('Edit message')).toHaveCount(0);
  await expect(eS.getByRole('button', { name: 'Edit' })).toBeFocused();
  await expect(eS).toBeVisible();

  // Sam deletes a message after confirming; Olivia sees the tombstone.
  await say(ps, 'oops, wrong room');
  const wS = message(ps, 'oops, wrong room');
  await expect(message(po, 'oops, wrong room')).toBeVisible();
  // Olivia (owner) may delete others' messages; Sam may not delete hers.
  await expect(message(ps, 'Yes, in March.').getByRole('button', { name: 'Delete' })).toHaveCount(0);
  await expect(message(po, 'oops, wrong room').getByRole('button', { name: 'Delete' })).toHaveCount(1);
  await wS.hover();
  await wS.getByRole('button', { name: 'Delete' }).click();
  await ps.getByRole('button', { name: 'Delete message' }).click();
  await expect(message(po, 'oops, wrong room')).toHaveCount(0);
  await expect(message(po, '(message deleted)')).toHaveCount(1);
  await expect(message(ps, '(message deleted)')).toHaveCount(1);

  // Keyboard: the picker takes focus when it opens; Escape closes it and goes back.
  await qO.hover();
  await qO.getByRole('button', { name: 'Add reaction' }).click();
  await expect(qO.getByRole('button', { name: 'React with 👍' })).toBeFocused();
  await po.keyboard.press('Escape');
  await expect(qO.getByRole('group', { name: 'Pick a reaction' })).toHaveCount(0);
  await expect(qO.getByRole('button', { name: 'Add reaction' })).toBeFocused();
  // After a reload, history shows the same state.
  await ps.reload();
  await ps.getByRole('navigation', { name: 'Conversations' }).getByRole('link', { name: /ask-hr/ }).click();
  await expect(message(ps, 'Will our team move to the new building?').getByTestId('answered-badge')).toBeVisible();
  await expect(message(ps, 'Thanks a lot, Olivia!').getByTestId('edited-mark')).toBeVisible();
  await expect(message(ps, '(message deleted)')).toHaveCount(1);
  await expect(
    message(ps, 'Will our team move to the new building?').locator('[data-testid="reaction"][data-emoji="🎉"]'),
  ).toContainText('1');

  // The answered question left Olivia's queue; a new one shows up there live.
  await po.getByTestId('questions-link').click();
  await expect(po.getByTestId('open-count')).toHaveText('0');
  await expect(po.getByText('No open questions you can answer.')).toBeVisible();
  await ps.getByLabel('Ask as a question').check();
  await say(ps, 'Is parking included?');
  await expect(po.getByTestId('open-count')).toHaveText('1');
  await expect(po.getByTestId('open-question')).toContainText('Is parking included?');

  await ctxO.close();
  await ctxS.close();
});

test('Home shows the answer to my question under the question, and links to it', async ({ page }) => {
  const olivia = await server.client('olivia');
  const room = await olivia.createRoom('benefits');
  const sam = await server.client('sam');
  await sam.request({ type: 'join', room });
  const q = await sam.request<Extract<ServerFrame, { type: 'ack' }>>({
    type: 'send',
    room,
    client_id: randomUUID(),
    body: 'Does the new pension plan keep my old contributions?',
    question: true,
  });
  sam.close();
  // While Sam is away, Olivia answers, then the room moves on.
  const a = await olivia.send(room, 'Yes: every contribution moves over unchanged.');
  await olivia.request({ type: 'mark_answer', room, question: q.seq, answer: a.seq });
  await olivia.send(room, 'Thanks all, more details on Friday.');
  olivia.close();

  await logIn(page, server, 'sam');
  const answers = page.getByTestId('my-answers');
  await expect(answers).toContainText('Does the new pension plan keep my old contributions?');
  await expect(answers.getByTestId('my-answer-text')).toContainText('Olivia Owner answered: Yes: every contribution moves over unchanged.');
  // It links to the answer in its room.
  await answers.getByRole('link').first().click();
  await expect(page.getByTestId('room-title')).toContainText('benefits');
});
