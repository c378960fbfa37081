import { LabelGroup } from '@patternfly/react-core';
import { vulnSeverityLabel } from '../vulnFormat';
import { FixedLabel, type LabelColor } from './Labels';

function color(s: string | undefined): LabelColor {
  switch (s) {
    case 'CRITICAL':
      return 'red';
    case 'IMPORTANT':
      return 'orangered';
    case 'MODERATE':
      return 'orange';
    case 'LOW':
      return 'yellow';
  }
  return 'grey';
}

/** A vulnerability severity as a colored label with its name. */
export function VulnSeverityLabel({ severity }: { severity: string | undefined }) {
  return <FixedLabel color={color(severity)}>{vulnSeverityLabel(severity)}</FixedLabel>;
}

/** Whether a fix exists, in words. */
export function FixableLabel({ fixable }: { fixable: boolean }) {
  return (
    <FixedLabel color={fixable ? 'green' : 'grey'} outline>
      {fixable ? 'Fixable' : 'No fix'}
    </FixedLabel>
  );
}

/**
 * CVE counts by severity, leaving out the zeros; "None" when all are.
 * total, when given, counts the CVEs of unknown severity as the rest.
 */
export function SeverityCounts({
  critical,
  important,
  moderate,
  low,
  total,
}: {
  critical: number;
  important: number;
  moderate?: number;
  low?: number;
  total?: number;
}) {
  const known = critical + important + (moderate ?? 0) + (low ?? 0);
  const parts = (
    [
      ['CRITICAL', critical],
      ['IMPORTANT', important],
      ['MODERATE', moderate ?? 0],
      ['LOW', low ?? 0],
      ['UNKNOWN', Math.max((total ?? known) - known, 0)],
    ] as const
  ).filter(([, n]) => n > 0);
  if (parts.length === 0) return <>None</>;
  return (
    <LabelGroup numLabels={5}>
      {parts.map(([sev, n]) => (
        <FixedLabel key={sev} color={color(sev)} compact>
          {n} {vulnSeverityLabel(sev)}
        </FixedLabel>
      ))}
    </LabelGroup>
  );
}
