// The pages the sidebar lists. Only pages that exist are here: a page of
// the dashboard issue that is not built yet is not listed.
export interface NavEntry {
  path: string;
  label: string;
  /** The sidebar section the entry is listed under, if any. */
  group?: string;
}

export const NAV: readonly NavEntry[] = [
  { path: '/', label: 'Dashboard' },
  { path: '/violations', label: 'Violations' },
  { path: '/policies', label: 'Policies' },
  { path: '/clusters', label: 'Clusters' },
  { path: '/deployments', label: 'Deployments' },
  { path: '/vulnerabilities/cves', label: 'Workload CVEs', group: 'Vulnerability management' },
  { path: '/vulnerabilities/images', label: 'Images', group: 'Vulnerability management' },
  { path: '/vulnerabilities/deployments', label: 'Deployment CVEs', group: 'Vulnerability management' },
  { path: '/configuration/integrations', label: 'Image integrations', group: 'Configuration' },
  { path: '/configuration/notifiers', label: 'Notifiers', group: 'Configuration' },
  { path: '/configuration/tokens', label: 'API tokens', group: 'Configuration' },
  { path: '/configuration/settings', label: 'System settings', group: 'Configuration' },
];

/** The sidebar in order: entries, and groups of entries at their first entry's place. */
export function navTree(entries: readonly NavEntry[] = NAV): (NavEntry | { group: string; entries: NavEntry[] })[] {
  const out: (NavEntry | { group: string; entries: NavEntry[] })[] = [];
  for (const e of entries) {
    if (!e.group) {
      out.push(e);
      continue;
    }
    const g = out.find((x): x is { group: string; entries: NavEntry[] } => 'entries' in x && x.group === e.group);
    if (g) g.entries.push(e);
    else out.push({ group: e.group, entries: [e] });
  }
  return out;
}

/** Whether entry is the current page (or the parent of it). */
export function isActive(entry: NavEntry, pathname: string): boolean {
  if (entry.path === '/') return pathname === '/';
  return pathname === entry.path || pathname.startsWith(`${entry.path}/`);
}
