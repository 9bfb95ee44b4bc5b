import AxeBuilder from '@axe-core/playwright';
import { expect, test } from '@playwright/test';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { ServerFrame } from '../src/protocol';
import { ADMIN_PASSWORD, SCREENSHOTS, TownhallServer } from './server';
import { logIn, openRoom } from './ui';

// The FAQ (issue 15): a transformation team member publishes an answered
// question with topics from the room's timeline; a staff member who is in
// none of the rooms finds it on the FAQ page by a word and by a topic.

let server: TownhallServer;

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('tina', 'Tina Team');
  await server.createUser('olivia', 'Olivia Owner');
  await server.createUser('sam', 'Sam Staff');
  await server.createUser('carl', 'Carl Colleague');
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

test('a team member publishes an answered question; a colleague finds it in the FAQ', async ({ browser }) => {
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
  const a = await olivia.send(room, 'Yes: every contribution moves over unchanged.');
  await olivia.request({ type: 'mark_answer', room, question: q.seq, answer: a.seq });
  const tinaWs = await server.client('tina');
  await tinaWs.request({ type: 'join', room });
  sam.close();
  olivia.close();
  tinaWs.close();

  const pt = await (await browser.newContext()).newPage();
  await logIn(pt, server, 'tina');
  await openRoom(pt, 'benefits');
  const question = pt
    .getByTestId('timeline')
    .getByTestId('message')
    .filter({ hasText: 'Does the new pension plan keep my old contributions?' });
  await question.hover();
  await question.getByRole('button', { name: 'Publish to FAQ' }).click();
  const dialog = pt.getByRole('dialog', { name: 'Publish to the FAQ' });
  await expect(dialog).toContainText('everyone in the organisation');
  await dialog.getByLabel('Topics (comma-separated, optional)').fill('Pensions, Pay');
  await dialog.getByRole('button', { name: 'Publish', exact: true }).click();
  await expect(dialog.getByTestId('faq-published')).toContainText('FAQ #1');
  await dialog.getByRole('button', { name: 'Done' }).click();

  // Carl is in no room of it: he searches the FAQ.
  const pc = await (await browser.newContext()).newPage();
  await logIn(pc, server, 'carl');
  await pc.getByTestId('faq-link').click();
  await expect(pc.getByRole('heading', { name: 'FAQ', level: 1 })).toBeVisible();
  await pc.getByTestId('faq-search').fill('pension contributions');
  const entry = pc.getByTestId('faq-entry');
  await expect(entry).toHaveCount(1);
  await expect(entry).toContainText('Does the new pension plan keep my old contributions?');
  await expect(entry).toContainText('Yes: every contribution moves over unchanged.');
  await expect(entry).toContainText('Tina Team');
  // The public room is named, and the asker is not.
  await expect(entry).toContainText('#benefits');
  await expect(entry).not.toContainText('Sam Staff');
  await pc.getByTestId('faq-search').fill('parking');
  await expect(entry).toHaveCount(0);
  await pc.getByTestId('faq-search').fill('');
  await pc.getByRole('button', { name: /^pay/ }).click();
  await expect(pc.getByRole('button', { name: /^pay/ })).toHaveAttribute('aria-pressed', 'true');
  await expect(entry).toHaveCount(1);
  await pc.screenshot({ path: join(SCREENSHOTS, 'faq.png') });
  const axe = await new AxeBuilder({ page: pc }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
});
