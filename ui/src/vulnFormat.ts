// How the vulnerability pages word the scanner's values, and the CSV
// export's address.
import { withQuery } from './api/client';
import type { VulnSeverity } from './api/vulns';

export const VULN_SEVERITIES: VulnSeverity[] = ['CRITICAL', 'IMPORTANT', 'MODERATE', 'LOW', 'UNKNOWN'];

/** "IMPORTANT" → "Important"; anything else is "Unknown". */
export function vulnSeverityLabel(s: string | undefined): string {
  switch (s) {
    case 'CRITICAL':
      return 'Critical';
    case 'IMPORTANT':
      return 'Important';
    case 'MODERATE':
      return 'Moderate';
    case 'LOW':
      return 'Low';
  }
  return 'Unknown';
}

/** A CVSS score with its version, "9.8 (v3.1)"; "—" when unknown. */
export function formatCvss(score: number | undefined, version?: string): string {
  if (!score) return '—';
  const s = score.toFixed(1);
  return version ? `${s} (v${version})` : s;
}

/** "sha256:0123456789abcdef…" → "sha256:0123456789ab", for tables. */
export function shortDigest(digest: string | undefined): string {
  if (!digest) return '';
  const colon = digest.indexOf(':');
  const short = digest.slice(colon + 1, colon + 13);
  return colon >= 0 ? `${digest.slice(0, colon)}:${short}` : short;
}

/** A byte size, "12.3 MB" (powers of 1000). */
export function formatBytes(n: number | undefined): string {
  if (!n) return '—';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/**
 * The address that downloads a list as CSV: the list's path with its
 * filters and sort (empty ones left out), without paging, and format=csv.
 */
export function csvHref(path: string, filters: Record<string, string | undefined>, sort?: string): string {
  const query: Record<string, string> = {};
  for (const [k, v] of Object.entries(filters)) {
    if (v) query[k] = v;
  }
  if (sort) query.sort = sort;
  query.format = 'csv';
  return withQuery(path, query);
}

/** The dashboard page of a scanned image. */
export function imageHref(digest: string): string {
  return `/vulnerabilities/images/${encodeURIComponent(digest)}`;
}

/** The dashboard page of a CVE. */
export function cveHref(id: string): string {
  return `/vulnerabilities/cves/${encodeURIComponent(id)}`;
}

/** The dashboard page of a deployment. */
export function deploymentHref(id: string): string {
  return `/deployments/${encodeURIComponent(id)}`;
}
