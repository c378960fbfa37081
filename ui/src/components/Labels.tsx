import { Label, LabelGroup } from '@patternfly/react-core';
import { css } from '@patternfly/react-styles';
import styles from '@patternfly/react-styles/css/components/Label/label';
import type { ReactNode } from 'react';
import type { AlertState } from '../api/types';
import { severityLabel, stageLabel, stateLabel } from '../format';

export type LabelColor = 'red' | 'orangered' | 'orange' | 'yellow' | 'grey' | 'blue' | 'green' | 'purple' | 'teal';

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

/**
 * PatternFly's label, drawn with PatternFly's markup and classes, for the
 * short fixed words of this file (severities, states). PatternFly's Label
 * component measures its text after it mounts, to offer a tooltip when the
 * text is cut; each such measure forces the browser to lay the page out
 * again, which lists and dashboard tiles with dozens of labels paid on every
 * render. These words are never cut.
 */
export function FixedLabel({
  color,
  outline = false,
  compact = false,
  title,
  children,
}: {
  color: LabelColor;
  outline?: boolean;
  compact?: boolean;
  /** Shown on hover, as a browser tooltip. */
  title?: string;
  children: ReactNode;
}) {
  const variant = outline ? styles.modifiers.outline : styles.modifiers.filled;
  return (
    <span
      className={css(styles.label, color !== 'grey' && styles.modifiers[color], variant, compact && styles.modifiers.compact)}
      title={title}
    >
      <span className={styles.labelContent}>
        <span className={styles.labelText}>{children}</span>
      </span>
    </span>
  );
}

/** A severity as a colored label with its name (color is never the only cue). */
export function SeverityLabel({ severity }: { severity: string | undefined }) {
  return <FixedLabel color={severityColor(severity)}>{severityLabel(severity)}</FixedLabel>;
}

/** The state of an alert. */
export function StateLabel({ state }: { state: AlertState | string }) {
  const color: LabelColor = state === 'ACTIVE' ? 'blue' : state === 'RESOLVED' ? 'green' : 'purple';
  return (
    <FixedLabel color={color} outline>
      {stateLabel(state)}
    </FixedLabel>
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
