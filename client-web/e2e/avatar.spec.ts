import { expect, test } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { expectNoSeriousAxe } from './axe';
import { SCREENSHOTS, TownhallServer } from './server';
import { logIn, openRoom } from './ui';

// Profile pictures (issue 13): a person sets theirs on the account page; a
// colleague in another browser sees it beside their messages at once, and
// their initials again once it is removed.

let server: TownhallServer;

function crc32(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of data) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A `w` × `h` RGB PNG: a warm gradient with a dark disc, easy to see. */
function png(w: number, h: number): Buffer {
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0;
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      const inDisc = (x - w / 2) ** 2 + (y - h / 2) ** 2 < (Math.min(w, h) / 3) ** 2;
      raw[o] = inDisc ? 40 : 230;
      raw[o + 1] = inDisc ? 40 : Math.round((y / h) * 200);
      raw[o + 2] = inDisc ? 90 : 60;
    }
  }
  const chunk = (kind: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(kind, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('ann', 'Ann Avery');
  await server.createUser('bob', 'Bob Brown');
  const ann = await server.client('ann');
  const room = await ann.createRoom('pictures');
  await ann.send(room, 'Hello from Ann.');
  ann.close();
  const bob = await server.client('bob');
  await bob.request({ type: 'join', room });
  bob.close();
});

test.afterAll(async () => {
  await server?.dispose();
});

test('a picture set on the account page shows beside my messages in a colleague’s browser', async ({ browser, page }) => {
  // Bob reads the room in his own browser: Ann's initials for now.
  const bobContext = await browser.newContext();
  const bobPage = await bobContext.newPage();
  await logIn(bobPage, server, 'bob');
  await openRoom(bobPage, 'pictures');
  const annMsg = bobPage.getByTestId('timeline').locator('.msg', { hasText: 'Hello from Ann.' });
  await expect(annMsg.locator('.avatar')).toHaveText('AA');
  await expect(annMsg.getByTestId('avatar-picture')).toHaveCount(0);

  await logIn(page, server, 'ann');
  await page.getByTestId('account-link').click();
  const form = page.getByTestId('avatar-form');
  await expect(form.getByRole('button', { name: 'Remove picture' })).toHaveCount(0);
  await form.getByTestId('avatar-file').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: png(240, 160) });
  await expect(form.getByTestId('avatar-preview')).toBeVisible();
  await form.getByRole('button', { name: 'Use this picture' }).click();
  await expect(form.getByTestId('avatar-status')).toHaveText('Picture saved.');
  // The server's square, shown in the form and in my sidebar.
  const mine = form.getByTestId('avatar-picture').locator('img');
  await expect(mine).toBeVisible();
  expect(await mine.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])).toEqual([128, 128]);
  await expect(page.locator('.sidebar').getByTestId('avatar-picture')).toBeVisible();
  await expectNoSeriousAxe(page, 'account page with a picture');

  // Bob sees it live, without reloading; the image has an empty alt (his
  // name is beside it).
  const picture = annMsg.getByTestId('avatar-picture').locator('img');
  await expect(picture).toBeVisible();
  await expect(picture).toHaveAttribute('alt', '');
  await expectNoSeriousAxe(bobPage, 'timeline with a picture');
  mkdirSync(SCREENSHOTS, { recursive: true });
  await bobPage.screenshot({ path: join(SCREENSHOTS, 'avatar.png') });

  // Removed: initials again, for both.
  await form.getByRole('button', { name: 'Remove picture' }).click();
  await expect(form.getByTestId('avatar-status')).toHaveText('Picture removed.');
  await expect(annMsg.getByTestId('avatar-picture')).toHaveCount(0);
  await expect(annMsg.locator('.avatar')).toHaveText('AA');
  await bobContext.close();
});

test('a file that is not an image is refused on the account page, in words', async ({ page }) => {
  await logIn(page, server, 'bob');
  await page.getByTestId('account-link').click();
  const form = page.getByTestId('avatar-form');
  await form
    .getByTestId('avatar-file')
    .setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a picture') });
  await expect(form.getByRole('alert')).toHaveText('Choose a PNG, JPEG, GIF or WebP image.');
  // A file named like an image whose bytes are not: the server says so.
  await form
    .getByTestId('avatar-file')
    .setInputFiles({ name: 'fake.png', mimeType: 'image/png', buffer: Buffer.from('<svg><script>alert(1)</script></svg>') });
  await form.getByRole('button', { name: 'Use this picture' }).click();
  await expect(form.getByRole('alert')).toContainText('must be a PNG, JPEG, GIF or WebP image');
});
