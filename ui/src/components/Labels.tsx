import { Label, LabelGroup } from '@patternfly/react-core';
import type { AlertState } from '../api/types';
import { severityLabel, stageLabel, stateLabel } from '../format';

type LabelColor = 'red' | 'orangered' | 'orange' | 'yellow' | 'grey' | 'blue' | 'green' | 'purple' | 'teal';

function severityColor(s: string | undefined): LabelColor {
  switch (s) {
    case 'CRITICAL_SEVERITY':
      return 'red';
    case 'HIGH_SEVERITY':
      return 'orangered';
    case 'MEDIUM_SEVERITY':
      return 'orange';
    case 'LOW_SEVERITY':
      return 'yellow';
  }
  return 'grey';
}

/** A severity as a colored label with its name (color is never the only cue). */
export function SeverityLabel({ severity }: { severity: string | undefined }) {
  return <Label color={severityColor(severity)}>{severityLabel(severity)}</Label>;
}

/** The state of an alert. */
export function StateLabel({ state }: { state: AlertState | string }) {
  const color: LabelColor = state === 'ACTIVE' ? 'blue' : state === 'RESOLVED' ? 'green' : 'purple';
  return (
    <Label color={color} variant="outline">
      {stateLabel(state)}
    </Label>
  );
}

/** Lifecycle stages as a group of labels. */
export function StageLabels({ stages }: { stages: string[] | undefined }) {
  if (!stages || stages.length === 0) return <>—</>;
  return (
    <LabelGroup>
      {stages.map((s) => (
        <Label key={s} variant="outline">
          {stageLabel(s)}
        </Label>
      ))}
    </LabelGroup>
  );
}
