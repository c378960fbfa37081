// Times the dashboard's first meaningful paint in Debian's Chromium: from
// the start of navigation to https://CENTRAL/ (signed in, nothing cached)
// until every tile shows its numbers and charts. Prints each run and the
// median. Run by hack/bench/dashboard.sh; needs ui/node_modules (make ui).
//
// Environment: STOCKADE_URL, STOCKADE_ADMIN_PASSWORD, STOCKADE_CHROMIUM
// (default /usr/bin/chromium), RUNS (default 7).
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(import.meta.dirname, '..', '..', 'ui', 'package.json'));
const { chromium } = require('@playwright/test');

const base = process.env.STOCKADE_URL;
const password = process.env.STOCKADE_ADMIN_PASSWORD;
if (!base || !password) {
  console.error('dashboard-paint: set STOCKADE_URL and STOCKADE_ADMIN_PASSWORD');
  process.exit(2);
}
const runs = Number(process.env.RUNS || 7);

const browser = await chromium.launch({
  executablePath: process.env.STOCKADE_CHROMIUM || '/usr/bin/chromium',
  args: ['--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update'],
});
const results = [];
try {
  for (let i = 0; i < runs; i++) {
    // A new context per run: no HTTP cache, no service worker, a new session.
    const context = await browser.newContext({ ignoreHTTPSErrors: true, baseURL: base, viewport: { width: 1400, height: 1000 } });
    const login = await context.request.post('/v1/auth/login', { data: { username: 'admin', password } });
    if (login.status() !== 200) throw new Error(`sign-in: ${login.status()} ${await login.text()}`);
    const page = await context.newPage();
    await page.goto('/', { waitUntil: 'commit' });
    // Meaningful: every tile filled — the total, the charts drawn, the
    // tables' rows there.
    await page.getByTestId('total-violations').waitFor();
    for (const chart of ['#tile-severity svg', '#tile-category svg', '#tile-timeline svg']) await page.locator(chart).first().waitFor();
    for (const rows of ['#tile-deployments tbody tr', '#tile-namespaces tbody tr']) await page.locator(rows).first().waitFor();
    const t = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      return { meaningful: performance.now(), domContentLoaded: nav.domContentLoadedEventEnd, fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? 0 };
    });
    results.push(t.meaningful);
    console.log(`run ${i + 1}: first contentful paint ${t.fcp.toFixed(0)} ms, DOMContentLoaded ${t.domContentLoaded.toFixed(0)} ms, every tile drawn ${t.meaningful.toFixed(0)} ms`);
    await context.close();
  }
} finally {
  await browser.close();
}
results.sort((a, b) => a - b);
console.log(`first meaningful paint: median ${results[Math.floor(results.length / 2)].toFixed(0)} ms, worst ${results[results.length - 1].toFixed(0)} ms (${runs} runs)`);
