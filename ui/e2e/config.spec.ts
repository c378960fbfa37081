import { expect, request, test, type BrowserContext, type Page } from '@playwright/test';
import { PASSWORD, expectAccessible, json, screenshot, watchConsole } from './helpers';

// The configuration pages, walked in order by one signed-in browser against
// the Central, registry and webhook TestConfigEndToEnd started.
test.describe.configure({ mode: 'serial' });

const WEBHOOK = process.env.STOCKADE_E2E_WEBHOOK ?? '';
const REGISTRY = process.env.STOCKADE_E2E_REGISTRY ?? '';
const REGISTRY_USER = process.env.STOCKADE_E2E_REGISTRY_USER ?? '';
const REGISTRY_PASSWORD = process.env.STOCKADE_E2E_REGISTRY_PASSWORD ?? '';

let context: BrowserContext;
let page: Page;
let problems: string[];

test.beforeAll(async ({ browser }) => {
  expect(WEBHOOK && REGISTRY && REGISTRY_PASSWORD, 'run through go test -run TestConfigEndToEnd').toBeTruthy();
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

function table(name: string) {
  return page.getByRole('grid', { name }).or(page.getByRole('table', { name }));
}

/** A request context of its own: no session cookie, only what it is given. */
async function bare() {
  return request.newContext({ baseURL: process.env.STOCKADE_URL, ignoreHTTPSErrors: true });
}

test('sign in and open the configuration', async () => {
  await page.goto('/configuration');
  await expect(page).toHaveURL(/\/login/);
  await page.locator('#login-password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/configuration\/integrations$/);
  await expect(page.getByRole('heading', { name: 'Image integrations', level: 1 })).toBeVisible();
  await expect(page.getByText('No integrations yet')).toBeVisible();
  const nav = page.getByRole('navigation', { name: 'Stockade' });
  for (const name of ['Image integrations', 'Notifiers', 'API tokens', 'System settings']) {
    await expect(nav.getByRole('link', { name, exact: true })).toBeVisible();
  }
});

test('an API token is shown once, works, and stops working once revoked', async () => {
  await page.getByRole('link', { name: 'API tokens', exact: true }).click();
  await expect(page).toHaveURL(/\/configuration\/tokens$/);
  await expect(page.getByRole('heading', { name: 'API tokens', level: 1 })).toBeVisible();
  await page.getByRole('button', { name: 'Generate token' }).click();
  const dialog = page.getByRole('dialog', { name: 'Generate an API token' });
  await dialog.getByRole('button', { name: 'Generate' }).click();
  await expect(dialog.getByText('is required')).toBeVisible();
  await dialog.getByLabel('Name').fill('e2e pipeline');
  await dialog.getByLabel('Role').selectOption('Continuous Integration');
  await dialog.getByLabel('Expires after').selectOption('30');
  await expectAccessible(page, 'generate token');
  await dialog.getByRole('button', { name: 'Generate' }).click();

  const shown = page.getByRole('dialog', { name: 'API token e2e pipeline' });
  await expect(shown.getByText('Copy the token now: it is shown only this once.')).toBeVisible();
  const token = await shown.getByLabel('The new API token').inputValue();
  expect(token).toMatch(/^stk_/);
  await expect(shown.getByRole('button', { name: 'Copy' })).toBeVisible();
  await expectAccessible(page, 'token shown once');
  await screenshot(page, 'config-token-shown');
  await shown.getByRole('button', { name: 'Done' }).click();
  await expect(shown).toBeHidden();
  // Gone from the page for good: the list has no secret.
  expect(await page.content()).not.toContain(token);

  const row = table('API tokens').locator('tbody tr', { hasText: 'e2e pipeline' });
  await expect(row).toContainText('Continuous Integration');
  await expect(row).toContainText('Valid');

  const rq = await bare();
  const status = await json<{ userName: string; role: string; kind: string }>(
    await rq.get('/v1/auth/status', { headers: { Authorization: `Bearer ${token}` } }),
  );
  expect(status).toMatchObject({ userName: 'e2e pipeline', role: 'Continuous Integration', kind: 'token' });
  await json(await rq.get('/v1/policies', { headers: { Authorization: `Bearer ${token}` } }));

  await expectAccessible(page, 'tokens');
  await screenshot(page, 'config-tokens');
  await row.getByRole('button', { name: 'Revoke e2e pipeline' }).click();
  const confirm = page.getByRole('dialog', { name: 'Revoke e2e pipeline?' });
  await confirm.getByRole('button', { name: 'Revoke' }).click();
  await expect(confirm).toBeHidden();
  await expect(row).toContainText('Revoked');
  await expect(row.getByRole('button', { name: 'Revoke e2e pipeline' })).toHaveCount(0);
  expect((await rq.get('/v1/auth/status', { headers: { Authorization: `Bearer ${token}` } })).status()).toBe(401);

  // The list filters on the server, and the filter is in the URL.
  await page.goto('/configuration/tokens?revoked=false');
  await expect(page.getByText('No results match the filters')).toBeVisible();
  await rq.dispose();
});

test('a generic webhook notifier is created, tested (the webhook receives it) and deleted', async () => {
  await page.getByRole('link', { name: 'Notifiers', exact: true }).click();
  await expect(page).toHaveURL(/\/configuration\/notifiers$/);
  await page.getByRole('button', { name: 'New notifier' }).click();
  const dialog = page.getByRole('dialog', { name: 'New notifier' });
  await expect(dialog.getByLabel('Type')).toHaveValue('generic');
  // The form checks as the API does before sending anything.
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(dialog.getByText('Fix the fields marked below.')).toBeVisible();
  await dialog.getByLabel('Endpoint').fill('ftp://example.com');
  await expect(dialog.getByText('want an http:// or https:// URL, got scheme "ftp"')).toBeVisible();
  await dialog.getByRole('textbox', { name: 'Name', exact: true }).fill('E2E webhook');
  await dialog.getByLabel('Endpoint').fill(WEBHOOK);
  await dialog.getByRole('button', { name: 'Add headers' }).click();
  await dialog.getByLabel('Headers 1: Header name').fill('X-E2E');
  await dialog.getByLabel('Headers 1: Header value').fill('secret-header-value');
  await expectAccessible(page, 'notifier form');
  await screenshot(page, 'config-notifier-form');
  await dialog.getByRole('button', { name: 'Test' }).click();
  await expect(dialog.getByText(/Test passed: test message sent through generic notifier "E2E webhook"/)).toBeVisible();
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(dialog).toBeHidden();

  const row = table('Notifiers').locator('tbody tr', { hasText: 'E2E webhook' });
  await expect(row).toContainText('Generic webhook');
  await row.getByRole('button', { name: 'Test E2E webhook' }).click();
  await expect(page.getByText(/E2E webhook: test message sent/)).toBeVisible();

  // Editing shows the stored header value masked, and keeps it.
  await row.getByRole('button', { name: 'Edit E2E webhook' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit E2E webhook' });
  await expect(edit.getByLabel('Endpoint')).toHaveValue(WEBHOOK);
  await expect(edit.getByLabel('Headers 1: Header value')).toHaveValue('******');
  await edit.getByRole('button', { name: 'Cancel' }).click();
  await expectAccessible(page, 'notifiers');
  await screenshot(page, 'config-notifiers');

  await row.getByRole('button', { name: 'Delete E2E webhook' }).click();
  await page.getByRole('dialog', { name: 'Delete E2E webhook?' }).getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByText('E2E webhook deleted.')).toBeVisible();
  await expect(row).toHaveCount(0);
});

test('a registry integration is created against a real registry and tested', async () => {
  await page.getByRole('link', { name: 'Image integrations', exact: true }).click();
  await page.getByRole('button', { name: 'New integration' }).click();
  const dialog = page.getByRole('dialog', { name: 'New image integration' });
  await dialog.getByRole('textbox', { name: 'Name', exact: true }).fill('Lab registry');
  await dialog.getByLabel('Registry endpoint').fill(REGISTRY);
  await dialog.getByLabel('User name').fill(REGISTRY_USER);
  await dialog.getByLabel('Password').fill('wrong-password');
  await dialog.getByLabel('Allow plain HTTP').check();
  await dialog.getByRole('button', { name: 'Test' }).click();
  await expect(dialog.getByText(/Test failed: .*rejected the credentials/)).toBeVisible();
  await dialog.getByLabel('Password').fill(REGISTRY_PASSWORD);
  await dialog.getByRole('button', { name: 'Test' }).click();
  await expect(dialog.getByText(/Test passed: logged in to/)).toBeVisible();
  await expectAccessible(page, 'integration form');
  await screenshot(page, 'config-integration-form');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(dialog).toBeHidden();

  const row = table('Image integrations').locator('tbody tr', { hasText: 'Lab registry' });
  await expect(row).toContainText('Generic Docker registry');
  await expect(row).toContainText(REGISTRY);
  await expect(row).toContainText('Never tested');
  await row.getByRole('button', { name: 'Test Lab registry' }).click();
  await expect(row).toContainText('Passed');
  await expect(row).toContainText('logged in to');
  expect(await page.content()).not.toContain(REGISTRY_PASSWORD);

  // Editing keeps the stored password unless it is replaced.
  await row.getByRole('button', { name: 'Edit Lab registry' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit Lab registry' });
  await expect(edit.getByLabel('Password')).toHaveValue('******');
  await edit.getByRole('button', { name: 'Test' }).click();
  await expect(edit.getByText(/Test passed/)).toBeVisible();
  await edit.getByRole('button', { name: 'Cancel' }).click();
  await expectAccessible(page, 'integrations');
  await screenshot(page, 'config-integrations');
});

test('system settings: the banner shows on every page and the notice on the sign-in page', async () => {
  await page.getByRole('link', { name: 'System settings', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'System settings', level: 1 })).toBeVisible();
  await expect(page.getByLabel('Keep resolved violations (days)')).toHaveValue('30');
  await expect(page.getByLabel('Sign out idle sessions after (minutes)')).toHaveValue('60');
  await page.getByLabel('Sign out idle sessions after (minutes)').fill('90');
  await page.getByLabel('Show a notice on the sign-in page').check();
  await page.getByLabel('Notice text').fill('Authorized use only.\nActivity on this system is monitored.');
  await page.getByLabel('Show a banner above every page').check();
  await page.getByLabel('Banner text').fill('E2E STAGING');
  await page.getByLabel('Keep resolved violations (days)').fill('-1');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText('want 0 (keep forever) to 3650 days')).toBeVisible();
  await page.getByLabel('Keep resolved violations (days)').fill('14');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText('Settings saved. They apply at once.')).toBeVisible();
  await expect(page.getByRole('note', { name: 'Banner' })).toHaveText('E2E STAGING');
  await expectAccessible(page, 'settings');
  await screenshot(page, 'config-settings');

  const cfg = await json<{ privateConfig: { alertRetention: { resolvedDays: number }; sessionIdleMinutes: number } }>(
    await page.request.get('/v1/config'),
  );
  expect(cfg.privateConfig.alertRetention.resolvedDays).toBe(14);
  expect(cfg.privateConfig.sessionIdleMinutes).toBe(90);

  // Every page, after a reload, shows the banner.
  await page.goto('/violations');
  await expect(page.getByRole('note', { name: 'Banner' })).toHaveText('E2E STAGING');

  // Signed out, the sign-in page shows the notice.
  const fresh = await page.context().browser()!.newContext();
  const login = await fresh.newPage();
  const loginProblems = watchConsole(login);
  await login.goto('/login');
  await expect(login.getByTestId('login-notice')).toContainText('Authorized use only.');
  await expect(login.getByTestId('login-notice')).toContainText('Activity on this system is monitored.');
  await expectAccessible(login, 'sign-in with notice');
  await screenshot(login, 'config-login-notice');
  expect(loginProblems).toEqual([]);
  await fresh.close();
});
