import { describe, expect, it } from 'vitest';
import { NAV, isActive, navTree } from './nav';

describe('navTree', () => {
  it('lists entries in order and groups the configuration pages under one heading', () => {
    const tree = navTree(NAV);
    const groups = tree.filter((n) => 'entries' in n) as { group: string; entries: { path: string }[] }[];
    expect(groups.map((g) => g.group)).toEqual(['Vulnerability management', 'Configuration']);
    const config = groups[1]!;
    expect(config.group).toBe('Configuration');
    expect(config.entries.map((e) => e.path)).toEqual([
      '/configuration/integrations',
      '/configuration/notifiers',
      '/configuration/tokens',
      '/configuration/settings',
    ]);
  });

  it('places a group where its first entry is', () => {
    const tree = navTree([
      { path: '/a', label: 'A' },
      { path: '/g1', label: 'G1', group: 'G' },
      { path: '/b', label: 'B' },
      { path: '/g2', label: 'G2', group: 'G' },
    ]);
    expect(tree.map((n) => ('entries' in n ? `${n.group}:${n.entries.length}` : n.path))).toEqual(['/a', 'G:2', '/b']);
  });

  it('marks a configuration page active on its own path only', () => {
    const tokens = NAV.find((e) => e.path === '/configuration/tokens')!;
    expect(isActive(tokens, '/configuration/tokens')).toBe(true);
    expect(isActive(tokens, '/configuration/settings')).toBe(false);
  });
});
