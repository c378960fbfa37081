// The pages the sidebar lists. Only pages that exist are here: a page of
// the dashboard issue that is not built yet is not listed.
export interface NavEntry {
  path: string;
  label: string;
}

export const NAV: readonly NavEntry[] = [
  { path: '/', label: 'Dashboard' },
  { path: '/violations', label: 'Violations' },
  { path: '/policies', label: 'Policies' },
  { path: '/vulnerabilities/cves', label: 'Workload CVEs' },
  { path: '/vulnerabilities/images', label: 'Images' },
  { path: '/vulnerabilities/deployments', label: 'Deployment CVEs' },
  { path: '/notifiers', label: 'Notifiers' },
];

/** Whether entry is the current page (or the parent of it). */
export function isActive(entry: NavEntry, pathname: string): boolean {
  if (entry.path === '/') return pathname === '/';
  return pathname === entry.path || pathname.startsWith(`${entry.path}/`);
}
