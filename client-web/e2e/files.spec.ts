import { expect, test } from '@playwright/test';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { SCREENSHOTS, TownhallServer } from './server';
import { logIn, openRoom } from './ui';

let server: TownhallServer;
let room = '';

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('pia', 'Pia Photo');
  await server.createUser('omar', 'Omar Other');
  mkdirSync(SCREENSHOTS, { recursive: true });
  const pia = await server.client('pia');
  room = await pia.createRoom('design');
  const omar = await server.client('omar');
  await omar.request({ type: 'join', room });
  pia.close();
  omar.close();
});

test.afterAll(async () => {
  await server?.dispose();
});

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const b of data) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(kind: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(kind, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A w × h RGB gradient PNG. */
function png(w: number, h: number): Buffer {
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0;
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      raw[o] = (x * 255) / w;
      raw[o + 1] = (y * 255) / h;
      raw[o + 2] = 200;
    }
  }
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

test('a pasted image shows as a thumbnail on another person’s screen, opens full size, and a file downloads', async ({ browser }) => {
  const ctxP = await browser.newContext();
  const pia = await ctxP.newPage();
  await logIn(pia, server, 'pia');
  await openRoom(pia, 'design');

  const ctxO = await browser.newContext();
  const omar = await ctxO.newPage();
  await logIn(omar, server, 'omar');
  await openRoom(omar, 'design');

  // Pia pastes an image into the composer: it uploads, then she sends it.
  const image = png(480, 300).toString('base64');
  await pia.getByTestId('composer').focus();
  await pia.evaluate((b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], '', { type: 'image/png' }));
    const box = document.querySelector('[data-testid="composer"]')!;
    box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, image);
  await expect(pia.getByTestId('upload-done')).toBeVisible();
  await pia.getByTestId('composer').fill('The new banner');
  await pia.getByTestId('composer').press('Enter');
  await expect(pia.getByTestId('pending-upload')).toHaveCount(0);

  // Omar sees the server-made thumbnail live, and opens it full size.
  const thumb = omar.getByTestId('attachment-thumb').locator('img');
  await expect(thumb).toBeVisible();
  await expect.poll(() => thumb.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(320);
  await expect(omar.getByTestId('timeline')).toContainText('The new banner');
  await omar.getByTestId('attachment-thumb').click();
  const full = omar.getByTestId('attachment-full');
  await expect(full).toBeVisible();
  await expect.poll(() => full.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(480);
  await omar.keyboard.press('Escape');

  // Pia attaches a text file with the button; Omar downloads it.
  await pia.getByTestId('file-input').setInputFiles({
    name: 'minutes.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from('Minutes of the design review\n'),
  });
  await expect(pia.getByTestId('upload-done')).toBeVisible();
  await pia.getByRole('button', { name: 'Send message' }).click();
  const card = omar.getByTestId('attachment-card');
  await expect(card).toContainText('minutes.txt');
  await expect(card).toContainText('text/plain');
  await omar.screenshot({ path: join(SCREENSHOTS, 'attachments.png') });
  const [file] = await Promise.all([omar.waitForEvent('download'), card.getByTestId('attachment-download').click()]);
  expect(file.suggestedFilename()).toBe('minutes.txt');
  const path = await file.path();
  expect(readFileSync(path, 'utf8')).toBe('Minutes of the design review\n');

  await ctxP.close();
  await ctxO.close();
});

test('a file attached to a thread reply (button, caption optional) reaches the other person in the thread', async ({ browser }) => {
  const pia = await server.client('pia');
  const post = await pia.send(room, 'Draft of the floor plan, comments in the thread');
  pia.close();

  const ctxO = await browser.newContext();
  const omar = await ctxO.newPage();
  await logIn(omar, server, 'omar');
  await openRoom(omar, 'design');
  const parent = omar.locator(`.timeline [data-seq="${post.seq}"]`);
  await parent.hover();
  await parent.getByRole('button', { name: 'Reply', exact: true }).click();
  const panel = omar.getByTestId('thread-panel');
  await expect(panel.getByTestId('thread-count')).toHaveText('No replies yet');
  // With only a file (no caption) the reply can be sent once the upload is ready.
  await panel.getByTestId('file-input').setInputFiles({
    name: 'notes-on-plan.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from('Move the kitchen next to the stairs\n'),
  });
  await expect(panel.getByTestId('upload-done')).toBeVisible();
  await panel.getByRole('button', { name: 'Send reply' }).click();
  await expect(panel.getByTestId('pending-upload')).toHaveCount(0);
  const reply = panel.getByTestId('thread-reply');
  await expect(reply).toHaveCount(1);
  await expect(reply.getByTestId('attachment-card')).toContainText('notes-on-plan.txt');

  // Pia opens the thread after a fresh login and downloads the same bytes.
  const ctxP = await browser.newContext();
  const piaPage = await ctxP.newPage();
  await logIn(piaPage, server, 'pia');
  await openRoom(piaPage, 'design');
  const own = piaPage.locator(`.timeline [data-seq="${post.seq}"]`);
  await expect(own.getByTestId('thread-link')).toHaveText('1 reply');
  await own.getByTestId('thread-link').click();
  const card = piaPage.getByTestId('thread-panel').getByTestId('attachment-card');
  await expect(card).toContainText('notes-on-plan.txt');
  const [file] = await Promise.all([piaPage.waitForEvent('download'), card.getByTestId('attachment-download').click()]);
  expect(readFileSync(await file.path(), 'utf8')).toBe('Move the kitchen next to the stairs\n');

  await ctxP.close();
  await ctxO.close();
});

test('two files dropped on the composer go in one message; a cancelled upload is left out', async ({ browser }) => {
  const ctxP = await browser.newContext();
  const pia = await ctxP.newPage();
  await logIn(pia, server, 'pia');
  await openRoom(pia, 'design');
  const ctxO = await browser.newContext();
  const omar = await ctxO.newPage();
  await logIn(omar, server, 'omar');
  await openRoom(omar, 'design');

  // Two files dropped at once onto the composer.
  await pia.evaluate(() => {
    const data = new DataTransfer();
    data.items.add(new File(['agenda for Monday\n'], 'agenda.txt', { type: 'text/plain' }));
    data.items.add(new File(['budget,1\n'], 'budget.csv', { type: 'text/csv' }));
    const form = document.querySelector('form.composer')!;
    for (const type of ['dragenter', 'dragover', 'drop']) {
      form.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
    }
  });
  await expect(pia.getByTestId('pending-upload')).toHaveCount(2);
  await expect(pia.getByTestId('upload-done')).toHaveCount(2);

  // A third upload is held on its way (the request waits until released)
  // and cancelled while its progress bar shows.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await pia.route('**/api/files?name=slow.bin', async (route) => {
    await held;
    await route.continue().catch(() => {});
  });
  await pia.getByTestId('file-input').setInputFiles({
    name: 'slow.bin',
    mimeType: 'application/octet-stream',
    buffer: Buffer.alloc(64 * 1024, 7),
  });
  await expect(pia.getByTestId('upload-progress')).toBeVisible();
  await pia.getByRole('button', { name: 'Cancel upload of slow.bin' }).click();
  release();
  await expect(pia.getByTestId('pending-upload')).toHaveCount(2);

  await pia.getByTestId('composer').fill('Agenda and budget');
  await pia.getByTestId('composer').press('Enter');
  await expect(pia.getByTestId('pending-upload')).toHaveCount(0);

  // Omar gets one message with both files, and not the cancelled one.
  const message = omar.locator('.timeline [data-seq]', { hasText: 'Agenda and budget' });
  await expect(message.getByTestId('attachment-card')).toHaveCount(2);
  await expect(message).toContainText('agenda.txt');
  await expect(message).toContainText('budget.csv');
  await expect(message).not.toContainText('slow.bin');

  await ctxP.close();
  await ctxO.close();
});
