// How the dashboard words and orders the API's values.
import type { AlertState, LifecycleStage, Severity } from './api/types';

export const SEVERITIES: Severity[] = ['CRITICAL_SEVERITY', 'HIGH_SEVERITY', 'MEDIUM_SEVERITY', 'LOW_SEVERITY'];
export const STAGES: LifecycleStage[] = ['BUILD', 'DEPLOY', 'RUNTIME'];
export const ALERT_STATES: AlertState[] = ['ACTIVE', 'ATTEMPTED', 'RESOLVED'];

/** "HIGH_SEVERITY" → "High". Unknown values are shown as they are. */
export function severityLabel(s: string | undefined): string {
  switch (s) {
    case 'CRITICAL_SEVERITY':
      return 'Critical';
    case 'HIGH_SEVERITY':
      return 'High';
    case 'MEDIUM_SEVERITY':
      return 'Medium';
    case 'LOW_SEVERITY':
      return 'Low';
    case undefined:
    case '':
      return 'Unknown';
  }
  return s;
}

/** Critical = 4 … Low = 1, anything else 0. */
export function severityRank(s: string | undefined): number {
  const i = SEVERITIES.indexOf(s as Severity);
  return i < 0 ? 0 : SEVERITIES.length - i;
}

/** "DEPLOY" → "Deploy". */
export function stageLabel(s: string | undefined): string {
  return titleCase(s);
}

/** "ACTIVE" → "Active". */
export function stateLabel(s: string | undefined): string {
  return titleCase(s);
}

/** "SCALE_TO_ZERO_ENFORCEMENT" → "Scale to zero". */
export function enforcementLabel(action: string): string {
  switch (action) {
    case 'FAIL_BUILD_ENFORCEMENT':
      return 'Fail build';
    case 'SCALE_TO_ZERO_ENFORCEMENT':
      return 'Scale to zero';
    case 'UNSATISFIABLE_NODE_CONSTRAINT_ENFORCEMENT':
      return 'Unsatisfiable node constraint';
    case 'FAIL_KUBE_REQUEST_ENFORCEMENT':
      return 'Fail Kubernetes request';
    case 'KILL_POD_ENFORCEMENT':
      return 'Kill pod';
    case 'FAIL_DEPLOYMENT_CREATE_ENFORCEMENT':
      return 'Block deployment creation';
    case 'FAIL_DEPLOYMENT_UPDATE_ENFORCEMENT':
      return 'Block deployment update';
    case 'UNSET_ENFORCEMENT':
      return 'None';
  }
  return titleCase(action.replace(/_ENFORCEMENT$/, ''));
}

/** The enforcement actions that do something (UNSET is none). */
export function activeEnforcements(actions: string[] | undefined): string[] {
  return (actions ?? []).filter((a) => a !== 'UNSET_ENFORCEMENT');
}

function titleCase(s: string | undefined): string {
  if (!s) return 'Unknown';
  const words = s.toLowerCase().split('_').filter(Boolean).join(' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A time as the reader's locale writes it, with the date; "" for none. */
export function formatTime(iso: string | undefined, locale?: string, timeZone?: string): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(d);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * A UTC date "2026-01-02" as a short axis label, "Jan 2". Written without
 * Intl: the dashboard's first paint draws these, and the first use of Intl
 * in a page costs tens of milliseconds (loading its locale data).
 */
export function formatDay(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return day;
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}`;
}

/** A count with thousands separators, "12,345" (without Intl, as formatDay). */
export function formatCount(n: number): string {
  if (!Number.isInteger(n)) return String(n);
  const digits = String(Math.abs(n));
  let out = '';
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? `-${out}` : out;
}

/** A count with its noun, "1 violation", "3 violations". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

/**
 * The line above a list: "3 deployments", "1 deployment matches the
 * filters" when filtered, or with unfiltered appended when not.
 */
export function countLine(total: number, one: string, many: string, filtered: boolean, unfiltered = ''): string {
  return plural(total, one, many) + (filtered ? (total === 1 ? ' matches' : ' match') + ' the filters' : unfiltered);
}

/** "prod / shop" for a cluster and namespace, leaving out what is empty. */
export function placeLabel(cluster: string | undefined, namespace: string | undefined): string {
  return [cluster, namespace].filter((x) => x).join(' / ') || '—';
}

/** The start of the UTC day days-1 days before now: the first day of a window of days. */
export function windowStart(days: number, now: Date = new Date()): string {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  d.setUTCDate(d.getUTCDate() - (days - 1));
  return d.toISOString();
}
