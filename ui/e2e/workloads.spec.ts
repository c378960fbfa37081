import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { PASSWORD, expectAccessible, json, screenshot, watchConsole } from './helpers';

// One signed-in browser walks the clusters and deployments pages against
// the Central TestWorkloadsEndToEnd seeded: a connected cluster "prod"
// with 26 deployments (web among them), a cluster "idle" whose Sensor
// left, and the staging manifests recorded by detection.
test.describe.configure({ mode: 'serial' });

let context: BrowserContext;
let page: Page;
let problems: string[];

interface Counts {
  critical: number;
  high: number;
  medium: number;
  low: number;
  total: number;
}

interface ClusterList {
  total: number;
  clusters: { id: string; name: string; status: string; deployments: number; namespaces: number; violations: Counts }[];
}

interface ClusterDetail {
  cluster: ClusterList['clusters'][number];
  namespaces: { name: string; deployments: number; violations: Counts }[];
}

interface DeploymentList {
  total: number;
  deployments: { id: string; name: string; cluster: string; namespace: string; violations: Counts; risk: { score: number } }[];
}

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

async function api<T>(path: string, status = 200): Promise<T> {
  return json<T>(await page.request.get(path), status);
}

function table(name: string) {
  return page.getByRole('grid', { name, exact: true }).or(page.getByRole('table', { name, exact: true }));
}

async function column(name: string, index: number): Promise<string[]> {
  return table(name)
    .locator('tbody tr')
    .evaluateAll((rows, i) => rows.map((r) => (r.children[i] as HTMLElement | undefined)?.innerText.trim() ?? ''), index);
}

/** The first line of each cell of a column: a deployment's name without its kind. */
async function names(name: string): Promise<string[]> {
  return (await column(name, 0)).map((s) => s.split(/\s+\(/)[0]!.trim());
}

test('the clusters list shows health and counts, and sorts and filters on the server', async () => {
  await page.goto('/clusters');
  await expect(page).toHaveURL(/\/login\?next=%2Fclusters$/);
  await page.locator('#login-password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/clusters$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Clusters' })).toBeVisible();

  const all = await api<ClusterList>('/v1/clusters');
  expect(all.total).toBe(2);
  await expect(page.getByTestId('clusters-count')).toHaveText('2 secured clusters');
  await expect.poll(() => column('Clusters', 0)).toEqual(['idle', 'prod']);
  const prod = all.clusters.find((c) => c.name === 'prod')!;
  expect(prod.status).toBe('HEALTHY');
  const prodRow = table('Clusters').locator('tbody tr', { hasText: 'prod' });
  await expect(prodRow).toContainText('Healthy');
  await expect(prodRow).toContainText('0.9.0-test / v1.36.3');
  await expect(prodRow.getByRole('link', { name: '26 deployments in prod' })).toBeVisible();
  await expect(prodRow).toContainText(`${prod.violations.critical} Critical`);
  await expect(table('Clusters').locator('tbody tr', { hasText: 'idle' })).toContainText('Degraded');
  await expectAccessible(page, 'clusters');
  await screenshot(page, 'clusters');

  // Most open violations first, then the reverse.
  await page.getByRole('button', { name: 'Open violations', exact: true }).click();
  await expect(page).toHaveURL(/sort=violations(&|$)/);
  await expect.poll(() => column('Clusters', 0)).toEqual(['prod', 'idle']);
  await page.getByRole('button', { name: 'Open violations', exact: true }).click();
  await expect(page).toHaveURL(/sort=-violations/);
  await expect.poll(() => column('Clusters', 0)).toEqual(['idle', 'prod']);

  // Filter by health in the toolbar.
  await page.getByRole('button', { name: 'Filter by health' }).click();
  await page.getByRole('option', { name: 'Degraded' }).click();
  await expect(page).toHaveURL(/status=DEGRADED/);
  await expect(page.getByTestId('clusters-count')).toHaveText('1 secured cluster matches the filters');
  await expect.poll(() => column('Clusters', 0)).toEqual(['idle']);
  await page.goBack();
  await expect(page).not.toHaveURL(/status=/);
  await expect.poll(() => column('Clusters', 0)).toEqual(['idle', 'prod']);

  // A search that matches nothing shows the empty state.
  await page.goto('/clusters?query=no-such-cluster');
  await expect(page.getByRole('heading', { name: 'No results match the filters' })).toBeVisible();
  await expectAccessible(page, 'clusters (empty)');
});

test('a cluster shows its health and namespaces, linking to its deployments and violations', async () => {
  await page.goto('/clusters');
  await table('Clusters').getByRole('link', { name: 'prod', exact: true }).click();
  await expect(page).toHaveURL(/\/clusters\/[0-9a-f-]+$/);
  const id = page.url().split('/').pop()!;
  const detail = await api<ClusterDetail>(`/v1/clusters/${id}`);
  await expect(page.getByRole('heading', { level: 1, name: 'prod' })).toBeVisible();
  await expect(page.getByTestId('cluster-health-reason')).toHaveText(/connected and was heard from within the last 90 seconds/);
  await expect(page.getByText('v1.36.3')).toBeVisible();
  await expect(page.getByText('admission', { exact: true })).toBeVisible();
  await expect(page.getByTestId('cluster-deployments')).toHaveText('26 deployments');
  await expect(page.getByTestId('cluster-violations')).toHaveText(
    `${detail.cluster.violations.total} open violation${detail.cluster.violations.total === 1 ? '' : 's'}`,
  );
  expect(detail.namespaces.map((n) => n.name)).toEqual(['payments', 'shop']);
  await expect.poll(() => column('Namespaces', 0)).toEqual(['payments', 'shop']);
  await expect.poll(() => column('Namespaces', 1)).toEqual(detail.namespaces.map((n) => String(n.deployments)));
  await expectAccessible(page, 'cluster detail');
  await screenshot(page, 'cluster-detail');

  // Its open violations, then back, then its namespace's deployments.
  await page.getByTestId('cluster-violations').click();
  await expect(page).toHaveURL(/\/violations\?state=ACTIVE&cluster=prod$/);
  await expect(page.getByTestId('violations-count')).toHaveText(/match the filters/);
  await page.goBack();
  await table('Namespaces').getByRole('link', { name: 'shop', exact: true }).click();
  await expect(page).toHaveURL(/\/deployments\?cluster=prod&namespace=shop$/);
  const shop = await api<DeploymentList>('/v1/deployments?cluster=prod&namespace=shop&limit=1');
  await expect(page.getByTestId('deployments-count')).toHaveText(`${shop.total} deployments match the filters`);
});

test('the deployments list filters, sorts and pages on the server', async () => {
  await page.getByRole('navigation', { name: 'Stockade' }).getByRole('link', { name: 'Deployments' }).click();
  await expect(page).toHaveURL(/\/deployments$/);
  const all = await api<DeploymentList>('/v1/deployments?limit=20');
  expect(all.total).toBeGreaterThan(26);
  await expect(page.getByTestId('deployments-count')).toHaveText(`${all.total} deployments`);
  await expect.poll(() => names('Deployments')).toEqual(all.deployments.map((d) => d.name));
  await expectAccessible(page, 'deployments');
  await screenshot(page, 'deployments');

  // Most open violations first: web, with its critical one, leads.
  await page.getByRole('button', { name: 'Open violations', exact: true }).click();
  await expect(page).toHaveURL(/sort=violations(&|$)/);
  const byViolations = await api<DeploymentList>('/v1/deployments?sort=violations&limit=20');
  await expect.poll(() => names('Deployments')).toEqual(byViolations.deployments.map((d) => d.name));
  const webRow = table('Deployments').locator('tbody tr', { has: page.getByRole('link', { name: 'web', exact: true }) });
  await expect(webRow).toContainText('1 Critical');
  await expect(webRow).toContainText('docker.io/library/nginx:1.25');

  // Highest risk first, each row with its score; a second click reverses.
  await page.getByRole('button', { name: 'Risk', exact: true }).click();
  await expect(page).toHaveURL(/sort=-risk(&|$)/);
  const byRisk = await api<DeploymentList>('/v1/deployments?sort=-risk&limit=20');
  await expect.poll(() => names('Deployments')).toEqual(byRisk.deployments.map((d) => d.name));
  expect(await table('Deployments').getByTestId('risk-score').allInnerTexts()).toEqual(
    byRisk.deployments.map((d) => d.risk.score.toFixed(2)),
  );
  await page.getByRole('button', { name: 'Risk', exact: true }).click();
  await expect(page).toHaveURL(/sort=risk(&|$)/);
  const leastRisk = await api<DeploymentList>('/v1/deployments?sort=risk&limit=20');
  await expect.poll(() => names('Deployments')).toEqual(leastRisk.deployments.map((d) => d.name));
  await page.getByRole('button', { name: 'Open violations', exact: true }).click();
  await expect(page).toHaveURL(/sort=violations(&|$)/);
  await expect.poll(() => names('Deployments')).toEqual(byViolations.deployments.map((d) => d.name));

  // Page forward and back through the history.
  await page.getByRole('button', { name: 'Go to next page' }).first().click();
  await expect(page).toHaveURL(/page=2/);
  const second = await api<DeploymentList>('/v1/deployments?sort=violations&limit=20&offset=20');
  await expect.poll(() => names('Deployments')).toEqual(second.deployments.map((d) => d.name));
  await page.goBack();
  await expect(page).not.toHaveURL(/page=2/);
  await expect.poll(() => names('Deployments')).toEqual(byViolations.deployments.map((d) => d.name));

  // Only those with open violations, in one cluster.
  await page.getByRole('button', { name: 'Filter by violations' }).click();
  await page.getByRole('option', { name: 'With open violations' }).click();
  await expect(page).toHaveURL(/violated=true/);
  await page.getByRole('button', { name: 'Filter by cluster' }).click();
  await page.getByRole('option', { name: 'prod' }).click();
  await expect(page).toHaveURL(/cluster=prod/);
  const violated = await api<DeploymentList>('/v1/deployments?violated=true&cluster=prod&sort=violations');
  expect(violated.deployments.map((d) => d.name).sort()).toEqual(['svc-07', 'web']);
  await expect(page.getByTestId('deployments-count')).toHaveText('2 deployments match the filters');
  await expect.poll(() => names('Deployments')).toEqual(violated.deployments.map((d) => d.name));

  // By severity of an open violation.
  await page.goto('/deployments?severity=CRITICAL_SEVERITY&cluster=prod');
  await expect.poll(() => names('Deployments')).toEqual(['web']);

  // Search, and the empty state.
  await page.goto('/deployments');
  await page.getByRole('textbox', { name: /Search name/ }).fill('svc-1');
  await page.getByRole('textbox', { name: /Search name/ }).press('Enter');
  await expect(page).toHaveURL(/query=svc-1/);
  const svc1 = await api<DeploymentList>('/v1/deployments?query=svc-1&limit=20');
  await expect.poll(() => names('Deployments')).toEqual(svc1.deployments.map((d) => d.name));
  await page.goto('/deployments?query=no-such-deployment');
  await expect(page.getByRole('heading', { name: 'No results match the filters' })).toBeVisible();
  await expectAccessible(page, 'deployments (empty)');
});

test('a deployment shows what was seeded: metadata, containers, exposure, images and violations', async () => {
  await page.goto('/deployments?query=web&cluster=prod');
  await table('Deployments').getByRole('link', { name: 'web', exact: true }).click();
  await expect(page).toHaveURL(/\/deployments\/uid-web$/);
  await expect(page.getByRole('heading', { level: 1, name: 'web' })).toBeVisible();
  await expect(page.getByTestId('rbac-level')).toHaveText('Elevated in namespace');
  await expect(page.getByText('web-sa')).toBeVisible();
  await expect(page.getByText('app=web')).toBeVisible();
  await expect(page.getByText('owner=alice')).toBeVisible();
  await expect(page.getByText('Ingress restricted, egress not restricted')).toBeVisible();

  // Images with the scan's counts and links to the vulnerability pages.
  const images = table('Images');
  const nginx = images.locator('tbody tr', { hasText: 'nginx' });
  await expect(nginx).toContainText('app');
  await expect(nginx.locator('td').nth(2)).toHaveText('12');
  await expect(nginx.locator('td').nth(3)).toHaveText('2');
  await expect(nginx.getByRole('link')).toHaveAttribute('href', `/vulnerabilities/images/sha256%3A${'5e'.repeat(32)}`);
  await expect(images.locator('tbody tr', { hasText: 'busybox' })).toContainText('Not scanned');
  await expect(page.getByRole('link', { name: 'CVEs of this deployment' })).toHaveAttribute(
    'href',
    '/vulnerabilities/cves?deployment=uid-web',
  );

  // Ports and exposure, and the containers' security context.
  await expect(table('Ports and exposure').locator('tbody tr').first()).toContainText('http 8080/TCP');
  await expect(table('Ports and exposure').locator('tbody tr').first()).toContainText('Node port 30080 (service web:80)');
  const app = page.getByRole('region', { name: 'Container app' });
  await expect(app.getByText('Yes, privileged')).toBeVisible();
  await expect(app.getByText('NET_ADMIN')).toBeVisible();
  await expect(app.getByText('250m / 500m')).toBeVisible();
  await expect(app.getByText('128 MB / 256 MB')).toBeVisible();
  await expect(table('Volumes of app').locator('tbody tr').first()).toContainText('/etc/nginx/conf.d');
  await expect(page.getByRole('region', { name: 'Container log-shipper' })).toContainText('busybox:1.36');
  await expectAccessible(page, 'deployment detail');
  await screenshot(page, 'deployment-detail');

  // Its open violation links to the violation, whose page links back.
  const violations = table('Open violations');
  await expect(violations.locator('tbody tr')).toHaveCount(1);
  await expect(violations.locator('tbody tr').first()).toContainText('Critical');
  await violations.getByRole('link').first().click();
  await expect(page).toHaveURL(/\/violations\/[0-9a-f-]+$/);
  await page.getByRole('link', { name: 'web', exact: true }).click();
  await expect(page).toHaveURL(/\/deployments\/uid-web$/);

  // An unknown deployment is a not-found state, not a blank page.
  await page.goto('/deployments/no-such-id');
  await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible();
});
