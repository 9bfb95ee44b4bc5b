// Measures, in the browser, the first minute's main cost: from the click on
// "Log in" to (a) the room list painted with a room of 1,000 unread messages
// and (b) that room opened and painted at the "new since you were away"
// divider. Run with `npm run measure`; the figures go into README.md.

import { expect, test } from '@playwright/test';
import { TownhallServer } from './server';

const UNREAD = 1000;
const RUNS = 3;
let server: TownhallServer;

test.beforeAll(async () => {
  test.setTimeout(180_000);
  server = await TownhallServer.start();
  await server.createUser('alice', 'Alice Martin');
  await server.createUser('bob', 'Bob Chen');
  const alice = await server.client('alice');
  const bob = await server.client('bob');
  const room = await alice.createRoom('announcements', 'public', 'Seeded for the measurement');
  await bob.request({ type: 'join', room });
  bob.close();
  const started = Date.now();
  await alice.sendMany(
    room,
    Array.from({ length: UNREAD }, (_, i) => `Seeded message ${i + 1} of ${UNREAD}: status update, nothing urgent.`),
  );
  console.log(`seeded ${UNREAD} messages over the WebSocket in ${Date.now() - started} ms`);
  alice.close();
});

test.afterAll(async () => {
  await server?.dispose();
});

test(`login to the first painted room with ${UNREAD} unread`, async ({ browser }) => {
  test.setTimeout(180_000);
  const results: { list: number; room: number }[] = [];
  for (let run = 0; run < RUNS; run++) {
    // A fresh browser profile each run: no cache, no stored position (the
    // whole backlog streams in), like a first login on a new machine.
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(server.url + '/');
    await page.getByLabel('Username').fill('bob');
    await page.getByLabel('Password').fill('bob-password');
    const r = await page.evaluate(
      (unread) =>
        new Promise<{ list: number; room: number }>((resolve) => {
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
              requestAnimationFrame(() => resolve({ list, room: performance.now() - t0 }));
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
    console.log(`run ${run + 1}: room list with ${UNREAD} unread painted ${r.list.toFixed(0)} ms, room at divider ${r.room.toFixed(0)} ms after the click`);
    await context.close();
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    `MEDIAN of ${RUNS}: list ${median(results.map((r) => r.list)).toFixed(0)} ms, room ${median(results.map((r) => r.room)).toFixed(0)} ms`,
  );
});
