import { expect, test } from '@playwright/test';
import { TownhallServer } from './server';
import { logIn, messages, openRoom, say } from './ui';

// The server's Content-Security-Policy (issue 17, finding 4) must not break
// the client: log in, connect the WebSocket, type (the composer resizes
// itself through the CSSOM), post, and not one violation is reported.

let server: TownhallServer;

test.beforeAll(async () => {
  server = await TownhallServer.start();
  await server.createUser('alice', 'Alice Martin');
  const alice = await server.client('alice');
  await alice.createRoom('policy', 'public', 'A room to post in');
});

test.afterAll(async () => {
  await server?.dispose();
});

test('the web client runs under the CSP without a single violation', async ({ page }) => {
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`Content Security Policy violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const response = await page.goto(server.url + '/');
  const csp = response?.headers()['content-security-policy'] ?? '';
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("default-src 'self'");

  await logIn(page, server, 'alice');
  await expect(page.getByText('Connected')).toBeVisible();
  await openRoom(page, 'policy');
  await page.getByTestId('composer').fill('a long line\nthat grows the composer\nover three lines');
  await say(page, 'posted under a strict policy');
  await expect(messages(page).last()).toContainText('posted under a strict policy');
  await page.reload();
  await expect(page.getByText('Connected')).toBeVisible();
  expect(violations).toEqual([]);
});
