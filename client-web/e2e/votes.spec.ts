import { expect, test, type Page } from '@playwright/test';
import { TownhallServer } from './server';
import { logIn, openRoom, say } from './ui';

// Questions at all-hands scale (issue 15): one person votes, the other sees
// the count change live; the question is answered and the voter is told.

let server: TownhallServer;

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('olivia', 'Olivia Owner');
  await server.createUser('sam', 'Sam Staff');
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

test('a vote shows live to the asker, and the voter is told when it is answered', async ({ browser }) => {
  const po = await (await browser.newContext()).newPage();
  const ps = await (await browser.newContext()).newPage();
  await logIn(po, server, 'olivia');
  await logIn(ps, server, 'sam');

  await po.getByRole('button', { name: 'New room' }).click();
  await po.getByLabel('Name').fill('all-hands');
  await po.getByRole('button', { name: 'Create room' }).click();
  await expect(po.getByTestId('room-title')).toContainText('all-hands');
  await ps.getByRole('button', { name: 'Browse rooms' }).click();
  await ps.getByRole('button', { name: 'Join all-hands' }).click();
  await expect(ps.getByTestId('room-title')).toContainText('all-hands');

  // Olivia asks; she sees the count, not a button (she wants it answered already).
  await po.getByLabel('Ask as a question').check();
  await say(po, 'Is the Lyon office closing?');
  const qO = message(po, 'Is the Lyon office closing?');
  const qS = message(ps, 'Is the Lyon office closing?');
  await expect(qO.getByTestId('vote-count')).toContainText('0');
  await expect(qO.getByTestId('vote-button')).toHaveCount(0);

  // Sam votes: both see 1.
  const vote = qS.getByTestId('vote-button');
  await expect(vote).toHaveAttribute('aria-pressed', 'false');
  await vote.click();
  await expect(vote).toHaveAttribute('aria-pressed', 'true');
  await expect(qS.getByTestId('vote-count')).toHaveText('1');
  await expect(qO.getByTestId('vote-count')).toContainText('1');
  // Voting follows the question.
  await expect(qS.getByTestId('follow-toggle')).toHaveText('Following');
  // After a reload, Sam's vote still shows as his.
  await ps.reload();
  await openRoom(ps, 'all-hands');
  await expect(qS.getByTestId('vote-button')).toHaveAttribute('aria-pressed', 'true');
  await expect(qS.getByTestId('vote-count')).toHaveText('1');

  // The unanswered queue, sorted by votes, shows the count too.
  await po.getByTestId('questions-link').click();
  await po.getByTestId('question-sort').selectOption('votes');
  const item = po.getByTestId('question-list').locator('li').filter({ hasText: 'Is the Lyon office closing?' });
  await expect(item.getByTestId('vote-count')).toContainText('1');
  await item.getByTestId('open-question').click();
  await expect(po.getByTestId('room-title')).toContainText('all-hands');

  // Olivia answers and marks it; Sam is notified.
  await say(po, 'No: Lyon stays open.');
  const aO = message(po, 'No: Lyon stays open.');
  await expect(aO).toBeVisible();
  await qO.hover();
  await qO.getByRole('button', { name: 'Mark answer…' }).click();
  await aO.getByRole('button', { name: 'Mark as answer' }).click();
  await expect(qS.getByTestId('answered-badge')).toHaveText('Answered');
  await expect(ps.getByTestId('notices-unseen')).toHaveText('1');
  await ps.getByTestId('notices-toggle').click();
  await expect(ps.getByTestId('notice')).toHaveCount(1);
  await expect(ps.getByTestId('notice')).toContainText('Olivia Owner answered a question you follow in #all-hands');
  await expect(ps.getByTestId('notices-unseen')).toHaveCount(0);

  // Sam follows a thread from its panel; Olivia's reply there reaches him as a notice.
  await say(po, 'The new parking plan is out.');
  const plan = message(ps, 'The new parking plan is out.');
  await plan.hover();
  await plan.getByRole('button', { name: 'Reply', exact: true }).click();
  const panel = ps.getByTestId('thread-panel');
  await panel.getByTestId('follow-toggle').click();
  await expect(panel.getByTestId('follow-toggle')).toHaveText('Following');
  const planO = message(po, 'The new parking plan is out.');
  await planO.hover();
  await planO.getByRole('button', { name: 'Reply', exact: true }).click();
  const box = po.getByTestId('thread-panel').getByLabel('Reply in thread');
  await box.fill('Bikes get 40 covered spaces.');
  await box.press('Enter');
  await expect(ps.getByTestId('notice')).toHaveCount(2);
  await expect(ps.getByTestId('notice').first()).toContainText('Olivia Owner replied in a thread you follow in #all-hands');
});
