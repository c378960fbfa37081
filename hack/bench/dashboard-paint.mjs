// Times the dashboard's first meaningful paint in Debian's Chromium: from
// the start of navigation to https://CENTRAL/ (signed in) until every tile
// shows its numbers and charts. Three cases, RUNS loads each:
//   cold    — a new browser context per load: nothing cached (the first load
//             after an upgrade, with a session still open);
//   warm    — one browser profile, loaded once before the measured loads:
//             the page's files and compiled code come from the browser's
//             caches (the daily visit);
//   sign-in — a new browser context, nothing cached, on the sign-in page:
//             from the click on "Sign in" until every tile is drawn (the
//             first visit, whose sign-in page loaded the application).
// The browser trusts Central's certificate, as an administrator's browser
// does once Central has a certificate from their CA (or its CA is
// imported): Chromium keeps nothing in its caches from a site whose
// certificate it rejected, so a load past a certificate warning is always
// cold. Loads are a second apart, as the browser writes its caches after a
// load.
// The moment is taken in the page itself, by a MutationObserver installed
// before the page's own code runs (so the harness does not poll the page
// while it loads), at the end of the frame that paints the last tile. Prints each load (with the page's own marks: stockade:boot
// when its first code runs, stockade:app when React starts, and
// stockade:dashboard-drawn when the tiles are committed) and the medians.
// Run by hack/bench/dashboard.sh; needs ui/node_modules (make ui).
//
// Environment: STOCKADE_URL, STOCKADE_ADMIN_PASSWORD, STOCKADE_CHROMIUM
// (default /usr/bin/chromium), RUNS (default 7).
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import tls from 'node:tls';

const require = createRequire(path.join(import.meta.dirname, '..', '..', 'ui', 'package.json'));
const { chromium, request } = require('@playwright/test');

const base = process.env.STOCKADE_URL;
const password = process.env.STOCKADE_ADMIN_PASSWORD;
if (!base || !password) {
  console.error('dashboard-paint: set STOCKADE_URL and STOCKADE_ADMIN_PASSWORD');
  process.exit(2);
}
const runs = Number(process.env.RUNS || 7);

/** The SHA-256 of the public key of the certificate Central serves, base64. */
async function centralKeyPin() {
  const url = new URL(base);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const der = await new Promise((resolve, reject) => {
    const conn = tls.connect(
      { host, port: Number(url.port || 443), servername: isIP(host) ? undefined : host, rejectUnauthorized: false },
      () => {
        resolve(conn.getPeerCertificate().raw);
        conn.end();
      },
    );
    conn.on('error', reject);
  });
  const spki = new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

const launch = {
  executablePath: process.env.STOCKADE_CHROMIUM || '/usr/bin/chromium',
  args: [
    `--ignore-certificate-errors-spki-list=${await centralKeyPin()}`,
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
  ],
};
const contextOptions = {
  baseURL: base,
  viewport: { width: 1400, height: 1000 },
};

// Runs in the page before its scripts: notes when each tile is filled — the
// total, the three charts drawn, the two tables' rows there — and says so
// on the console when all are.
function watchTiles() {
  const wanted = [
    '[data-testid=total-violations]',
    '#tile-severity canvas[data-drawn]',
    '#tile-category canvas[data-drawn]',
    '#tile-timeline canvas[data-drawn]',
    '#tile-deployments tbody tr',
    '#tile-namespaces tbody tr',
  ];
  // The sign-in case notes the click that submits the sign-in form.
  document.addEventListener('submit', () => performance.mark('bench:sign-in'), { capture: true });
  const observer = new MutationObserver(() => {
    if (wanted.every((s) => document.querySelector(s))) {
      observer.disconnect();
      performance.mark('bench:tiles-drawn');
      console.log('stockade:tiles-drawn');
    }
  });
  observer.observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ['data-drawn'] });
}

/** Signs in and gives the browser context the session cookie. */
async function signIn(context) {
  // Node does not know Central's CA; the browser trusts its key (above).
  const api = await request.newContext({ baseURL: base, ignoreHTTPSErrors: true });
  try {
    const login = await api.post('/v1/auth/login', { data: { username: 'admin', password } });
    if (login.status() !== 200) throw new Error(`sign-in: ${login.status()} ${await login.text()}`);
    await context.addCookies((await api.storageState()).cookies);
  } finally {
    await api.dispose();
  }
}

/** Loads the dashboard in a new page of context and returns its timings. */
async function load(context) {
  const page = await context.newPage();
  try {
    const drawn = page.waitForEvent('console', {
      predicate: (m) => m.text() === 'stockade:tiles-drawn',
      timeout: 60_000,
    });
    await page.goto('/', { waitUntil: 'commit' });
    await drawn;
    return await page.evaluate(() => {
      const at = (name) => performance.getEntriesByName(name)[0]?.startTime ?? NaN;
      const nav = performance.getEntriesByType('navigation')[0];
      return {
        meaningful: at('bench:tiles-drawn'),
        fcp: at('first-contentful-paint'),
        dcl: nav.domContentLoadedEventEnd,
        boot: at('stockade:boot'),
        app: at('stockade:app'),
        committed: at('stockade:dashboard-drawn'),
      };
    });
  } finally {
    await page.close();
    await sleep(1000);
  }
}

const ms = (n) => (Number.isNaN(n) ? '-' : n.toFixed(0));
function report(kind, i, t) {
  console.log(
    `${kind} ${i + 1}: every tile drawn ${ms(t.meaningful)} ms (first contentful paint ${ms(t.fcp)}, ` +
      `DOMContentLoaded ${ms(t.dcl)}, first code ${ms(t.boot)}, React ${ms(t.app)}, tiles committed ${ms(t.committed)})`,
  );
}
function summary(kind, values) {
  values.sort((a, b) => a - b);
  const median = values[Math.floor(values.length / 2)];
  console.log(
    `${kind}: first meaningful paint median ${ms(median)} ms, best ${ms(values[0])}, worst ${ms(values[values.length - 1])} (${values.length} loads)`,
  );
}

/**
 * Opens the sign-in page, signs in as a person would and returns the time
 * from the click on "Sign in" until every tile is drawn.
 */
async function signInThroughPage(context) {
  const page = await context.newPage();
  try {
    await page.goto('/login');
    await page.locator('#login-username').fill('admin');
    await page.locator('#login-password').fill(password);
    const drawn = page.waitForEvent('console', {
      predicate: (m) => m.text() === 'stockade:tiles-drawn',
      timeout: 60_000,
    });
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await drawn;
    return await page.evaluate(() => {
      const at = (name) => performance.getEntriesByName(name)[0]?.startTime ?? NaN;
      return at('bench:tiles-drawn') - at('bench:sign-in');
    });
  } finally {
    await page.close();
  }
}

const cold = [];
const signedIn = [];
const browser = await chromium.launch(launch);
try {
  for (let i = 0; i < (process.env.WARM_ONLY ? 0 : runs); i++) {
    const context = await browser.newContext(contextOptions);
    try {
      await context.addInitScript(watchTiles);
      await signIn(context);
      const t = await load(context);
      report('cold', i, t);
      cold.push(t.meaningful);
    } finally {
      await context.close();
    }
  }
  for (let i = 0; i < (process.env.WARM_ONLY ? 0 : runs); i++) {
    const context = await browser.newContext(contextOptions);
    try {
      await context.addInitScript(watchTiles);
      const t = await signInThroughPage(context);
      console.log(`sign-in ${i + 1}: every tile drawn ${ms(t)} ms after the click on Sign in`);
      signedIn.push(t);
      await sleep(1000);
    } finally {
      await context.close();
    }
  }
} finally {
  await browser.close();
}

const warm = [];
const profile = mkdtempSync(path.join(tmpdir(), 'stockade-paint-'));
try {
  const context = await chromium.launchPersistentContext(profile, {
    ...launch,
    ...contextOptions,
  });
  try {
    await context.addInitScript(watchTiles);
    await signIn(context);
    await load(context); // fills the cache
    for (let i = 0; i < runs; i++) {
      const t = await load(context);
      report('warm', i, t);
      warm.push(t.meaningful);
    }
  } finally {
    await context.close();
  }
} finally {
  rmSync(profile, { recursive: true, force: true });
}
if (cold.length) summary('cold (nothing cached)', cold);
if (signedIn.length) summary('sign-in (nothing cached, from the click on Sign in)', signedIn);
summary('warm (files cached)', warm);
