import { LabelGroup } from '@patternfly/react-core';
import { FixedLabel } from '../../components/Labels';
import type { ClusterStatus, ViolationCounts as Counts } from '../../api/workloads';
import { statusLabel } from './format';

const LEVELS: { key: keyof Omit<Counts, 'total'>; label: string; color: 'red' | 'orangered' | 'orange' | 'yellow' }[] = [
  { key: 'critical', label: 'Critical', color: 'red' },
  { key: 'high', label: 'High', color: 'orangered' },
  { key: 'medium', label: 'Medium', color: 'orange' },
  { key: 'low', label: 'Low', color: 'yellow' },
];

/**
 * Open violations by severity as labels, "2 Critical", "1 Low"; the
 * severity is written, so color is never the only cue. None shows a dash.
 */
export function ViolationCounts({ counts }: { counts: Counts }) {
  if (counts.total === 0) return <span aria-label="No open violations">—</span>;
  return (
    <LabelGroup numLabels={4} aria-label={`${counts.total} open violations`}>
      {LEVELS.filter((l) => counts[l.key] > 0).map((l) => (
        <FixedLabel key={l.key} color={l.color} compact>
          {counts[l.key]} {l.label}
        </FixedLabel>
      ))}
    </LabelGroup>
  );
}

/** A cluster's health as a colored label with its name. */
export function ClusterStatusLabel({ status }: { status: ClusterStatus }) {
  const color = status === 'HEALTHY' ? 'green' : status === 'DEGRADED' ? 'orange' : 'red';
  return <FixedLabel color={color}>{statusLabel(status)}</FixedLabel>;
}
