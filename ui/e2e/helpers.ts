import AxeBuilder from '@axe-core/playwright';
import { expect, type APIResponse, type Page } from '@playwright/test';
import fs from 'node:fs';
import path from 'node:path';

/** Where page screenshots go: the test artifacts. */
export const ARTIFACTS = process.env.STOCKADE_E2E_ARTIFACTS || path.join(import.meta.dirname, 'artifacts');

export const PASSWORD = process.env.STOCKADE_PASSWORD ?? '';

/**
 * Saves a screenshot of the whole page under name.png. The page scrolls
 * inside PatternFly's main container, not the document, so the viewport is
 * stretched to the content for the shot.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const viewport = page.viewportSize() ?? { width: 1400, height: 1000 };
  const height = await page.evaluate(() => {
    const main = document.querySelector('main');
    const top = main?.getBoundingClientRect().top ?? 0;
    return Math.ceil(top + (main?.scrollHeight ?? 0) + 32);
  });
  if (height > viewport.height) await page.setViewportSize({ width: viewport.width, height: Math.min(height, 6000) });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
  await page.setViewportSize(viewport);
}

/**
 * Runs axe on the page and fails on any serious or critical violation of
 * WCAG 2.1 A and AA, naming each one and where it is.
 */
export async function expectAccessible(page: Page, name: string): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const report = bad.map(
    (v) => `${v.impact} ${v.id}: ${v.help}\n${v.nodes.map((n) => `    ${n.target.join(' ')}: ${n.failureSummary ?? ''}`).join('\n')}`,
  );
  expect(report, `accessibility violations on the ${name} page`).toEqual([]);
}

/**
 * Collects what the browser reports as broken: script errors, console
 * errors, Content-Security-Policy violations and server errors (5xx).
 * Client errors (401 before sign-in, 404 for a missing object) are answers
 * the pages show, checked by the tests themselves; the console's line about
 * each failed load is left out for them.
 */
export function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(text)) return;
    problems.push(`console error: ${text}`);
  });
  page.on('response', (resp) => {
    if (resp.status() >= 500) problems.push(`server error: ${resp.status()} ${resp.request().method()} ${resp.url()}`);
  });
  return problems;
}

/** The JSON of an API response, after checking its status. */
export async function json<T>(resp: APIResponse, status = 200): Promise<T> {
  expect(resp.status(), `${resp.url()}: ${await resp.text()}`).toBe(status);
  return (await resp.json()) as T;
}

export interface Summary {
  total: number;
  groups: Record<string, { count: number; severity?: string; category?: string; deploymentId?: string; deploymentName?: string }[]>;
}

export interface AlertList {
  total: number;
  alerts: { id: string; state: string; policy: { id: string; name: string; severity: string }; deployment: { name: string } }[];
}
