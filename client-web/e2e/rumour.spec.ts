import AxeBuilder from '@axe-core/playwright';
import { expect, test } from '@playwright/test';
import { join } from 'node:path';
import { ADMIN_PASSWORD, SCREENSHOTS, TownhallServer } from './server';
import { logIn, say } from './ui';

// Rumour watch (issue 15): a transformation team member watches a phrase,
// a colleague writes it (in another case, with accents) in a public room,
// the alert appears live with its context and the weekly count, and the
// team member answers in the message's thread from the alert.

let server: TownhallServer;

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('tina', 'Tina Team');
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

test('a watched phrase raises a live alert; the team member replies in its thread', async ({ browser }) => {
  const pt = await (await browser.newContext()).newPage();
  const pc = await (await browser.newContext()).newPage();
  await logIn(pc, server, 'carl');
  await pc.getByRole('button', { name: 'New room' }).click();
  await pc.getByLabel('Name').fill('lyon-office');
  await pc.getByRole('button', { name: 'Create room' }).click();
  await expect(pc.getByTestId('room-title')).toContainText('lyon-office');

  await logIn(pt, server, 'tina');
  await pt.getByTestId('rumours-link').click();
  await expect(pt.getByRole('heading', { name: 'Rumour watch', level: 1 })).toBeVisible();
  for (const phrase of ['office closing', 'Délocalisation']) {
    await pt.getByLabel('Add a word or phrase').fill(phrase);
    await pt.getByRole('button', { name: 'Watch', exact: true }).click();
    await expect(pt.getByTestId('watch-phrases')).toContainText(phrase);
  }
  await expect(pt.getByRole('button', { name: 'Remove office closing' })).toBeVisible();

  // Carl writes it; Tina (not a member of the public room) is alerted live.
  await say(pc, 'Heard the OFFICE CLOSING rumour? And a delocalisation to Porto?');
  const alert = pt.getByTestId('watch-alert');
  await expect(alert).toHaveCount(1);
  await expect(alert).toContainText('Délocalisation, office closing');
  await expect(alert).toContainText('#lyon-office');
  await expect(alert).toContainText('Carl Colleague');
  await expect(alert).toContainText('Heard the OFFICE CLOSING rumour?');
  // The weekly table counts it this week (the last column).
  const row = pt.getByTestId('watch-counts').getByRole('row', { name: /office closing/ });
  await expect(row.locator('td').nth(11)).toContainText('1');
  await pt.screenshot({ path: join(SCREENSHOTS, 'rumour-alert.png') });
  // The panel passes axe (serious and critical findings).
  const axe = await new AxeBuilder({ page: pt }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);

  // A non-matching message raises nothing.
  await say(pc, 'The office is closing early today for the party');
  await expect(pc.getByTestId('timeline')).toContainText('closing early');
  await expect(alert).toHaveCount(1);

  // Reply in thread, from the alert, with a link to the official answer.
  await alert.getByTestId('watch-reply').click();
  const panel = pt.getByTestId('thread-panel');
  await expect(panel.getByTestId('thread-parent')).toContainText('Heard the OFFICE CLOSING rumour?');
  const box = panel.getByRole('textbox');
  await box.fill('No closing is planned: see the official answer https://intranet.example/faq/lyon');
  await box.press('Enter');
  await expect(panel.getByTestId('thread-replies')).toContainText('No closing is planned');
});
