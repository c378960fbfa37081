import { Content } from '@patternfly/react-core';
import { FixedLabel } from '../../components/Labels';
import type { DeploymentRisk } from '../../api/workloads';
import { formatScore, riskLevel, riskReason } from './format';

const COLORS = { low: 'grey', medium: 'yellow', high: 'orange', critical: 'red' } as const;

/**
 * A risk score as a label colored by its level, with the reason in words
 * next to it (reason) or for screen readers and as the label's tooltip;
 * color is never the only cue.
 */
export function RiskScore({ risk, reason = false }: { risk: DeploymentRisk; reason?: boolean }) {
  const why = riskReason(risk);
  return (
    <>
      <FixedLabel color={COLORS[riskLevel(risk.score)]} compact title={why}>
        <span data-testid="risk-score">{formatScore(risk.score)}</span>
        {!reason && (
          <span className="pf-v6-screen-reader" data-testid="risk-reason">
            {`: ${why}`}
          </span>
        )}
      </FixedLabel>
      {reason && (
        <Content component="small" className="pf-v6-u-display-block" data-testid="risk-reason">
          {why}
        </Content>
      )}
    </>
  );
}
