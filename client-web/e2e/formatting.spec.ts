import { expect, test } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SCREENSHOTS, TownhallServer, type WsClient } from './server';
import { logIn, openRoom } from './ui';

// Message formatting (src/markdown.ts): what a message renders to in the real
// page, that markup and script URLs stay inert, the @ autocomplete and the
// "Show more" fold of long messages.

let server: TownhallServer;
let bob: WsClient;
let room: string;

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('alice', 'Alice Martin');
  await server.createUser('bob', 'Bob Chen');
  // Sorts before "bob", but is not in the room: the room's people come first.
  await server.createUser('bea', 'Bea Brown');
  mkdirSync(SCREENSHOTS, { recursive: true });
  const alice = await server.client('alice');
  room = await alice.createRoom('formatting');
  alice.close();
  bob = await server.client('bob');
  await bob.request({ type: 'join', room });
});

test.afterAll(async () => {
  bob?.close();
  await server?.dispose();
});

test('formatting renders as elements; raw HTML and javascript: links stay inert text', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('dialog', (d) => {
    errors.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  await bob.send(
    room,
    [
      'Plan for **Monday**, _carefully_, ~~Tuesday~~ with `npm ci` @alice:',
      '```',
      'cargo build --release',
      '<b>not bold</b>',
      '```',
      '> quoted *words*',
      '- first',
      '- second',
      '1. one',
      '2. two',
      'Docs: www.example.com/guide and [the wiki](https://example.org/wiki).',
    ].join('\n'),
  );
  await bob.send(
    room,
    '<img src=x onerror="window.__pwned=1;alert(1)"> [click me](javascript:window.__pwned=2) <a href="javascript:alert(1)">x</a> <script>window.__pwned=3</script>',
  );
  await logIn(page, server, 'alice');
  await openRoom(page, 'formatting');
  const first = page.getByTestId('message-text').filter({ hasText: 'Plan for' });
  await expect(first.locator('strong')).toHaveText('Monday');
  await expect(first.locator('em')).toHaveText(['carefully', 'words']);
  await expect(first.locator('del')).toHaveText('Tuesday');
  await expect(first.locator('code.md-code')).toHaveText('npm ci');
  const pre = first.locator('pre');
  await expect(pre).toHaveText('cargo build --release\n<b>not bold</b>');
  expect(await pre.evaluate((el) => getComputedStyle(el).fontFamily)).toMatch(/mono/i);
  expect(await first.locator('code.md-code').evaluate((el) => getComputedStyle(el).fontFamily)).toMatch(/mono/i);
  await expect(first.locator('blockquote em')).toHaveText('words');
  await expect(first.locator('ul > li')).toHaveText(['first', 'second']);
  await expect(first.locator('ol > li')).toHaveText(['one', 'two']);
  await expect(first.getByRole('link', { name: 'www.example.com/guide' })).toHaveAttribute('href', 'https://www.example.com/guide');
  await expect(first.getByRole('link', { name: 'the wiki' })).toHaveAttribute('href', 'https://example.org/wiki');
  await expect(first.getByTestId('mention')).toHaveText('@alice');
  await expect(first.getByTestId('mention')).toHaveClass('mention mention-me');

  const evil = page.getByTestId('message-text').filter({ hasText: 'click me' });
  await expect(evil).toContainText('<img src=x onerror="window.__pwned=1;alert(1)">');
  await expect(evil).toContainText('<script>window.__pwned=3</script>');
  await expect(evil.locator('img, script, iframe')).toHaveCount(0);
  await expect(evil.locator('a')).toHaveCount(0);
  await expect(page.locator('.timeline a[href^="javascript:" i]')).toHaveCount(0);
  // Nothing ran.
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  expect(errors).toEqual([]);
});

test('@ autocomplete offers the room\'s people first and inserts the name', async ({ page }) => {
  await logIn(page, server, 'alice');
  await openRoom(page, 'formatting');
  const box = page.getByTestId('composer');
  // Opening a room puts the focus in its composer.
  await expect(box).toBeFocused();
  await page.keyboard.type('thanks @b');
  const options = page.getByTestId('mention-option');
  await expect(options.first()).toContainText('Bob Chen');
  await expect(options.nth(1)).toContainText('Bea Brown');
  await expect(box).toHaveAttribute('aria-activedescendant', /-0$/);
  await page.screenshot({ path: join(SCREENSHOTS, 'mention-autocomplete.png') });
  await page.keyboard.press('ArrowDown');
  await expect(options.nth(1)).toHaveAttribute('aria-selected', 'true');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('mention-list')).toHaveCount(0);
  await expect(box).toHaveValue('thanks @bob ');
  await page.keyboard.type('for the review');
  await page.keyboard.press('Enter');
  const sent = page.getByTestId('message-text').filter({ hasText: 'for the review' });
  await expect(sent.getByTestId('mention')).toHaveText('@bob');
  // Escape closes the list without sending or closing anything else.
  await page.keyboard.type('@');
  await expect(page.getByTestId('mention-list')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('mention-list')).toHaveCount(0);
  await expect(box).toHaveValue('@');
});

test('a long message folds behind "Show more"', async ({ page }) => {
  const lines = Array.from({ length: 40 }, (_, i) => `line ${i + 1} of the release notes`);
  await bob.send(room, lines.join('\n'));
  await logIn(page, server, 'alice');
  await openRoom(page, 'formatting');
  const msg = page.getByTestId('message').filter({ hasText: 'line 1 of the release notes' });
  const fold = msg.getByTestId('message-fold');
  const more = msg.getByRole('button', { name: 'Show more' });
  await expect(more).toBeVisible();
  await expect(more).toHaveAttribute('aria-expanded', 'false');
  const folded = (await fold.boundingBox())!.height;
  await more.click();
  await expect(msg.getByRole('button', { name: 'Show less' })).toHaveAttribute('aria-expanded', 'true');
  const open = (await fold.boundingBox())!.height;
  expect(open).toBeGreaterThan(folded * 1.5);
  await expect(msg.getByText('line 40 of the release notes')).toBeVisible();
});

test('@ autocomplete works in the thread composer too, and Escape there closes only the list', async ({ page }) => {
  const parent = await bob.send(room, 'thread for mentions');
  await logIn(page, server, 'alice');
  await openRoom(page, 'formatting');
  const msg = page.locator(`.timeline [data-seq="${parent.seq}"]`);
  await msg.hover();
  await msg.getByRole('button', { name: 'Reply', exact: true }).click();
  const box = page.getByTestId('thread-composer');
  await expect(box).toBeFocused();
  await page.keyboard.type('@bo');
  await expect(page.getByTestId('mention-option').first()).toContainText('Bob Chen');
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('mention-list')).toHaveCount(0);
  await expect(page.getByTestId('thread-panel')).toBeVisible();
  await page.keyboard.type('b');
  await page.keyboard.press('Tab');
  await expect(box).toHaveValue('@bob ');
});
