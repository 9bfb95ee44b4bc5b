import { expect, test } from '@playwright/test';
import { TownhallServer, type WsClient } from './server';
import { logIn, openRoom, roomLink } from './ui';

// Room management in the browser against the real server: the owner renames
// a room, changes its topic, archives and unarchives it from the settings
// dialog; another member's open client follows every change live; an
// archived room is read-only (no composer, sends refused with
// `room_archived`) and out of Browse rooms.

let server: TownhallServer;
let bobWs: WsClient;
let room: string;

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('alice', 'Alice Owner');
  await server.createUser('bob', 'Bob Member');
  await server.createUser('carol', 'Carol Outsider');
  const alice = await server.client('alice');
  room = await alice.createRoom('launch', 'public', 'Launch planning');
  await alice.createRoom('Roadmap');
  alice.close();
  bobWs = await server.client('bob');
  await bobWs.request({ type: 'join', room });
  await bobWs.send(room, 'checklist is ready');
});

test.afterAll(async () => {
  bobWs?.close();
  await server?.dispose();
});

test('the owner renames, retopics, archives and unarchives; a member sees each change live', async ({ browser }) => {
  const pa = await (await browser.newContext()).newPage();
  const pb = await (await browser.newContext()).newPage();
  await logIn(pa, server, 'alice');
  await logIn(pb, server, 'bob');
  await openRoom(pa, 'launch');
  await openRoom(pb, 'launch');
  // Bob is a member, not the owner: no settings.
  await expect(pb.getByTestId('room-settings-button')).toHaveCount(0);

  await pa.getByTestId('room-settings-button').click();
  const dialog = pa.getByRole('dialog', { name: 'Room settings' });
  await dialog.getByLabel('Name').fill('roadmap');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(dialog.getByRole('alert')).toContainText('A public room named “roadmap” already exists');

  await dialog.getByLabel('Name').fill('Launch 2027');
  await dialog.getByLabel('Topic').fill('Dates, owners and the checklist');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(dialog).toHaveCount(0);
  await expect(pa.getByTestId('room-title')).toContainText('Launch 2027');
  // Bob's open client: header, topic and room list, without a reload.
  await expect(pb.getByTestId('room-title')).toContainText('Launch 2027');
  await expect(pb.locator('.room-topic')).toHaveText('Dates, owners and the checklist');
  await expect(roomLink(pb, 'Launch 2027')).toBeVisible();
  await expect(pb.getByText('Alice Owner renamed the room to Launch 2027')).toBeVisible();

  await pa.getByTestId('room-settings-button').click();
  await dialog.getByRole('button', { name: 'Archive room' }).click();
  await expect(dialog).toHaveCount(0);
  for (const p of [pa, pb]) {
    await expect(p.getByTestId('archived-tag')).toBeVisible();
    await expect(p.getByTestId('archived-note')).toBeVisible();
    await expect(p.getByTestId('composer')).toHaveCount(0);
  }
  // History stays readable.
  await expect(pb.getByTestId('message-text').filter({ hasText: 'checklist is ready' })).toBeVisible();
  // No message actions (react, edit, delete, reply) in a read-only room.
  await expect(pb.locator('.timeline [data-action]')).toHaveCount(0);
  // The server refuses a send from another client with the documented code.
  await expect(bobWs.send(room, 'one more thing')).rejects.toThrow(/room_archived/);
  // Out of Browse rooms for someone who is not in it.
  const pc = await (await browser.newContext()).newPage();
  await logIn(pc, server, 'carol');
  await pc.getByRole('button', { name: 'Browse rooms' }).click();
  const browse = pc.getByRole('dialog');
  await expect(browse.getByText('Roadmap')).toBeVisible();
  await expect(browse.getByText('Launch 2027')).toHaveCount(0);

  await pa.getByTestId('room-settings-button').click();
  await dialog.getByRole('button', { name: 'Unarchive room' }).click();
  await expect(pb.getByTestId('archived-tag')).toHaveCount(0);
  await expect(pb.getByTestId('composer')).toBeVisible();
  await bobWs.send(room, 'back in business');
  await expect(pa.getByTestId('message-text').filter({ hasText: 'back in business' })).toBeVisible();
});
