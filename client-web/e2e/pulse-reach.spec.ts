import { expect, test } from '@playwright/test';
import { randomUUID } from 'node:crypto';
import type { ServerFrame } from '../src/protocol';
import { TownhallServer, type WsClient } from './server';
import { logIn } from './ui';

// Pulse's broadcast reach over time (issue 15): a leader broadcasts, one of
// the two other people opens and acknowledges it; the leader's Pulse shows
// the shares of the audience within 1 h and 24 h, with a table and CSV.

let server: TownhallServer;

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('leo', 'Leo Leader', undefined, 'leader');
  await server.createUser('ann', 'Ann Staff');
});

test.afterAll(async () => {
  await server?.dispose();
});

/** A receipt has no reply: written straight to the socket. */
function receipt(c: WsClient, broadcast: string, kind: 'opened' | 'acknowledged') {
  (c as unknown as { ws: { send(s: string): void } }).ws.send(JSON.stringify({ type: 'broadcast_receipt', broadcast, kind }));
}

test('a leader sees the share of the audience that opened and acknowledged within 1 h and 24 h', async ({ page }) => {
  const leo = await server.client('leo');
  const ann = await server.client('ann');
  const posted = await leo.request<Extract<ServerFrame, { type: 'broadcast_posted' }>>({
    type: 'broadcast',
    client_id: randomUUID(),
    body: 'The new structure starts on 1 March.',
    rooms: [],
    ack_requested: true,
  });
  // Audience: admin and Ann.
  expect(posted.audience).toBe(2);
  receipt(ann, posted.broadcast, 'acknowledged');
  await leo.waitFor((f) => f.type === 'reach_update' && f.counts.acknowledged === 1);
  leo.close();
  ann.close();

  await logIn(page, server, 'leo');
  await page.getByTestId('pulse-link').click();
  const card = page.getByTestId('pulse-reach');
  await expect(card.getByRole('img')).toHaveAttribute(
    'aria-label',
    /“The new structure starts on 1 March.”: opened 50% in 1 h, 50% in 24 h; acknowledged 50% in 1 h, 50% in 24 h/,
  );
  await card.getByRole('button', { name: 'Show table' }).click();
  const row = card.getByRole('table').getByRole('row', { name: /The new structure/ });
  await expect(row).toContainText('50');
});
