import { expect, test } from '@playwright/test';
import { join } from 'node:path';
import { ADMIN_PASSWORD, SCREENSHOTS, TownhallServer } from './server';
import { logIn, openRoom } from './ui';

let server: TownhallServer;

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('sam', 'Sam Staff');
  await server.createUser('lena', 'Lena Leader', 'lena-password', 'leader');
});

test.afterAll(async () => {
  await server?.dispose();
});

/** Whether the server lets this username and password in (HTTP status of the login). */
async function loginStatus(username: string, password: string): Promise<number> {
  const res = await fetch(`${server.url}/api/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  return res.status;
}

test('an admin creates an account, changes its role, resets its password, disables and re-enables it', async ({
  page,
  context,
}) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await logIn(page, server, 'admin', ADMIN_PASSWORD);
  await page.getByTestId('admin-link').click();
  const form = page.getByTestId('new-person');

  // A generated one-time password, shown once with a copy button.
  await form.getByLabel('Username').fill('nina');
  await form.getByLabel('Display name').fill('Nina New');
  await form.getByRole('button', { name: 'Create account' }).click();
  const otp = page.getByTestId('one-time-password');
  await expect(otp).toContainText('Nina New (@nina)');
  const first = await page.getByTestId('otp-value').inputValue();
  expect(first).toMatch(/^[A-Za-z0-9]{16}$/);
  await otp.getByRole('button', { name: 'Copy' }).click();
  await expect(otp.getByRole('button', { name: 'Copied' })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(first);
  expect(await loginStatus('nina', first)).toBe(200);
  await otp.getByRole('button', { name: 'Done' }).click();
  await expect(otp).toHaveCount(0);
  const nina = page.getByTestId('admin-user').filter({ hasText: '@nina' });
  await expect(nina).toContainText('Nina New');

  // The same username in another case is refused, in words.
  await form.getByLabel('Username').fill('NINA');
  await form.getByRole('button', { name: 'Create account' }).click();
  await expect(form.getByRole('alert')).toContainText('The username “NINA” is taken');

  // A chosen password: too short is refused before asking the server.
  await form.getByLabel('Username').fill('omar');
  await form.getByLabel('Choose the password myself').check();
  await form.getByLabel('Password (at least 8 characters)').fill('short');
  await form.getByRole('button', { name: 'Create account' }).click();
  await expect(form.getByRole('alert')).toContainText('at least 8 characters');
  await form.getByLabel('Password (at least 8 characters)').fill('omar-chosen-pw');
  await form.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByTestId('otp-value')).toHaveValue('omar-chosen-pw');
  expect(await loginStatus('omar', 'omar-chosen-pw')).toBe(200);

  // Company role: staff → leader, as the server sees it after a reload.
  await nina.getByLabel('Company role of Nina New').selectOption('leader');
  await expect(page.getByTestId('audit-entry').filter({ hasText: 'changed user' }).first()).toContainText('Nina New');
  await page.reload();
  await expect(nina.getByLabel('Company role of Nina New')).toHaveValue('leader');

  // Reset: the old password stops working, the new one is shown once.
  await nina.getByRole('button', { name: 'Reset password of Nina New' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Reset password' }).click();
  await expect(page.getByTestId('one-time-password')).toContainText('Nina New (@nina)');
  const second = await page.getByTestId('otp-value').inputValue();
  expect(second).not.toBe(first);
  expect(await loginStatus('nina', first)).toBe(401);
  expect(await loginStatus('nina', second)).toBe(200);

  // Disable: she cannot log in; enable: she can again.
  await nina.getByRole('button', { name: 'Disable Nina New' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Disable' }).click();
  await expect(nina).toContainText('(disabled)');
  expect(await loginStatus('nina', second)).toBe(401);
  await nina.getByRole('button', { name: 'Enable Nina New' }).click();
  await expect(nina).not.toContainText('(disabled)');
  expect(await loginStatus('nina', second)).toBe(200);

  // Admins cannot lock themselves out from here.
  const me = page.getByTestId('admin-user').filter({ hasText: '@admin' });
  await expect(me.getByRole('button', { name: /Disable/ })).toHaveCount(0);
  await expect(me.getByLabel(/Company role of/)).toBeDisabled();
  await page.screenshot({ path: join(SCREENSHOTS, 'admin.png') });
});

test('a person changes their own password and lands on the login page with a clear notice', async ({ page }) => {
  await server.createUser('pia', 'Pia Person', 'pia-old-password');
  await logIn(page, server, 'pia', 'pia-old-password');
  await page.getByTestId('account-link').click();
  const view = page.getByTestId('account-view');
  await expect(view.getByRole('heading', { name: 'Your account' })).toBeVisible();

  // A wrong current password is said in words, and nothing changes.
  await view.getByLabel('Current password').fill('not-my-password');
  await view.getByLabel('New password (at least 8 characters)').fill('pia-new-password');
  await view.getByLabel('New password again').fill('pia-new-password');
  await view.getByRole('button', { name: 'Change password' }).click();
  await expect(view.getByRole('alert')).toHaveText('Your current password is not right.');

  // Mismatched new passwords never reach the server.
  await view.getByLabel('Current password').fill('pia-old-password');
  await view.getByLabel('New password again').fill('pia-other-password');
  await view.getByRole('button', { name: 'Change password' }).click();
  await expect(view.getByRole('alert')).toHaveText('The two new passwords differ.');

  await view.getByLabel('New password again').fill('pia-new-password');
  await view.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByRole('button', { name: 'Log in' })).toBeVisible();
  await expect(page.getByText('Your password was changed')).toBeVisible();
  // It stays on the login page (no reconnect loop with the ended session).
  await page.waitForTimeout(1500);
  await expect(page.getByRole('button', { name: 'Log in' })).toBeVisible();
  expect(await loginStatus('pia', 'pia-old-password')).toBe(401);

  await page.getByLabel('Username').fill('pia');
  await page.getByLabel('Password').fill('pia-new-password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('navigation', { name: 'Conversations' })).toBeVisible();
});

test('staff get no Leave button in the organisation room, and a public room name is taken in any case', async ({
  page,
}) => {
  const lena = await server.client('lena');
  await lena.createRoom('General');
  lena.close();

  await logIn(page, server, 'sam');
  await openRoom(page, 'Announcements');
  await expect(page.getByTestId('room-title')).toContainText('Announcements');
  await expect(page.getByTestId('leave')).toHaveCount(0);

  await page.getByRole('button', { name: 'New room' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Name').fill('general');
  await dialog.getByRole('button', { name: /Create/ }).click();
  await expect(dialog.getByRole('alert')).toContainText('A public room named “general” already exists');

  // Sam's own room has a Leave button.
  await dialog.getByLabel('Name').fill('sams-corner');
  await dialog.getByRole('button', { name: /Create/ }).click();
  await expect(page.getByTestId('room-title')).toContainText('sams-corner');
  await expect(page.getByTestId('leave')).toBeVisible();
});

test('clicking a name opens the person’s card with their role, and "Message" opens the DM', async ({ page }) => {
  const lena = await server.client('lena');
  const room = await lena.createRoom('hr-news');
  const sam = await server.client('sam');
  await sam.request({ type: 'join', room });
  sam.close();
  await lena.send(room, 'Open office hours on Thursday');
  lena.close();

  await logIn(page, server, 'sam');
  await openRoom(page, 'hr-news');
  const msg = page.getByTestId('timeline').getByTestId('message').filter({ hasText: 'Open office hours on Thursday' });
  await msg.getByTestId('person-name').click();
  const card = page.getByRole('dialog', { name: 'Lena Leader' });
  await expect(card.getByTestId('profile-card')).toContainText('@lena');
  await expect(card.getByTestId('profile-role')).toHaveText('Leader');
  // Escape closes it and gives the focus back to the name.
  await page.keyboard.press('Escape');
  await expect(card).toHaveCount(0);
  await expect(msg.getByTestId('person-name')).toBeFocused();

  await msg.getByTestId('person-name').click();
  await card.getByRole('button', { name: 'Message' }).click();
  await expect(card).toHaveCount(0);
  await expect(page.getByTestId('room-title')).toContainText('Lena Leader');
});
