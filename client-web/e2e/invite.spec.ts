import { expect, test } from '@playwright/test';
import { ADMIN_PASSWORD, TownhallServer } from './server';
import { expectNoSeriousAxe } from './axe';
import { logIn } from './ui';

let server: TownhallServer;

test.beforeAll(async () => {
  server = await TownhallServer.start();
});

test.afterAll(async () => {
  await server?.dispose();
});

test('an admin invites someone by link; they choose a password in a fresh browser and land logged in', async ({
  page,
  browser,
}) => {
  await logIn(page, server, 'admin', ADMIN_PASSWORD);
  await page.getByTestId('admin-link').click();
  const form = page.getByTestId('new-invitation');
  await form.getByLabel('Username').fill('ivy');
  await form.getByLabel('Display name').fill('Ivy Invited');
  await form.getByLabel('Company role').selectOption('leader');
  await form.getByRole('button', { name: 'Create invitation link' }).click();

  // The link is shown once, on this server's own address.
  const shown = page.getByTestId('invite-link');
  await expect(shown).toContainText('Ivy Invited (@ivy)');
  const link = await page.getByTestId('invite-link-value').inputValue();
  expect(link).toMatch(new RegExp(`^${server.url.replace(/[.]/g, '\\.')}/#/invite/[0-9a-f]{64}$`));
  const row = page.getByTestId('invitation').filter({ hasText: '@ivy' });
  await expect(row).toHaveAttribute('data-state', 'pending');
  await expectNoSeriousAxe(page, 'admin page with an invitation link');
  await expect(page.getByTestId('audit-entry').filter({ hasText: 'invited' }).first()).toContainText('Ivy Invited');

  // Someone else's browser: no session, only the link.
  const other = await browser.newContext();
  const guest = await other.newPage();
  await guest.goto(link);
  const invitePage = guest.getByTestId('invite-page');
  await expect(invitePage).toContainText('@ivy');
  await expectNoSeriousAxe(guest, 'invitation page');
  await guest.getByLabel('Password (at least 8 characters)').fill('short');
  await guest.getByLabel('The same password again').fill('short');
  await guest.getByRole('button', { name: 'Create my account' }).click();
  await expect(invitePage.getByRole('alert')).toContainText('at least 8 characters');
  await guest.getByLabel('Password (at least 8 characters)').fill('ivy-chosen-password');
  await guest.getByLabel('The same password again').fill('ivy-chosen-password');
  await guest.getByRole('button', { name: 'Create my account' }).click();
  await expect(guest.getByRole('navigation', { name: 'Conversations' })).toBeVisible();
  expect(new URL(guest.url()).hash).not.toContain('invite');

  // The password works at the login page; the link does not work twice.
  const again = await other.newPage();
  await again.goto(link);
  await expect(again.getByTestId('invite-page').getByRole('alert')).toContainText('already used');
  await other.close();
  const res = await fetch(`${server.url}/api/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'ivy', password: 'ivy-chosen-password' }),
  });
  expect(res.status).toBe(200);

  // The admin sees it used; a second invitation can be revoked.
  await page.getByRole('button', { name: 'Refresh' }).click();
  await expect(row).toHaveAttribute('data-state', 'used');
  await form.getByLabel('Username').fill('rex');
  await form.getByRole('button', { name: 'Create invitation link' }).click();
  // The box still shows ivy's link until the new one arrives.
  await expect(shown).toContainText('(@rex)');
  const rexLink = await page.getByTestId('invite-link-value').inputValue();
  const rex = page.getByTestId('invitation').filter({ hasText: '@rex' });
  await rex.getByRole('button', { name: 'Revoke the invitation of rex' }).click();
  await expect(rex).toHaveAttribute('data-state', 'revoked');
  const third = await browser.newContext();
  const late = await third.newPage();
  await late.goto(rexLink);
  await expect(late.getByTestId('invite-page').getByRole('alert')).toContainText('withdrawn');
  await third.close();
});
