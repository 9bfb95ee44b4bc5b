// "Log in with your company account": the real login page, the real
// OpenID provider (the certified oidc-provider package, started here from
// scripts/oidc/provider.mjs with its own sign-in page) and the real server.
// At the provider: alice (townhall-admins → admin), bob (leads → leader),
// mallory (another person whose username claim is "alice"). Passwords: NAME-pw.

import { expect, test } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { CLIENT_DIR, TownhallServer, freePort } from './server';

const PROVIDER = resolve(CLIENT_DIR, '../scripts/oidc/provider.mjs');

let server: TownhallServer;
let provider: ChildProcess | null = null;

async function startProvider(port: number, redirect: string): Promise<ChildProcess> {
  if (!existsSync(resolve(CLIENT_DIR, '../scripts/oidc/node_modules/oidc-provider'))) {
    throw new Error('oidc-provider is not installed: run scripts/setup.sh (npm ci in scripts/oidc)');
  }
  const proc = spawn('node', [PROVIDER, String(port), redirect], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  await new Promise<void>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`provider did not start in 20 s:\n${log}`)), 20_000);
    proc.stdout!.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes('oidc-provider listening on')) {
        clearTimeout(timer);
        ok();
      }
    });
    proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`provider exited with ${code}:\n${log}`));
    });
  });
  proc.removeAllListeners('exit');
  return proc;
}

test.beforeAll(async () => {
  const providerPort = await freePort();
  process.env.TOWNHALL_OIDC_CLIENT_SECRET = 'townhall-secret';
  server = await TownhallServer.start((port) => [
    '--oidc-issuer',
    `http://127.0.0.1:${providerPort}`,
    '--oidc-allow-http',
    '--oidc-client-id',
    'townhall',
    '--oidc-redirect-url',
    `http://127.0.0.1:${port}/api/oidc/callback`,
    '--oidc-scopes',
    'openid profile groups',
    '--oidc-role-group',
    'admin=townhall-admins',
    '--oidc-role-group',
    'leader=leads',
    '--oidc-team-group',
    'transformation',
  ]);
  provider = await startProvider(providerPort, `${server.url}/api/oidc/callback`);
});

test.afterAll(async () => {
  provider?.kill('SIGTERM');
  await server?.dispose();
  delete process.env.TOWNHALL_OIDC_CLIENT_SECRET;
});

test('a person logs in with their company account and lands in Townhall with their mapped role', async ({ page }) => {
  await page.goto(server.url + '/');
  await page.getByRole('link', { name: 'Log in with your company account' }).click();

  // The provider's own page.
  await expect(page.getByRole('heading', { name: 'Test Company sign-in' })).toBeVisible();
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill('alice-pw');
  await page.getByRole('button', { name: 'Sign in' }).click();

  // Back in Townhall, logged in, as an admin (townhall-admins).
  await expect(page.getByRole('navigation', { name: 'Conversations' })).toBeVisible();
  await expect(page.getByTestId('admin-link')).toBeVisible();
  // The one-time code is gone from the address bar (and from history).
  expect(page.url()).not.toContain('oidc_code');
  expect(new URL(page.url()).hash).not.toContain('oidc');

  // A reload resumes the session like any login.
  await page.reload();
  await expect(page.getByRole('navigation', { name: 'Conversations' })).toBeVisible();
});

test('a leader logs in the same way and is not an admin', async ({ page }) => {
  await page.goto(server.url + '/');
  await page.getByRole('link', { name: 'Log in with your company account' }).click();
  await page.getByLabel('Username').fill('bob');
  await page.getByLabel('Password').fill('bob-pw');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('navigation', { name: 'Conversations' })).toBeVisible();
  await expect(page.getByTestId('admin-link')).toHaveCount(0);
});

test('someone whose company name belongs to another account is told so on the login page', async ({ page }) => {
  // alice's account exists (the first test); mallory's username claim is also "alice".
  await page.goto(server.url + '/');
  await page.getByRole('link', { name: 'Log in with your company account' }).click();
  await page.getByLabel('Username').fill('mallory');
  await page.getByLabel('Password').fill('mallory-pw');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('belongs to another Townhall account');
  await expect(page.getByRole('heading', { name: 'Sign in to Townhall' })).toBeVisible();
  expect(new URL(page.url()).hash).toBe('');
});
