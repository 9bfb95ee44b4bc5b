// Measures, in the browser, the first minute's main cost: from the click on
// "Log in" to (a) the room list painted with a room of 1,000 unread messages
// and (b) that room opened and painted at the "new since you were away"
// divider. Run with `npm run measure`; the figures go into README.md.

import { expect, test } from '@playwright/test';
import { TownhallServer } from './server';

const UNREAD = 1000;
const RUNS = 5;
let server: TownhallServer;

test.beforeAll(async () => {
  test.setTimeout(180_000);
  server = await TownhallServer.start();
  await server.createUser('alice', 'Alice Martin');
  const alice = await server.client('alice');
  const room = await alice.createRoom('all-hands', 'public', 'Seeded for the measurement');
  // One reader per run: opening the room marks messages read.
  for (let run = 1; run <= RUNS; run++) {
    await server.createUser(`reader${run}`, `Reader ${run}`);
    const reader = await server.client(`reader${run}`);
    await reader.request({ type: 'join', room });
    reader.close();
  }
  // Seed over several connections (the server allows 50 requests/s each).
  const senders = [alice];
  for (let i = 1; i < 8; i++) senders.push(await server.client('alice'));
  const started = Date.now();
  const per = UNREAD / senders.length;
  await Promise.all(
    senders.map((c, k) =>
      c.sendMany(
        room,
        Array.from({ length: per }, (_, i) => `Seeded message ${k * per + i + 1}: status update, nothing urgent.`),
      ),
    ),
  );
  console.log(`seeded ${UNREAD} messages over the WebSocket in ${Date.now() - started} ms`);
  for (const c of senders) c.close();
});

test.afterAll(async () => {
  await server?.dispose();
});

test(`login to the first painted room with ${UNREAD} unread`, async ({ browser }) => {
  test.setTimeout(180_000);
  const results: { list: number; room: number; login: number }[] = [];
  for (let run = 0; run < RUNS; run++) {
    // A fresh browser profile each run: no cache, no stored position (the
    // whole backlog streams in), like a first login on a new machine.
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('console', (m) => m.text().startsWith('marks') && console.log(`  ${m.text()}`));
    await page.goto(server.url + '/');
    await page.getByLabel('Username').fill(`reader${run + 1}`);
    await page.getByLabel('Password').fill(`reader${run + 1}-password`);
    const r = await page.evaluate(
      (unread) =>
        new Promise<{ list: number; room: number; login: number }>((resolve) => {
          const button = [...document.querySelectorAll('button')].find((b) => b.textContent?.trim() === 'Log in')!;
          let list = 0;
          let t0 = 0;
          const tick = () => {
            const now = performance.now();
            if (!list) {
              const badge = [...document.querySelectorAll('a.room-item [data-testid="unread-badge"]')].find(
                (b) => b.textContent === String(unread),
              );
              if (badge) {
                // Painted in the frame that just ran; open the room at once.
                list = now - t0;
                (badge.closest('a') as HTMLAnchorElement).click();
              }
            } else if (
              document.querySelector('[data-testid="new-divider"]') &&
              document.querySelectorAll('[data-testid="message"]').length > 0
            ) {
              // Measured at the next frame: the divider frame was painted.
              requestAnimationFrame(() => {
                const login = performance.getEntriesByType('resource').find((e) => e.name.endsWith('/api/login'));
                const at = (n: string) => (performance.getEntriesByName(`townhall:${n}`)[0]?.startTime ?? NaN) - t0;
                console.log(
                  `marks after click: welcome ${at('welcome').toFixed(0)} ms, summary ${at('summary').toFixed(0)} ms, caught_up ${at('caught_up').toFixed(0)} ms`,
                );
                resolve({ list, room: performance.now() - t0, login: login ? login.duration : NaN });
              });
              return;
            }
            requestAnimationFrame(tick);
          };
          t0 = performance.now();
          button.click();
          requestAnimationFrame(tick);
        }),
      UNREAD,
    );
    await expect(page.getByTestId('new-divider')).toBeVisible();
    results.push(r);
    console.log(
      `run ${run + 1}: room list with ${UNREAD} unread painted ${r.list.toFixed(0)} ms, room at divider ${r.room.toFixed(0)} ms after the click (POST /api/login took ${r.login.toFixed(0)} ms of it)`,
    );
    await context.close();
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    `MEDIAN of ${RUNS}: list ${median(results.map((r) => r.list)).toFixed(0)} ms, room ${median(results.map((r) => r.room)).toFixed(0)} ms, login request ${median(results.map((r) => r.login)).toFixed(0)} ms`,
  );
});
