import AxeBuilder from '@axe-core/playwright';
import { expect, test } from '@playwright/test';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ADMIN_PASSWORD, SCREENSHOTS, TownhallServer } from './server';
import { logIn } from './ui';
import type { ServerFrame } from '../src/protocol';

// Pulse (issue 15, "trends, as pictures"): a transformation team member
// opens Pulse and sees the questions asked and answered that this test
// made, downloads a chart's CSV and finds the same numbers in it; staff
// are not offered Pulse at all.

let server: TownhallServer;

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('tina', 'Tina Team');
  await server.createUser('carl', 'Carl Colleague');
  await server.createUser('sam', 'Sam Staff');
  const admin = await server.login('admin', ADMIN_PASSWORD);
  const res = await fetch(`${server.url}/api/admin/users/tina`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${admin.token}` },
    body: JSON.stringify({ transformation_team: true }),
  });
  expect(res.ok).toBe(true);

  // Carl (the room's owner, so he may mark answers) asks three questions,
  // says one more thing and answers the first; Sam votes for the second.
  const carl = await server.client('carl');
  const sam = await server.client('sam');
  const room = await carl.createRoom('all-hands');
  const ask = async (body: string) => {
    const ack = await carl.request<Extract<ServerFrame, { type: 'ack' }>>({
      type: 'send',
      room,
      client_id: randomUUID(),
      body,
      question: true,
    });
    return ack.seq;
  };
  const q1 = await ask('When does the move happen?');
  const q2 = await ask('Who leads the new unit?');
  await ask('Is the canteen staying?');
  const answer = (await carl.send(room, 'The move happens in March.')).seq;
  await carl.request({ type: 'mark_answer', room, question: q1, answer });
  await sam.request({ type: 'vote', room, seq: q2, on: true });
});

test.afterAll(async () => {
  await server?.dispose();
});

test('a team member sees the asked and answered numbers and downloads them as CSV', async ({ browser }) => {
  const page = await (await browser.newContext({ acceptDownloads: true })).newPage();
  await logIn(page, server, 'tina');
  await page.getByTestId('pulse-link').click();
  await expect(page.getByRole('heading', { name: 'Pulse', level: 1 })).toBeVisible();
  await expect(page.getByTestId('pulse-asked')).toHaveText('3');
  await expect(page.getByTestId('pulse-answered')).toHaveText('1');
  // The chart is an image with its numbers spelled out.
  const chart = page.getByTestId('pulse-questions').getByRole('img');
  await expect(chart).toHaveAttribute('aria-label', /3 questions asked and 1 answered/);
  await expect(page.getByTestId('pulse-top-questions')).toContainText('Who leads the new unit?');
  await expect(page.getByTestId('pulse-activity')).toContainText('all-hands');

  // The data table toggle shows the same numbers.
  await page.getByTestId('pulse-questions').getByRole('button', { name: 'Show table' }).click();
  await expect(page.getByTestId('pulse-questions').getByRole('table')).toBeVisible();

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('pulse-questions-csv').click(),
  ]);
  expect(download.suggestedFilename()).toBe('pulse-questions.csv');
  const path = await download.path();
  const csv = await readFile(path, 'utf8');
  const lines = csv.trim().split(/\r\n/);
  expect(lines[0]).toBe('day,asked,answered');
  expect(lines.length).toBe(31);
  const rows = lines.slice(1).map((l) => l.split(','));
  const total = (col: number) => rows.reduce((a, r) => a + Number(r[col]), 0);
  expect([total(1), total(2)]).toEqual([3, 1]);
  const today = new Date().toISOString().slice(0, 10);
  expect(rows[rows.length - 1]![0]! >= today || rows.some((r) => r[0] === today)).toBe(true);

  await page.getByTestId('pulse-questions').getByRole('button', { name: 'Hide table' }).click();
  await page.screenshot({ path: join(SCREENSHOTS, 'pulse.png'), fullPage: true });
  const axe = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
});

test('staff are not offered Pulse', async ({ browser }) => {
  const page = await (await browser.newContext()).newPage();
  await logIn(page, server, 'sam');
  await expect(page.getByTestId('questions-link')).toBeVisible();
  await expect(page.getByTestId('pulse-link')).toHaveCount(0);
  // Typing the address shows the refusal, not numbers.
  await page.evaluate(() => {
    location.hash = '#/pulse';
  });
  await expect(page.getByText('Only the transformation team, leaders and admins see the pulse.')).toBeVisible();
  await expect(page.getByTestId('pulse-asked')).toHaveCount(0);
});
