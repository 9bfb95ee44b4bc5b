import AxeBuilder from '@axe-core/playwright';
import { expect, test } from '@playwright/test';
import { join } from 'node:path';
import { ADMIN_PASSWORD, SCREENSHOTS, TownhallServer } from './server';
import { logIn } from './ui';

// An empty install guides the first admin: create rooms, add people, name
// the transformation team; each step is ticked from what the server holds.

let server: TownhallServer;

test.beforeAll(async () => {
  server = await TownhallServer.start();
});

test.afterAll(async () => {
  await server?.dispose();
});

test('on an empty install the first admin is guided through rooms, people and the team; staff never see the guide', async ({
  page,
}) => {
  await logIn(page, server, 'admin', ADMIN_PASSWORD);
  const setup = page.getByTestId('setup');
  await expect(setup).toContainText('Set up Townhall');
  await expect(setup).toContainText('0 of 3 done');
  await page.screenshot({ path: join(SCREENSHOTS, 'onboarding.png') });
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    const axe = await new AxeBuilder({ page }).include('[data-testid="setup"]').withTags(['wcag2a', 'wcag2aa']).analyze();
    const bad = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help}`);
    expect(bad, `setup guide, ${scheme} theme`).toEqual([]);
  }
  await page.emulateMedia({ colorScheme: 'light' });

  // Step 1: a room, from the guide's own button.
  await setup.getByRole('button', { name: 'New room' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Name').fill('general');
  await dialog.getByRole('button', { name: 'Create room' }).click();
  await expect(page.getByTestId('room-title')).toContainText('general');
  await page.getByRole('link', { name: 'Townhall' }).first().click();
  await expect(setup).toContainText('1 of 3 done');
  await expect(setup.getByTestId('setup-rooms').getByRole('button')).toHaveCount(0);

  // Step 2: a person, through the Administration view it links to.
  await setup.getByRole('link', { name: 'Add people' }).click();
  const form = page.getByTestId('new-person');
  await form.getByLabel('Username').fill('tom');
  await form.getByLabel('Display name').fill('Tom Team');
  await form.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByTestId('one-time-password')).toContainText('Tom Team (@tom)');
  await page.getByTestId('one-time-password').getByRole('button', { name: 'Done' }).click();
  // Step 3: the team.
  await page.getByRole('checkbox', { name: 'Tom Team is on the transformation team' }).check();
  await expect(page.getByRole('checkbox', { name: 'Tom Team is on the transformation team' })).toBeChecked();

  // Everything done: the guide is gone, also after a reload.
  await page.getByRole('link', { name: 'Townhall' }).first().click();
  await expect(page.getByRole('heading', { name: /Welcome back/ })).toBeVisible();
  await expect(setup).toHaveCount(0);
  await page.reload();
  await expect(page.getByRole('heading', { name: /Welcome back/ })).toBeVisible();
  await expect(setup).toHaveCount(0);
});

test('an admin can hide the guide on a half-done install, and staff never see it', async ({ browser }) => {
  const fresh = await TownhallServer.start();
  try {
    await fresh.createUser('sam', 'Sam Staff');
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await logIn(page, fresh, 'admin', ADMIN_PASSWORD);
    const setup = page.getByTestId('setup');
    await expect(setup).toContainText('1 of 3 done');
    await setup.getByRole('button', { name: 'Hide this guide' }).click();
    await expect(setup).toHaveCount(0);
    // The focus does not fall to the page: it moves to Home's heading.
    await expect(page.locator('#home-title')).toBeFocused();
    await page.reload();
    await expect(page.getByRole('heading', { name: /Welcome back/ })).toBeVisible();
    await expect(setup).toHaveCount(0);
    await ctx.close();

    const ctxS = await browser.newContext();
    const staff = await ctxS.newPage();
    await logIn(staff, fresh, 'sam');
    await expect(staff.getByRole('heading', { name: /Welcome back/ })).toBeVisible();
    await expect(staff.getByTestId('setup')).toHaveCount(0);
    await ctxS.close();
  } finally {
    await fresh.dispose();
  }
});
