import { defineConfig } from '@playwright/test';
import path from 'node:path';

// The end-to-end tests drive Debian's Chromium (never a browser Playwright
// downloads) against a real Central that the Go test
// Test…EndToEnd tests of internal/central start and fill with data; they
// pass the address and the admin password in the environment.
const baseURL = process.env.STOCKADE_URL;
if (!baseURL) {
  throw new Error(
    'STOCKADE_URL is not set: run the end-to-end tests through their Go tests, e.g. `go test -run EndToEnd ./internal/central/`',
  );
}

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  outputDir: path.join(import.meta.dirname, '..', 'test-results'),
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 120_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  use: {
    baseURL,
    // Central's certificate is issued by the CA in its data directory.
    ignoreHTTPSErrors: true,
    viewport: { width: 1400, height: 1000 },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.STOCKADE_CHROMIUM || '/usr/bin/chromium',
      // The machine has no network but loopback: keep Chromium from
      // reaching out at start.
      args: [
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
});
