import { describe, expect, it } from 'vitest';
import { csvHref, formatBytes, formatCvss, shortDigest, vulnSeverityLabel } from './vulnFormat';

describe('vulnerability formatting', () => {
  it('names severities and falls back to Unknown', () => {
    expect(vulnSeverityLabel('CRITICAL')).toBe('Critical');
    expect(vulnSeverityLabel('IMPORTANT')).toBe('Important');
    expect(vulnSeverityLabel('HIGH')).toBe('Unknown');
    expect(vulnSeverityLabel(undefined)).toBe('Unknown');
  });

  it('writes CVSS scores with their version', () => {
    expect(formatCvss(9.8, '3.1')).toBe('9.8 (v3.1)');
    expect(formatCvss(7, undefined)).toBe('7.0');
    expect(formatCvss(0, '3.1')).toBe('—');
  });

  it('shortens digests', () => {
    expect(shortDigest('sha256:0123456789abcdef0123')).toBe('sha256:0123456789ab');
    expect(shortDigest('abcdef0123456789')).toBe('abcdef012345');
    expect(shortDigest(undefined)).toBe('');
  });

  it('writes byte sizes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(2_500_000)).toBe('2.5 MB');
    expect(formatBytes(undefined)).toBe('—');
  });

  it('builds the CSV address from the filters and sort, without paging', () => {
    expect(csvHref('/v1/cves', { query: 'musl', severity: '', fixable: 'true' }, '-cvss')).toBe(
      '/v1/cves?query=musl&fixable=true&sort=-cvss&format=csv',
    );
    expect(csvHref('/v1/images', {}, undefined)).toBe('/v1/images?format=csv');
    expect(csvHref('/v1/cves', { query: 'a&b=c' })).toBe('/v1/cves?query=a%26b%3Dc&format=csv');
  });
});
