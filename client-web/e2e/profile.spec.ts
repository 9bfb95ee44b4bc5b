import { expect, test } from '@playwright/test';
import { ADMIN_PASSWORD, TownhallServer } from './server';
import { logIn, openRoom } from './ui';

// A person as others see them and as they set themselves (issue 13): the
// transformation-team tag, one's own display name, "My questions".

let server: TownhallServer;
let room: string;

/** An admin's PATCH of an account (the admin page does the same). */
async function patchUser(username: string, body: object): Promise<void> {
  const { token } = await server.login('admin', ADMIN_PASSWORD);
  const res = await fetch(`${server.url}/api/admin/users/${username}`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`patch ${username}: ${res.status} ${await res.text()}`);
}

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('tina', 'Tina Team');
  await server.createUser('sam', 'Sam Staff');
  await patchUser('tina', { transformation_team: true });
  const tina = await server.client('tina');
  room = await tina.createRoom('change-desk');
  await tina.send(room, 'The new rota starts Monday.');
  tina.close();
  const sam = await server.client('sam');
  await sam.request({ type: 'join', room });
  await sam.send(room, 'Thanks!');
  sam.close();
});

test.afterAll(async () => {
  await server?.dispose();
});

test('a transformation-team member is tagged as such in the timeline and on their card', async ({ page }) => {
  await logIn(page, server, 'sam');
  await openRoom(page, 'change-desk');
  const tinaMsg = page.getByTestId('timeline').locator('.msg', { hasText: 'The new rota starts Monday.' });
  await expect(tinaMsg.getByTestId('team-tag')).toHaveText('Team');
  // Sam is plain staff: no tag on his message.
  const samMsg = page.getByTestId('timeline').locator('.msg', { hasText: 'Thanks!' });
  await expect(samMsg).toBeVisible();
  await expect(samMsg.getByTestId('team-tag')).toHaveCount(0);
  await tinaMsg.getByTestId('person-name').first().click();
  await expect(page.getByTestId('profile-team')).toHaveText('Transformation team');
});
