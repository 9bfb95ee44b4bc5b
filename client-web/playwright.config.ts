import { defineConfig } from '@playwright/test';

// Browser tests against the real server: each test file starts its own
// `townhall` process (e2e/server.ts) with a fresh data folder, so tests can
// stop and restart it. Debian's Chromium; never download a browser.
export default defineConfig({
  testDir: 'e2e',
  workers: 1,
  fullyParallel: false,
  timeout: 90_000,
  // In CI only, one retry: Debian's Chromium once crashed mid-test on the
  // 2-core CI machine ("Target page, context or browser has been closed",
  // a crashpad report) in a test that passed on every rerun. The list
  // reporter still names a test that passed only on its retry as flaky.
  retries: process.env.CI ? 1 : 0,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  use: {
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
    },
    trace: 'off',
  },
});
