import { describe, expect, it } from 'vitest';
import { csrfToken, withQuery } from './api/client';
import {
  activeEnforcements,
  enforcementLabel,
  countLine,
  formatCount,
  formatDay,
  formatTime,
  placeLabel,
  plural,
  severityLabel,
  severityRank,
  stageLabel,
  windowStart,
} from './format';

describe('severity', () => {
  it('labels every ACS severity and passes unknown ones through', () => {
    expect(severityLabel('CRITICAL_SEVERITY')).toBe('Critical');
    expect(severityLabel('LOW_SEVERITY')).toBe('Low');
    expect(severityLabel('WEIRD')).toBe('WEIRD');
    expect(severityLabel(undefined)).toBe('Unknown');
  });
  it('ranks critical highest and unknown lowest', () => {
    expect(severityRank('CRITICAL_SEVERITY')).toBe(4);
    expect(severityRank('MEDIUM_SEVERITY')).toBe(2);
    expect(severityRank('LOW_SEVERITY')).toBe(1);
    expect(severityRank('nope')).toBe(0);
  });
});

describe('labels', () => {
  it('words stages and enforcement actions', () => {
    expect(stageLabel('RUNTIME')).toBe('Runtime');
    expect(enforcementLabel('SCALE_TO_ZERO_ENFORCEMENT')).toBe('Scale to zero');
    expect(enforcementLabel('SOMETHING_NEW_ENFORCEMENT')).toBe('Something new');
    expect(activeEnforcements(['UNSET_ENFORCEMENT', 'KILL_POD_ENFORCEMENT'])).toEqual(['KILL_POD_ENFORCEMENT']);
    expect(activeEnforcements(undefined)).toEqual([]);
  });
  it('counts with the right noun', () => {
    expect(plural(1, 'violation')).toBe('1 violation');
    expect(plural(1234, 'violation')).toBe('1,234 violations');
    expect(plural(2, 'policy', 'policies')).toBe('2 policies');
  });
  it('joins cluster and namespace', () => {
    expect(placeLabel('prod', 'shop')).toBe('prod / shop');
    expect(placeLabel('', 'shop')).toBe('shop');
    expect(placeLabel(undefined, undefined)).toBe('—');
  });
});

describe('time', () => {
  it('formats times in the given locale and zone, and keeps what it cannot read', () => {
    expect(formatTime('2026-03-04T05:06:07Z', 'en-US', 'UTC')).toBe('Mar 4, 2026, 5:06 AM');
    expect(formatTime('not a time')).toBe('not a time');
    expect(formatTime(undefined)).toBe('');
    expect(formatDay('2026-01-02')).toBe('Jan 2');
    expect(formatDay('2026-12-31')).toBe('Dec 31');
    expect(formatDay('yesterday')).toBe('yesterday');
  });
  it('writes the count line above a list', () => {
    expect(countLine(1, 'deployment', 'deployments', false)).toBe('1 deployment');
    expect(countLine(1, 'deployment', 'deployments', true)).toBe('1 deployment matches the filters');
    expect(countLine(1234, 'policy', 'policies', true)).toBe('1,234 policies match the filters');
    expect(countLine(2, 'CVE', 'CVEs', false, ' in scanned images')).toBe('2 CVEs in scanned images');
  });
  it('writes counts with thousands separators', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(999)).toBe('999');
    expect(formatCount(1000)).toBe('1,000');
    expect(formatCount(51094)).toBe('51,094');
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatCount(-4321)).toBe('-4,321');
    expect(formatCount(2.5)).toBe('2.5');
  });
  it('starts a window of days at UTC midnight', () => {
    const now = new Date('2026-03-10T15:00:00Z');
    expect(windowStart(1, now)).toBe('2026-03-10T00:00:00.000Z');
    expect(windowStart(30, now)).toBe('2026-02-09T00:00:00.000Z');
  });
});

describe('api client helpers', () => {
  it('reads the CSRF token from the cookies', () => {
    expect(csrfToken('a=1; __Host-stockade-csrf=abc%3D; b=2')).toBe('abc=');
    expect(csrfToken('a=1')).toBeUndefined();
    expect(csrfToken('__Host-stockade-csrf=')).toBeUndefined();
  });
  it('leaves empty query parameters out', () => {
    expect(withQuery('/v1/alerts', { state: 'ACTIVE', query: '', limit: 20, cluster: undefined })).toBe('/v1/alerts?state=ACTIVE&limit=20');
    expect(withQuery('/v1/alerts', {})).toBe('/v1/alerts');
  });
});
