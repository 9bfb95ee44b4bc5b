import { expect, test } from '@playwright/test';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerFrame } from '../src/protocol';
import { SCREENSHOTS, TownhallServer, type WsClient } from './server';
import { logIn } from './ui';

// "Remind those who haven't acknowledged" (issue 13): the leader's button in
// the Reach view (with how many are waiting, then the hourly limit), the
// reminder listed with its time and count, and on the reader's side the
// broadcast pinned again with "Reminder from …" until "I have read this".

let server: TownhallServer;
let lena: WsClient;
let room: string;

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('lena', 'Lena Leader', undefined, 'leader');
  await server.createUser('sam', 'Sam Staff');
  await server.createUser('tess', 'Tess Staff');
  lena = await server.client('lena');
  room = await lena.createRoom('ops-team', 'private');
  await lena.request({ type: 'add_member', room, user: 'sam' });
  await lena.request({ type: 'add_member', room, user: 'tess' });
  mkdirSync(SCREENSHOTS, { recursive: true });
});

test.afterAll(async () => {
  lena?.close();
  await server?.dispose();
});

test('the leader reminds those who have not acknowledged; the reader sees it pinned again', async ({ browser }) => {
  const posted = await lena.request<Extract<ServerFrame, { type: 'broadcast_posted' }>>({
    type: 'broadcast',
    client_id: randomUUID(),
    body: 'Please read the new on-call rota.',
    rooms: [room],
    ack_requested: true,
  });
  // tess acknowledges at once; sam does not.
  const tess = await server.client('tess');
  await tess.waitFor((f) => f.type === 'event' && f.content.kind === 'broadcast');
  tess.post({ type: 'broadcast_receipt', broadcast: posted.broadcast, kind: 'acknowledged' });
  await lena.waitFor((f) => f.type === 'reach_update' && f.counts.acknowledged === 1);
  tess.close();

  // sam is logged in: the broadcast is pinned, without a reminder yet.
  const ctxS = await browser.newContext();
  const ps = await ctxS.newPage();
  await logIn(ps, server, 'sam');
  const pinned = ps.getByTestId('pinned-ack');
  await expect(pinned).toHaveCount(1);
  await expect(ps.getByTestId('pinned-reminded')).toHaveCount(0);

  const ctxL = await browser.newContext();
  const pl = await ctxL.newPage();
  await logIn(pl, server, 'lena');
  await pl.evaluate((id) => (location.hash = `#/reach/${encodeURIComponent(id)}`), posted.broadcast);
  await expect(pl.getByRole('heading', { name: 'Reach' })).toBeVisible();
  const remind = pl.getByRole('button', { name: "Remind those who haven't acknowledged (1)" });
  await expect(remind).toBeEnabled();
  await remind.click();
  await expect(pl.getByTestId('remind-result')).toHaveText('Reminded 1 person.');
  await expect(pl.getByTestId('reminder')).toHaveCount(1);
  await expect(pl.getByTestId('reminder')).toContainText(/Reminded at Today \d.*\(1 person\)/);
  // The hourly limit: disabled, with the reason.
  await expect(remind).toBeDisabled();
  await expect(pl.getByTestId('remind-why')).toContainText('One reminder an hour: the next is possible at');
  await pl.screenshot({ path: join(SCREENSHOTS, 'reach-reminded.png') });

  // sam's pinned broadcast now says who reminded, and reading it unpins it.
  await expect(ps.getByTestId('pinned-reminded')).toContainText('Reminder from Lena Leader');
  await ps.screenshot({ path: join(SCREENSHOTS, 'pinned-reminder.png') });
  // Past broadcasts says it too.
  await ps.evaluate(() => (location.hash = '#/broadcasts'));
  await expect(ps.getByTestId('past-reminded')).toContainText('Reminder from Lena Leader');
  await ps.evaluate(() => (location.hash = '#/'));
  await pinned.getByRole('button', { name: /I have read this/ }).click();
  await expect(pinned).toHaveCount(0);
  await expect(pl.getByTestId('reach-acknowledged')).toHaveText(/^2 of 2$/);
  // Everyone has acknowledged now: the reason says so (the hour still holds too).
  await expect(pl.getByRole('button', { name: "Remind those who haven't acknowledged (0)" })).toBeDisabled();
  await ctxS.close();
  await ctxL.close();
});
