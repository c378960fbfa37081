import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import fs from 'node:fs';
import { PASSWORD, expectAccessible, json, screenshot, watchConsole, type AlertList } from './helpers';

// One signed-in browser works with policies as a person would: create one
// with the wizard, find it in the list, export and import files, delete a
// policy, and exclude a violation's deployment. Each test starts where the
// previous one left off.
// Chromium is slow on a loaded machine, and the wizard has many steps.
test.describe.configure({ mode: 'serial', timeout: 600_000 });

let context: BrowserContext;
let page: Page;
let problems: string[];

interface PolicyDoc {
  id: string;
  name: string;
  exclusions?: { deployment?: { name?: string; scope?: { cluster?: string; namespace?: string } } }[];
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

async function api<T>(path: string, status = 200): Promise<T> {
  return json<T>(await page.request.get(path), status);
}

function table(name: string) {
  return page.getByRole('grid', { name }).or(page.getByRole('table', { name }));
}

async function next() {
  await page.getByRole('button', { name: 'Next', exact: true }).click();
}

async function step(name: string, shot: string) {
  await expect(page.getByRole('heading', { name, level: 2 })).toBeVisible();
  await expectAccessible(page, `policy wizard ${name}`);
  await screenshot(page, shot);
}

test('the wizard creates a policy, checking values as they are typed, with a dry run', async () => {
  await page.goto('/policies/new');
  await page.locator('#login-password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/policies\/new$/);
  await expect(page.getByRole('heading', { name: 'Create policy', level: 1 })).toBeVisible();

  await step('Details', 'policy-wizard-1-details');
  await page.getByLabel('Name').fill('No privileged pods in prod');
  await page.getByLabel('Severity').selectOption('HIGH_SEVERITY');
  await page.getByLabel('Description').fill('Privileged containers own the node.');
  await page.getByLabel('Categories').fill('Privileges, Wizard');
  await next();

  await step('Lifecycle', 'policy-wizard-2-lifecycle');
  await expect(page.getByLabel('Deploy')).toBeChecked();
  await next();

  await step('Criteria', 'policy-wizard-3-criteria-empty');
  await page.getByLabel('Criterion to add to section 1').selectOption('Privileged Container');
  await page.getByRole('button', { name: 'Add criterion to section 1' }).click();
  await expect(page.getByLabel('Privileged Container value 1')).toHaveValue('true');
  // A BUILD-only criterion is not offered to a DEPLOY policy's builder…
  await expect(page.getByLabel('Criterion to add to section 1').locator('option', { hasText: 'Process Name' })).toHaveCount(0);
  // …and a wrong value is flagged as it is typed, then accepted once fixed.
  await page.getByLabel('Criterion to add to section 1').selectOption('Replicas');
  await page.getByRole('button', { name: 'Add criterion to section 1' }).click();
  const replicas = page.getByLabel('Replicas value 1');
  await replicas.fill('lots');
  const problem = page.getByTestId('criterion-0-1').getByText('want a number with an optional comparator');
  await expect(problem).toBeVisible();
  await expect(replicas).toHaveAttribute('aria-invalid', 'true');
  await screenshot(page, 'policy-wizard-3-criteria-error');
  await replicas.fill('>= 0');
  await expect(problem).toHaveCount(0);
  await expect(replicas).not.toHaveAttribute('aria-invalid', 'true');
  await step('Criteria', 'policy-wizard-3-criteria');
  await next();

  await step('Scope and exclusions', 'policy-wizard-4-scope');
  await page.getByRole('button', { name: 'Add a scope' }).click();
  await page.getByLabel('Scope 1 namespace (regular expression)').fill('prod|dev');
  await next();

  await step('Enforcement and notifiers', 'policy-wizard-5-enforcement');
  await expect(page.getByLabel('Fail the CI build')).toBeDisabled();
  await next();

  await step('Review and dry run', 'policy-wizard-6-review');
  await page.getByRole('button', { name: 'Run the dry run' }).click();
  await expect(page.getByTestId('dryrun-summary')).toContainText('1 deployment of 2 would violate the policy');
  await expect(table('Deployments that would violate the policy')).toContainText('priv');
  await expect(table('Deployments that would violate the policy')).toContainText('lab / prod');
  await expectAccessible(page, 'policy wizard dry run');
  await screenshot(page, 'policy-wizard-6-dryrun');
  await page.getByRole('button', { name: 'Save' }).click();

  await expect(page.getByRole('heading', { name: 'No privileged pods in prod', level: 1 })).toBeVisible();
  const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '');
  const saved = await api<PolicyDoc & { scope: { namespace: string }[]; categories: string[] }>(`/v1/policies/${id}`);
  expect(saved.scope).toEqual([{ namespace: 'prod|dev' }]);
  expect(saved.categories).toEqual(['Privileges', 'Wizard']);

  await page.getByRole('navigation', { name: 'Stockade' }).getByRole('link', { name: 'Policies' }).click();
  await page.getByRole('searchbox').or(page.getByPlaceholder('Search name, description or category')).first().fill('privileged pods');
  await page.keyboard.press('Enter');
  await expect(table('Policies').getByRole('link', { name: 'No privileged pods in prod' })).toBeVisible();
  await expectAccessible(page, 'policies');
  await screenshot(page, 'policies-with-wizard-policy');
});

test('a problem the server finds on save is shown on the step of its field', async () => {
  await page.goto('/policies/new');
  await page.getByLabel('Name').fill('A policy without criteria');
  for (let i = 0; i < 5; i++) await next();
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('save-error')).toBeVisible();
  // The missing criteria send the wizard back to the Criteria step.
  await expect(page.getByRole('heading', { name: 'Criteria', level: 2 })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Policy section 1' }).getByText('a section needs at least one criterion')).toBeVisible();
  await expectAccessible(page, 'policy wizard save error');
});

test('policies are exported as files and imported back, with a name conflict overwritten', async () => {
  await page.goto('/policies?query=privileged+pods');
  const row = table('Policies').getByRole('row', { name: /No privileged pods in prod/ });
  await row.getByRole('checkbox').check();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export selected (1)' }).click()]);
  expect(download.suggestedFilename()).toBe('no-privileged-pods-in-prod.json');
  const file = await download.path();
  const exported = JSON.parse(fs.readFileSync(file, 'utf8')) as { policies: PolicyDoc[] };
  expect(exported.policies.map((p) => p.name)).toEqual(['No privileged pods in prod']);

  // A file with a new policy and one whose name clashes.
  const fresh = { ...exported.policies[0], id: '', name: 'Imported from a file' };
  await page.getByRole('button', { name: 'Import' }).click();
  const dialog = page.getByRole('dialog', { name: 'Import policies' });
  await dialog.getByLabel('Policy files').setInputFiles([
    { name: 'fresh.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(fresh)) },
    { name: 'export.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(exported)) },
  ]);
  await dialog.getByRole('button', { name: 'Import', exact: true }).click();
  const results = dialog.getByTestId('import-results');
  await expect(results).toContainText('Name or id conflict');
  await expect(results).toContainText('Not imported');
  await expectAccessible(page, 'import dialog');
  await screenshot(page, 'policies-import-conflict');
  await dialog.getByRole('button', { name: 'Overwrite and import' }).click();
  await expect(results.getByText('Created')).toHaveCount(2);
  await dialog.getByRole('button', { name: 'Done' }).click();

  await page.goto('/policies?query=imported+from');
  await expect(table('Policies').getByRole('link', { name: 'Imported from a file' })).toBeVisible();

  // One policy is exported from its detail page too.
  await table('Policies').getByRole('link', { name: 'Imported from a file' }).click();
  const [single] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export' }).click()]);
  expect(single.suggestedFilename()).toBe('imported-from-a-file.json');
  await expect(page.getByTestId('policy-notice')).toContainText('Exported to imported-from-a-file.json');
});

test('a custom policy is deleted after confirmation', async () => {
  await expect(page.getByRole('heading', { name: 'Imported from a file', level: 1 })).toBeVisible();
  await page.getByRole('button', { name: 'Delete' }).click();
  const dialog = page.getByRole('dialog', { name: /Delete Imported from a file\?/ });
  await expectAccessible(page, 'delete dialog');
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await expect(page).toHaveURL(/\/policies$/);
  const left = await api<{ total: number }>('/v1/policies?query=imported+from');
  expect(left.total).toBe(0);
});

test('excluding a violation’s deployment adds an exclusion and resolves the violation', async () => {
  const alerts = await api<AlertList>('/v1/alerts?namespace=prod&state=ACTIVE&limit=100');
  const alert = alerts.alerts.find((a) => a.policy.name === 'Container running in privileged mode');
  expect(alert, 'an active privileged alert in prod').toBeTruthy();
  if (!alert) return;
  await page.goto(`/violations/${alert.id}`);
  await expect(page.getByText('Active', { exact: true })).toBeVisible();
  await page.getByRole('button', { name: 'Exclude this deployment' }).click();
  const dialog = page.getByRole('dialog', { name: /Exclude this deployment from the policy\?/ });
  await expect(dialog).toContainText('priv');
  await expectAccessible(page, 'exclude dialog');
  await screenshot(page, 'violation-exclude-confirm');
  await dialog.getByRole('button', { name: 'Exclude' }).click();
  await expect(page.getByText(/priv is excluded from Container running in privileged mode/)).toBeVisible();
  await expect(page.getByText('Resolved', { exact: true })).toBeVisible();
  await expectAccessible(page, 'violation excluded');
  await screenshot(page, 'violation-excluded');

  const policy = await api<PolicyDoc>(`/v1/policies/${alert.policy.id}`);
  expect(policy.exclusions?.some((e) => e.deployment?.name === 'priv' && e.deployment.scope?.namespace === 'prod')).toBe(true);
  const a = await api<{ state: string }>(`/v1/alerts/${alert.id}`);
  expect(a.state).toBe('RESOLVED');
});

test('a built-in policy opens in the wizard with its criteria locked and its exclusions editable', async () => {
  const policies = await api<{ policies: { id: string; name: string }[] }>('/v1/policies?query=privileged+mode');
  const builtin = policies.policies.find((p) => p.name === 'Container running in privileged mode');
  expect(builtin).toBeTruthy();
  if (!builtin) return;
  await page.goto(`/policies/${builtin.id}/edit`);
  await expect(page.getByRole('heading', { name: 'Edit Container running in privileged mode', level: 1 })).toBeVisible();
  await expect(page.getByLabel('Name')).toBeDisabled();
  await page.getByRole('navigation', { name: 'Policy wizard steps' }).getByRole('button', { name: 'Criteria' }).click();
  await expect(page.getByText('The criteria of this built-in policy are locked.', { exact: false })).toBeVisible();
  await expect(page.getByLabel('Privileged Container value 1')).toBeDisabled();
  await expectAccessible(page, 'locked criteria');
  await screenshot(page, 'policy-wizard-locked-criteria');
  await page.getByRole('navigation', { name: 'Policy wizard steps' }).getByRole('button', { name: 'Scope and exclusions' }).click();
  const last = page.getByLabel(/^Exclusion \d+ deployment name$/).last();
  await expect(last).toHaveValue('priv');
  await expect(last).toBeEnabled();
});
