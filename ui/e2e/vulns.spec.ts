import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import fs from 'node:fs';
import { PASSWORD, expectAccessible, json, screenshot, watchConsole } from './helpers';

// Vulnerability management against a Central that scanned two Alpine 3.4
// images from a real registry and recorded two deployments running them
// (internal/central/ui_e2e_vulns_test.go): the CVE list, a CVE, its image,
// the deployment running it, the images and deployments lists, and CSV
// exports of the lists with their filters.
test.describe.configure({ mode: 'serial' });

let context: BrowserContext;
let page: Page;
let problems: string[];

// The musl CVE of Alpine 3.4's secdb: in both images, fixed in 1.1.14-r13.
const MUSL_CVE = 'CVE-2016-8859';

interface CveList {
  total: number;
  cves: { id: string; images: number; deployments: number }[];
}
interface ImageList {
  total: number;
  images: { id: string; name: string; vulns: number; deployments: number }[];
}
interface Running {
  total: number;
  deployments: { id: string; name: string; namespace: string }[];
}
interface DeploymentList {
  total: number;
  deployments: { id: string; name: string; images: { name: string; digest?: string }[]; cves: number }[];
}

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ acceptDownloads: true });
  page = await context.newPage();
  problems = watchConsole(page);
});

test.afterEach(() => {
  expect(problems, 'the browser reported errors').toEqual([]);
});

test.afterAll(async () => {
  await context.close();
});

async function api<T>(path: string): Promise<T> {
  return json<T>(await page.request.get(path));
}

function table(name: string) {
  return page.getByRole('grid', { name, exact: true }).or(page.getByRole('table', { name, exact: true }));
}

/** Clicks an export button and returns the CSV's rows, parsed. */
async function download(name: string): Promise<string[][]> {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name }).click()]);
  const file = await dl.path();
  return parseCsv(fs.readFileSync(file, 'utf8'));
}

/** A small RFC 4180 reader: quoted cells with doubled quotes and newlines. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else if (ch !== '\r') cell += ch;
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell]);
  return rows;
}

test('the CVE list shows the scanned images’ CVEs, filters on the server and exports what it shows', async () => {
  await page.goto('/vulnerabilities/cves');
  await expect(page).toHaveURL(/\/login/);
  await page.locator('#login-password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/vulnerabilities\/cves$/);

  const all = await api<CveList>('/v1/cves?limit=1');
  expect(all.total).toBeGreaterThan(5);
  await expect(page.getByRole('heading', { name: 'Workload CVEs', level: 1 })).toBeVisible();
  await expect(page.getByTestId('cves-count')).toHaveText(`${all.total} CVEs in scanned images`);
  await expect(table('CVEs').locator('tbody tr')).toHaveCount(Math.min(all.total, 50));
  await expectAccessible(page, 'CVE list');
  await screenshot(page, 'vulns-cves');

  // Sorting is the server's: the URL carries it and the first row follows.
  await table('CVEs').getByRole('button', { name: 'Deployments' }).click();
  await expect(page).toHaveURL(/sort=-deployments/);
  const byDeployments = await api<CveList>('/v1/cves?sort=-deployments&limit=1');
  await expect(table('CVEs').locator('tbody tr').first()).toContainText(byDeployments.cves[0]!.id);

  // Fixable CVEs only, then the export of exactly those, in that order.
  await page.getByRole('button', { name: 'Filter by fixable' }).click();
  await page.getByRole('option', { name: 'Fixable', exact: true }).click();
  await expect(page).toHaveURL(/fixable=true/);
  const fixable = await api<CveList>('/v1/cves?fixable=true&sort=-deployments&limit=1000');
  await expect(page.getByTestId('cves-count')).toHaveText(
    `${fixable.total} CVE${fixable.total === 1 ? ' matches' : 's match'} the filters`,
  );
  const rows = await download('Export CVEs as CSV');
  expect(rows[0]).toEqual(['CVE', 'Severity', 'CVSS', 'CVSS version', 'Fixable', 'Images', 'Deployments', 'First seen', 'Summary']);
  expect(rows.slice(1).map((r) => r[0])).toEqual(fixable.cves.map((c) => c.id));
  for (const r of rows.slice(1)) expect(r[4]).toBe('true');

  // A search by id narrows to the one CVE.
  await page.getByRole('textbox', { name: 'Search CVE, description or component' }).fill(MUSL_CVE);
  await page.getByRole('textbox', { name: 'Search CVE, description or component' }).press('Enter');
  await expect(page.getByTestId('cves-count')).toHaveText('1 CVE matches the filters');
  const musl = (await api<CveList>(`/v1/cves?query=${MUSL_CVE}`)).cves[0]!;
  const row = table('CVEs').locator('tbody tr').first();
  await expect(row).toContainText(MUSL_CVE);
  await expect(row.locator('td[data-label="Images"]')).toHaveText(String(musl.images));
  await expect(row.locator('td[data-label="Deployments"]')).toHaveText(String(musl.deployments));
});

test('a CVE leads to its image and on to the deployment running it', async () => {
  await table('CVEs').getByRole('link', { name: MUSL_CVE }).click();
  await expect(page).toHaveURL(new RegExp(`/vulnerabilities/cves/${MUSL_CVE}$`));
  await expect(page.getByRole('heading', { name: MUSL_CVE, level: 1 })).toBeVisible();
  const components = table('Affected components');
  await expect(components.getByRole('row', { name: /musl 1\.1\.14-r10 1\.1\.14-r13/ }).first()).toBeVisible();
  await expect(page.getByRole('link', { name: `https://nvd.nist.gov/vuln/detail/${MUSL_CVE}` })).toBeVisible();
  const images = await api<ImageList>('/v1/images?query=team/app');
  const app = images.images[0]!;
  await expect(table('Affected images').getByRole('link', { name: app.name })).toBeVisible();
  await expect(table('Affected deployments').locator('tbody tr')).toHaveCount(2);
  await expectAccessible(page, 'CVE detail');
  await screenshot(page, 'vulns-cve-detail');

  // On to the image: its metadata, layers and components with their CVEs.
  await table('Affected images').getByRole('link', { name: app.name }).click();
  await expect(page).toHaveURL(`/vulnerabilities/images/${encodeURIComponent(app.id)}`);
  await expect(page.getByRole('heading', { name: app.name, level: 1 })).toBeVisible();
  await expect(page.getByText(app.id, { exact: true })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Layers' })).toBeVisible();
  const comps = table('Components');
  const muslRow = comps.getByRole('row', { name: /^.*\bmusl 1\.1\.14-r10\b/ }).first();
  await muslRow.getByRole('button').click();
  await expect(table('CVEs of musl 1.1.14-r10').getByRole('link', { name: MUSL_CVE })).toBeVisible();
  await expectAccessible(page, 'image detail');
  await screenshot(page, 'vulns-image-detail');

  // The deployments running the image link to their pages.
  const running = await api<Running>(`/v1/images/${encodeURIComponent(app.id)}/deployments`);
  expect(running.total).toBe(2);
  const web = running.deployments.find((d) => d.name === 'web')!;
  await table('Deployments running the image').getByRole('link', { name: 'web' }).click();
  await expect(page).toHaveURL(`/deployments/${encodeURIComponent(web.id)}`);
  await page.goBack();
  await expect(page.getByRole('heading', { name: app.name, level: 1 })).toBeVisible();
});

test('the images list filters, sorts and exports on the server', async () => {
  await page.getByRole('navigation', { name: 'Stockade' }).getByRole('link', { name: 'Images' }).click();
  await expect(page).toHaveURL(/\/vulnerabilities\/images$/);
  const list = await api<ImageList>('/v1/images');
  await expect(page.getByTestId('images-count')).toHaveText(`${list.total} scanned images`);
  for (const im of list.images) {
    const row = table('Images').getByRole('row', { name: new RegExp(im.name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')) });
    await expect(row.locator('td[data-label="CVEs"]')).toHaveText(String(im.vulns));
    await expect(row.locator('td[data-label="Deployments"]')).toHaveText(String(im.deployments));
  }
  await expectAccessible(page, 'images');
  await screenshot(page, 'vulns-images');

  await page.getByRole('button', { name: 'Filter by fixable' }).click();
  await page.getByRole('option', { name: 'No fixable CVEs' }).click();
  await expect(page).toHaveURL(/fixable=false/);
  await expect(page.getByText('No results match the filters')).toBeVisible();
  await expectAccessible(page, 'images (empty)');
  await page.getByRole('button', { name: 'Clear all filters' }).first().click();
  await expect(table('Images').locator('tbody tr')).toHaveCount(list.total);

  const rows = await download('Export images as CSV');
  expect(rows[0]?.[0]).toBe('Image');
  expect(rows.slice(1).map((r) => r[0])).toEqual(list.images.map((i) => i.name));
});

test('deployments show their images’ CVEs and open to their images', async () => {
  await page.getByRole('navigation', { name: 'Stockade' }).getByRole('link', { name: 'Deployment CVEs' }).click();
  await expect(page).toHaveURL(/\/vulnerabilities\/deployments$/);
  const list = await api<DeploymentList>('/v1/vulns/deployments');
  expect(list.total).toBe(2);
  await expect(table('Deployments and their CVEs').locator('td[data-label="Deployment"]')).toHaveCount(2);
  const toolbox = list.deployments.find((d) => d.name === 'toolbox')!;
  const row = table('Deployments and their CVEs').getByRole('row', { name: /toolbox/ });
  await expect(row.locator('td[data-label="CVEs"]')).toHaveText(String(toolbox.cves));
  await row.getByRole('button').click();
  const images = table('Images of toolbox');
  for (const im of toolbox.images) await expect(images.getByRole('link', { name: im.name })).toBeVisible();
  await expectAccessible(page, 'deployment CVEs');
  await screenshot(page, 'vulns-deployments');

  await page.getByRole('link', { name: 'CVEs of the images in lab / ops' }).click();
  await expect(page).toHaveURL(/\/vulnerabilities\/cves\?cluster=lab&namespace=ops/);
  const scoped = await api<CveList>('/v1/cves?cluster=lab&namespace=ops&limit=1');
  await expect(page.getByTestId('cves-count')).toHaveText(`${scoped.total} CVE${scoped.total === 1 ? ' matches' : 's match'} the filters`);
  await page.goBack();

  const rows = await download('Export deployments as CSV');
  expect(rows.map((r) => r[0])).toEqual(['Deployment', ...list.deployments.map((d) => d.name)]);
});
