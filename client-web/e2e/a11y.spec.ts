import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_PASSWORD, SCREENSHOTS, TownhallServer, type WsClient } from './server';
import { logIn, openRoom } from './ui';

// Accessibility: axe-core on every main view, in the light and the dark theme
// (dark as the system's preference: the app follows prefers-color-scheme).
// No serious or critical violation is allowed; contrast is one of the rules.

let server: TownhallServer;
let bob: WsClient;
let room: string;
let parentSeq: number;

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('alice', 'Alice Martin');
  await server.createUser('bob', 'Bob Chen', undefined, 'leader');
  mkdirSync(SCREENSHOTS, { recursive: true });
  bob = await server.client('bob');
  room = await bob.createRoom('launch', 'public', 'Launch planning');
  const alice = await server.client('alice');
  await alice.request({ type: 'join', room });
  alice.close();
  const parent = await bob.send(room, 'Launch checklist: **docs**, `release notes`, and www.example.com/launch @alice');
  parentSeq = parent.seq;
  await bob.request({ type: 'send', room, client_id: crypto.randomUUID(), body: 'Docs are done.', thread: parentSeq });
  await bob.request({ type: 'send', room, client_id: crypto.randomUUID(), body: 'Who signs off on the launch?', question: true });
  await bob.send(room, '> quoted\n- a list\n- of things');
});

test.afterAll(async () => {
  bob?.close();
  await server?.dispose();
});

async function check(page: Page, view: string): Promise<void> {
  // Let transitions settle so colours are final.
  await page.waitForTimeout(250);
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const report = bad.map((v) => `${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.map((n) => `${n.target.join(' ')} — ${n.failureSummary?.replace(/\n/g, ' ')}`).slice(0, 5).join('\n  ')}`);
  expect(report, `${view}: axe found serious/critical violations`).toEqual([]);
  // Contrast was really checked (not skipped as "incomplete" everywhere).
  expect(result.passes.map((p) => p.id), `${view}: colour contrast checked`).toContain('color-contrast');
}

for (const scheme of ['light', 'dark'] as const) {
  test(`every main view passes axe in the ${scheme} theme`, async ({ page }) => {
    await page.emulateMedia({ colorScheme: scheme });
    await page.goto(server.url + '/');
    await expect(page.locator('html')).toHaveAttribute('data-theme', scheme);
    await expect(page.getByRole('heading', { name: 'Sign in to Townhall' })).toBeVisible();
    await check(page, 'login');

    await logIn(page, server, 'alice');
    await expect(page.getByRole('heading', { name: /Welcome/ })).toBeVisible();
    await check(page, 'home');

    await openRoom(page, 'launch');
    await expect(page.getByTestId('message-text').filter({ hasText: 'of things' })).toBeVisible();
    await check(page, 'room');
    await page.screenshot({ path: join(SCREENSHOTS, `room-${scheme}.png`) });

    const parent = page.locator(`.timeline [data-seq="${parentSeq}"]`);
    await parent.hover();
    await parent.getByRole('button', { name: 'Reply', exact: true }).click();
    await expect(page.getByTestId('thread-reply')).toHaveCount(1);
    await check(page, 'thread panel');
    await page.keyboard.press('Escape');

    await page.keyboard.press('Control+k');
    await expect(page.getByTestId('quick-switcher')).toBeVisible();
    await check(page, 'quick switcher');
    if (scheme === 'dark') await page.screenshot({ path: join(SCREENSHOTS, 'quick-switcher-dark.png') });
    await page.keyboard.press('Escape');

    await page.locator('.timeline li[data-seq]').last().focus();
    await page.keyboard.press('?');
    await expect(page.getByTestId('shortcut-help')).toBeVisible();
    await check(page, 'shortcut help');
    await page.keyboard.press('Escape');

    await page.getByTestId('questions-link').click();
    await expect(page.getByRole('heading', { name: 'Questions' })).toBeVisible();
    await check(page, 'questions');

    await page.getByRole('searchbox', { name: 'Search messages' }).fill('launch');
    await page.getByRole('searchbox', { name: 'Search messages' }).press('Enter');
    await expect(page.locator('.search-result').first()).toBeVisible();
    await check(page, 'search results');

    await page.getByTestId('mentions-link').click();
    await expect(page.getByRole('heading', { name: 'Mentions' })).toBeVisible();
    await check(page, 'mentions');

    await page.getByTestId('account-link').click();
    await expect(page.getByTestId('account-view')).toBeVisible();
    await check(page, 'account');

    await page.getByRole('button', { name: 'Log out' }).click();
    await logIn(page, server, 'admin', ADMIN_PASSWORD);
    await page.getByTestId('admin-link').click();
    await expect(page.getByRole('heading', { name: 'Administration' })).toBeVisible();
    await expect(page.getByText('Bob Chen').first()).toBeVisible();
    await check(page, 'admin people');

    await openRoom(page, 'Announcements');
    await page.getByTestId('room-settings-button').click();
    await expect(page.getByRole('dialog', { name: 'Room settings' })).toBeVisible();
    await check(page, 'room settings');
    await page.keyboard.press('Escape');
  });
}

test('the theme toggle overrides the system and is remembered; Account can follow the system again', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'light' });
  await logIn(page, server, 'alice');
  const html = page.locator('html');
  await expect(html).toHaveAttribute('data-theme', 'light');
  const toggle = page.getByRole('button', { name: 'Dark mode' });
  await expect(toggle).toHaveAttribute('aria-pressed', 'false');
  await toggle.click();
  await expect(html).toHaveAttribute('data-theme', 'dark');
  await expect(toggle).toHaveAttribute('aria-pressed', 'true');
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  expect(bg).toBe('rgb(21, 24, 30)');
  await page.reload();
  await expect(html).toHaveAttribute('data-theme', 'dark');
  await page.setViewportSize({ width: 390, height: 800 });
  await openRoom(page, 'launch');
  await page.screenshot({ path: join(SCREENSHOTS, 'phone-dark.png') });
  await page.getByRole('link', { name: 'Back to conversations' }).click();
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.getByTestId('account-link').click();
  await page.getByRole('radio', { name: 'Follow the system' }).check();
  await expect(html).toHaveAttribute('data-theme', 'light');
  await page.emulateMedia({ colorScheme: 'dark' });
  await expect(html).toHaveAttribute('data-theme', 'dark');
  await page.setViewportSize({ width: 390, height: 800 });
  await page.emulateMedia({ colorScheme: 'light' });
  await openRoom(page, 'launch');
  await page.screenshot({ path: join(SCREENSHOTS, 'phone-light.png') });
});
