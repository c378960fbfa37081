import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { PASSWORD, expectAccessible, json, screenshot, watchConsole, type AlertList, type Summary } from './helpers';

// One signed-in browser walks the dashboard as a person would, in order:
// each test starts where the previous one left off.
test.describe.configure({ mode: 'serial' });

let context: BrowserContext;
let page: Page;
let problems: string[];

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext();
  page = await context.newPage();
  problems = watchConsole(page);
});

test.afterEach(() => {
  expect(problems, 'the browser reported errors').toEqual([]);
});

test.afterAll(async () => {
  await context.close();
});

/** The part of GET /v1/deployments the riskiest-deployments checks read. */
interface DeploymentList {
  deployments: {
    id: string;
    name: string;
    kind: string;
    risk: { score: number; violationFactor: number; vulnFactor: number; violations: { total: number }; cves: { total: number } };
  }[];
}

/** GET an API path with the browser's session cookie. */
async function api<T>(path: string, status = 200): Promise<T> {
  return json<T>(await page.request.get(path), status);
}

/** The data table named name (PatternFly gives tables the grid role). */
function table(name: string, on: Page = page) {
  return on.getByRole('grid', { name }).or(on.getByRole('table', { name }));
}

/** The texts of one column of the table named name. */
async function column(name: string, index: number): Promise<string[]> {
  return table(name)
    .locator('tbody tr')
    .evaluateAll((rows, i) => rows.map((r) => (r.children[i] as HTMLElement | undefined)?.innerText.trim() ?? ''), index);
}

test('a deep link while signed out leads through sign-in and back', async () => {
  await page.goto('/violations?severity=HIGH_SEVERITY');
  await expect(page).toHaveURL(/\/login\?next=%2Fviolations%3Fseverity%3DHIGH_SEVERITY$/);
  await expect(page.getByRole('heading', { name: 'Sign in to Stockade' })).toBeVisible();
  await expectAccessible(page, 'sign-in');
  await screenshot(page, 'login');

  await page.locator('#login-password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByText('Wrong user name or password.')).toBeVisible();
  await expect(page).toHaveURL(/\/login/);

  await page.getByRole('button', { name: 'API token' }).click();
  await expect(page.locator('#login-token')).toBeVisible();
  await page.getByRole('button', { name: 'Password', exact: true }).click();
  await page.locator('#login-password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/violations\?severity=HIGH_SEVERITY$/);

  const high = await api<AlertList>('/v1/alerts?severity=HIGH_SEVERITY&limit=1');
  expect(high.total).toBeGreaterThan(0);
  await expect(page.getByTestId('violations-count')).toHaveText(
    `${high.total} violation${high.total === 1 ? ' matches' : 's match'} the filters`,
  );
  for (const severity of await column('Violations', 1)) expect(severity).toBe('High');
  await expect(page.getByRole('button', { name: 'User menu of admin' })).toBeVisible();
});

test('the dashboard tiles show the stored alerts and link to the lists behind them', async () => {
  await page.getByRole('navigation', { name: 'Stockade' }).getByRole('link', { name: 'Dashboard' }).click();
  await expect(page).toHaveURL(/\/$/);
  const sum = await api<Summary>('/v1/alerts/summary?groupBy=severity,category,namespace&state=ACTIVE');
  expect(sum.total).toBeGreaterThan(40);
  await expect(page.getByTestId('total-violations')).toHaveText(sum.total.toLocaleString('en-US'));
  for (const g of sum.groups.severity ?? []) {
    await expect(page.getByTestId(`severity-${g.severity}`)).toHaveText(String(g.count));
  }
  await expect(page.getByRole('img', { name: /Violations by severity/ })).toBeVisible();
  await expect(page.getByRole('img', { name: /Violations by policy category/ })).toBeVisible();
  await expect(page.getByRole('img', { name: /violations found per day/ })).toBeVisible();
  // The charts are drawn on their canvases, and their names carry the data.
  for (const tile of ['tile-severity', 'tile-category', 'tile-timeline']) {
    const canvas = page.locator(`#${tile} canvas`);
    await expect(canvas).toHaveAttribute('data-drawn', 'true');
    const painted = await canvas.evaluate((c: HTMLCanvasElement) => {
      const pixels = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) n++;
      return n;
    });
    expect(painted, `pixels drawn in ${tile}`).toBeGreaterThan(500);
  }
  for (const g of sum.groups.severity ?? []) {
    const name = { CRITICAL_SEVERITY: 'Critical', HIGH_SEVERITY: 'High', MEDIUM_SEVERITY: 'Medium', LOW_SEVERITY: 'Low' }[g.severity!];
    await expect(page.getByRole('img', { name: /Violations by severity/ })).toHaveAttribute(
      'aria-label',
      new RegExp(`${name} ${g.count}\\b`),
    );
  }
  // The scanned images' CVEs have no severity in Alpine's secdb: the
  // fixable-images tile says none is critical or important, and links to the images list.
  const fixable = await api<{ images: unknown[] }>('/v1/vulns/images/fixable?limit=10');
  expect(fixable.images).toEqual([]);
  await expect(page.locator('#tile-fixable-images')).toContainText('No scanned image has a fixable critical or important CVE.');
  await expect(page.getByRole('link', { name: 'View images with fixable CVEs' })).toHaveAttribute(
    'href',
    '/vulnerabilities/images?fixable=true&sort=-fixable',
  );
  await expectAccessible(page, 'dashboard');
  await screenshot(page, 'dashboard');

  // A category links to its violations, exactly as many as the tile says.
  const cat = sum.groups.category?.[0];
  expect(cat).toBeDefined();
  await page.getByRole('link', { name: `${cat!.category}: ${cat!.count} violation${cat!.count === 1 ? '' : 's'}` }).click();
  await expect(page).toHaveURL(new RegExp(`category=${encodeURIComponent(cat!.category!).replace(/%20/g, '(%20|\\+)')}`));
  await expect(page.getByTestId('violations-count')).toHaveText(
    `${cat!.count} violation${cat!.count === 1 ? ' matches' : 's match'} the filters`,
  );
  await page.goBack();
  await expect(page.getByTestId('total-violations')).toBeVisible();

  // The riskiest deployments, ranked by violations and CVEs together,
  // exactly as the API ranks them: the deployments of lab run scanned
  // images with CVEs, so they rank above those with as many violations
  // and no CVEs.
  const risky = await api<DeploymentList>('/v1/deployments?sort=-risk&limit=10');
  const tile = table('Deployments with the highest risk');
  await expect.poll(() => column('Deployments with the highest risk', 0)).toEqual(risky.deployments.map((d) => d.name));
  const scores = risky.deployments.map((d) => d.risk.score);
  expect(scores).toEqual([...scores].sort((a, b) => b - a));
  expect(await tile.getByTestId('risk-score').allInnerTexts()).toEqual(scores.map((s) => s.toFixed(2)));
  const vulnerable = risky.deployments.find((d) => d.risk.cves.total > 0);
  expect(vulnerable, 'a deployment with CVEs among the riskiest').toBeDefined();
  const row = tile.locator('tbody tr', { has: page.getByRole('link', { name: vulnerable!.name, exact: true }) });
  await expect(row.getByTestId('risk-cves')).toContainText(String(vulnerable!.risk.cves.total));
  await expect(row.getByTestId('risk-violations')).toContainText(String(vulnerable!.risk.violations.total));
  await expect(row.getByTestId('risk-reason')).toContainText(`CVEs ×${vulnerable!.risk.vulnFactor.toFixed(2)}`);
  // Without its CVEs it would rank lower: some deployment with no more
  // violations and no CVEs scores below it.
  const all = await api<DeploymentList>('/v1/deployments?sort=-risk&limit=1000');
  const at = all.deployments.findIndex((d) => d.id === vulnerable!.id);
  const below = all.deployments
    .slice(at + 1)
    .find((d) => d.risk.cves.total === 0 && d.risk.violationFactor >= vulnerable!.risk.violationFactor);
  expect(below, 'a deployment with as many violations and no CVEs ranked below').toBeDefined();
  // A row links to the deployment; "view all" to the list sorted by risk.
  await row.getByRole('link', { name: vulnerable!.name, exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/deployments/${vulnerable!.id}$`));
  await expect(page.getByRole('heading', { level: 1, name: vulnerable!.name })).toBeVisible();
  await page.goBack();
  await page.getByRole('link', { name: 'View all deployments by risk' }).click();
  await expect(page).toHaveURL(/\/deployments\?sort=-risk$/);
  await expect
    .poll(async () => (await column('Deployments', 0)).map((c) => c.split(/\s+\(/)[0]))
    .toEqual(all.deployments.slice(0, 20).map((d) => d.name));
  await page.goBack();
  await expect(page.getByTestId('total-violations')).toBeVisible();

  // The scope filter narrows every tile.
  await page.goto('/?cluster=staging');
  const staging = await api<Summary>('/v1/alerts/summary?groupBy=severity&state=ACTIVE&cluster=staging');
  await expect(page.getByTestId('total-violations')).toHaveText(staging.total.toLocaleString('en-US'));
  expect(staging.total).toBeLessThan(sum.total);
  const stagingRisky = await api<DeploymentList>('/v1/deployments?cluster=staging&sort=-risk&limit=10');
  await expect.poll(() => column('Deployments with the highest risk', 0)).toEqual(stagingRisky.deployments.map((d) => d.name));
  await expect(page.getByRole('link', { name: 'View all deployments by risk' })).toHaveAttribute(
    'href',
    '/deployments?cluster=staging&sort=-risk',
  );
});

test('the violations list filters, sorts and pages on the server', async () => {
  await page.getByRole('navigation', { name: 'Stockade' }).getByRole('link', { name: 'Violations' }).click();
  await expect(page).toHaveURL(/\/violations$/);
  const all = await api<AlertList>('/v1/alerts?limit=1');
  await expect(page.getByTestId('violations-count')).toHaveText(`${all.total} violations`);
  await expectAccessible(page, 'violations');
  await screenshot(page, 'violations');

  // Filter by a severity chosen in the toolbar.
  await page.getByRole('button', { name: 'Filter by severity' }).click();
  await page.getByRole('option', { name: 'Critical' }).click();
  await expect(page).toHaveURL(/severity=CRITICAL_SEVERITY/);
  const critical = await api<AlertList>('/v1/alerts?severity=CRITICAL_SEVERITY&limit=1');
  await expect(page.getByTestId('violations-count')).toHaveText(
    `${critical.total} violation${critical.total === 1 ? ' matches' : 's match'} the filters`,
  );
  for (const severity of await column('Violations', 1)) expect(severity).toBe('Critical');
  await page.getByRole('button', { name: 'Clear all filters' }).first().click();
  await expect(page.getByTestId('violations-count')).toHaveText(`${all.total} violations`);

  // Search.
  await page.getByRole('textbox', { name: /Search policy/ }).fill('nfs-server');
  await page.getByRole('textbox', { name: /Search policy/ }).press('Enter');
  await expect(page).toHaveURL(/query=nfs-server/);
  const nfs = await api<AlertList>('/v1/alerts?query=nfs-server&limit=1');
  await expect(page.getByTestId('violations-count')).toHaveText(`${nfs.total} violations match the filters`);
  for (const entity of await column('Violations', 2)) expect(entity).toContain('nfs-server');
  await page.getByRole('button', { name: 'Clear all filters' }).first().click();

  // Sort by policy name, both ways, exactly as the API orders them.
  await page.getByRole('button', { name: 'Policy', exact: true }).click();
  await expect(page).toHaveURL(/sort=policy(&|$)/);
  let want = await api<AlertList>('/v1/alerts?sort=policy&limit=20');
  await expect.poll(() => column('Violations', 0)).toEqual(want.alerts.map((a) => a.policy.name));
  await page.getByRole('button', { name: 'Policy', exact: true }).click();
  await expect(page).toHaveURL(/sort=-policy/);
  want = await api<AlertList>('/v1/alerts?sort=-policy&limit=20');
  await expect.poll(() => column('Violations', 0)).toEqual(want.alerts.map((a) => a.policy.name));

  // Page forward, then walk the history back and forth.
  await page.getByRole('button', { name: 'Go to next page' }).first().click();
  await expect(page).toHaveURL(/page=2/);
  const second = await api<AlertList>('/v1/alerts?sort=-policy&limit=20&offset=20');
  await expect.poll(() => column('Violations', 0)).toEqual(second.alerts.map((a) => a.policy.name));
  await page.goBack();
  await expect(page).not.toHaveURL(/page=2/);
  await expect.poll(() => column('Violations', 0)).toEqual(want.alerts.map((a) => a.policy.name));
  await page.goForward();
  await expect(page).toHaveURL(/page=2/);
  await expect.poll(() => column('Violations', 0)).toEqual(second.alerts.map((a) => a.policy.name));

  // A filter that matches nothing shows the empty state, not a blank page.
  await page.goto('/violations?query=no-such-deployment-anywhere');
  await expect(page.getByRole('heading', { name: 'No results match the filters' })).toBeVisible();
  await expectAccessible(page, 'violations (empty)');
});

test('a violation opens, resolves, and stays reachable by its link', async () => {
  await page.goto('/violations?state=ACTIVE&sort=severity');
  const target = (await api<AlertList>('/v1/alerts?state=ACTIVE&sort=severity&limit=1')).alerts[0]!;
  await page.getByRole('link', { name: target.policy.name }).first().click();
  await expect(page).toHaveURL(/\/violations\/[0-9a-f-]+$/);
  const id = page.url().split('/').pop()!;
  const alert = await api<AlertList['alerts'][number]>(`/v1/alerts/${id}`);
  await expect(page.getByRole('heading', { level: 1, name: alert.policy.name })).toBeVisible();
  await expect(table('What was found').locator('tbody tr').first()).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Policy', exact: true })).toBeVisible();
  await expect(page.getByText('Remediation')).toBeVisible();
  await expectAccessible(page, 'violation detail');
  await screenshot(page, 'violation-detail');

  await page.getByRole('button', { name: 'Resolve', exact: true }).click();
  await expect(page.getByText('The violation is resolved.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Resolve', exact: true })).toHaveCount(0);
  expect((await api<AlertList['alerts'][number]>(`/v1/alerts/${id}`)).state).toBe('RESOLVED');

  await page.goBack();
  await expect(page).toHaveURL(/\/violations\?state=ACTIVE&sort=severity$/);
  await page.goForward();
  await expect(page).toHaveURL(new RegExp(`/violations/${id}$`));
  await expect(page.locator('.pf-v6-c-label', { hasText: 'Resolved' })).toBeVisible();

  // The link works in a fresh tab of the same session.
  const tab = await context.newPage();
  const tabProblems = watchConsole(tab);
  await tab.goto(`/violations/${id}`);
  await expect(tab.getByRole('heading', { level: 1, name: alert.policy.name })).toBeVisible();
  await tab.getByRole('link', { name: alert.policy.name }).first().click();
  await expect(tab).toHaveURL(new RegExp(`/policies/${alert.policy.id}$`));
  await tab.close();
  expect(tabProblems).toEqual([]);

  // A violation that does not exist says so.
  await page.goto('/violations/00000000-0000-0000-0000-000000000000');
  await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible();
});

test('the policies list filters, toggles and opens a policy', async () => {
  await page.goto('/policies?severity=CRITICAL_SEVERITY');
  const critical = await api<{ total: number; policies: { id: string; name: string; disabled: boolean }[] }>(
    '/v1/policies?severity=CRITICAL_SEVERITY',
  );
  await expect(page.getByTestId('policies-count')).toHaveText(
    `${critical.total} ${critical.total === 1 ? 'policy matches' : 'policies match'} the filters`,
  );
  for (const severity of await column('Policies', 3)) expect(severity).toBe('Critical');
  await expectAccessible(page, 'policies');
  await screenshot(page, 'policies');

  const first = critical.policies[0]!;
  const toggle = page.getByRole('switch', { name: `${first.name} enabled` });
  // The input is drawn by its label, which takes the click.
  const flip = () => toggle.locator('xpath=..').click();
  await expect(toggle).toBeChecked({ checked: !first.disabled });
  await flip();
  await expect.poll(async () => (await api<{ disabled?: boolean }>(`/v1/policies/${first.id}`)).disabled ?? false).toBe(!first.disabled);
  await expect(toggle).toBeChecked({ checked: first.disabled });
  await flip();
  await expect.poll(async () => (await api<{ disabled?: boolean }>(`/v1/policies/${first.id}`)).disabled ?? false).toBe(first.disabled);

  // Sort by severity puts the most severe first.
  await page.goto('/policies');
  await page.getByRole('button', { name: 'Severity', exact: true }).click();
  await expect(page).toHaveURL(/sort=severity/);
  await expect.poll(async () => (await column('Policies', 3))[0]).toBe('Critical');

  await page.goto(`/policies?severity=CRITICAL_SEVERITY`);
  await page.getByRole('link', { name: first.name, exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/policies/${first.id}$`));
  await expect(page.getByRole('heading', { level: 1, name: first.name })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Criteria' })).toBeVisible();
  await expectAccessible(page, 'policy detail');
  await screenshot(page, 'policy-detail');
  await page.getByRole('link', { name: 'View the violations of this policy' }).click();
  await expect(page).toHaveURL(new RegExp(`/violations\\?policyId=${first.id}$`));
});

test("the notifiers page shows dead letters with the remote's words, and retries them", async () => {
  await page.getByRole('link', { name: 'Notifiers', exact: true }).click();
  await expect(page).toHaveURL(/\/notifiers$/);
  const row = table('Notifiers').locator('tbody tr', { hasText: 'Refusing hook' });
  await expect(row).toContainText('unknown field alert.policy');
  const listed = await api<{ notifiers: { id: string; name: string; status: { dead: number } }[] }>('/v1/notifiers');
  const hook = listed.notifiers.find((n) => n.name === 'Refusing hook')!;
  expect(hook.status.dead).toBeGreaterThan(0);
  expect((await column('Notifiers', 5))[0]).toBe(String(hook.status.dead));
  await expectAccessible(page, 'notifiers');
  await screenshot(page, 'notifiers');

  await page.getByRole('button', { name: 'Retry the dead messages of Refusing hook' }).click();
  await expect(page.getByText(new RegExp(`${hook.status.dead} dead messages? of Refusing hook queued again\\.$`))).toBeVisible();
});

test('an unknown page says so, and signing out ends the session', async () => {
  await page.goto('/no/such/page');
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  await expectAccessible(page, 'not found');

  await page.getByRole('button', { name: 'User menu of admin' }).click();
  await page.getByRole('menuitem', { name: /Log out/ }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByText('You are signed out.')).toBeVisible();
  expect((await page.request.get('/v1/auth/status')).status()).toBe(401);

  await page.goto('/policies');
  await expect(page).toHaveURL(/\/login\?next=%2Fpolicies$/);
});
