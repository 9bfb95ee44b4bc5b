import { expect, test } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SCREENSHOTS, TownhallServer, type WsClient } from './server';
import { logIn, messages, openRoom, roomLink } from './ui';
import { expectNoSeriousAxe } from './axe';

let server: TownhallServer;
let alice: WsClient;
let carol: WsClient;
let general: string;

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('alice', 'Alice Martin');
  await server.createUser('bob', 'Bob Chen');
  await server.createUser('carol', 'Carol Diaz');
  mkdirSync(SCREENSHOTS, { recursive: true });
  alice = await server.client('alice');
  carol = await server.client('carol');
  const bob = await server.client('bob');
  general = await alice.createRoom('general', 'public', 'Company-wide news and questions');
  await carol.request({ type: 'join', room: general });
  await bob.request({ type: 'join', room: general });
  bob.close();
  await alice.send(general, 'Good morning everyone! The quarterly review deck is in the shared drive.');
  await carol.send(general, 'Thanks Alice. I added the support numbers on slide 12.');
  await alice.send(general, 'Great, I will merge them before lunch.');
});

test.afterAll(async () => {
  alice?.close();
  carol?.close();
  await server?.dispose();
});

test('bob was away: divider at his read marker, three new messages in order, the mention marked', async ({ page }) => {
  // Bob reads what is there, then logs out.
  await logIn(page, server, 'bob');
  await openRoom(page, 'general');
  await expect(messages(page).last()).toHaveText('Great, I will merge them before lunch.');
  await expect(roomLink(page, 'general')).not.toContainText(/\d/);
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in to Townhall' })).toBeVisible();

  // While he is away.
  await alice.send(general, 'Heads-up: the office is closed on Friday for maintenance.');
  await carol.send(general, '@bob can you confirm the on-call rota for the weekend?');
  await alice.send(general, 'Minutes from today are at https://example.com/minutes');
  // Elsewhere, less urgent: a direct message and another room.
  const dm = await carol.request<{ type: 'room'; room: { id: string } } & never>({ type: 'open_dm', user: 'bob' });
  await carol.send((dm as unknown as { room: { id: string } }).room.id, 'Lunch on Thursday?');
  const support = await alice.createRoom('support', 'private', 'Customer escalations');
  await alice.request({ type: 'add_member', room: support, user: 'bob' });
  await alice.send(support, 'Ticket 4821 is resolved, closing it.');

  await logIn(page, server, 'bob');
  const link = roomLink(page, 'general');
  await expect(link).toHaveAccessibleName('Room general, 3 unread, 1 mentioning you');
  // With unread rooms in the sidebar, its links too pass axe (their names
  // contain what they show).
  await expectNoSeriousAxe(page, 'sidebar with unread rooms');
  await expect(link.getByTestId('unread-badge')).toHaveText('3');
  await expect(link.getByTestId('mention-badge')).toBeVisible();
  // The overview says what needs him: the room that mentions him first,
  // then the other rooms with news.
  await expect(page.getByRole('heading', { name: 'You were mentioned' })).toBeVisible();
  await expect(page.getByTestId('away-mentioned')).toContainText('general');
  await expect(page.getByRole('heading', { name: 'While you were away' })).toBeVisible();
  await expect(page.getByTestId('away-rooms')).toContainText('support');
  await expect(page.getByTestId('away-rooms')).not.toContainText('general');

  await link.click();
  const divider = page.getByTestId('new-divider');
  await expect(divider).toBeVisible();
  await expect(divider).toHaveText('New since you were away');
  // Exactly the three new messages follow the divider, in order.
  const after = page.locator('[data-testid="new-divider"] ~ li [data-testid="message-text"]');
  await expect(after).toHaveText([
    'Heads-up: the office is closed on Friday for maintenance.',
    '@bob can you confirm the on-call rota for the weekend?',
    'Minutes from today are at https://example.com/minutes',
  ]);
  await expect(page.locator('.msg.mentions-me')).toHaveCount(1);
  await expect(page.locator('.msg.mentions-me')).toContainText('Mentions you');
  // Reading them (window focused) clears the badge.
  await expect(link.getByTestId('unread-badge')).toHaveCount(0);
  await page.screenshot({ path: join(SCREENSHOTS, 'room-divider.png') });

  // Phone width: one pane at a time, the room still readable.
  await page.setViewportSize({ width: 390, height: 844 });
  await expect(page.getByRole('link', { name: 'Back to conversations' })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Conversations' })).toBeHidden();
  await page.screenshot({ path: join(SCREENSHOTS, 'narrow.png') });
  await page.getByRole('link', { name: 'Back to conversations' }).click();
  await expect(page.getByRole('navigation', { name: 'Conversations' })).toBeVisible();
  await page.screenshot({ path: join(SCREENSHOTS, 'narrow-list.png') });
});
