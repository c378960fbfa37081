import { describe, expect, it } from 'vitest';
import type { DeploymentRisk, WorkloadExposure } from '../../api/workloads';
import {
  exposureLabel,
  formatCPU,
  formatMB,
  formatScore,
  pairs,
  portLabel,
  rbacLabel,
  riskLevel,
  riskReason,
  statusLabel,
  statusReason,
} from './format';

const exposure = (e: Partial<WorkloadExposure>): WorkloadExposure => ({
  Level: 'UNSET',
  ServiceName: '',
  ServicePort: 0,
  NodePort: 0,
  ...e,
});

describe('workload formatting', () => {
  it('names RBAC levels and keeps unknown ones', () => {
    expect(rbacLabel('CLUSTER_ADMIN')).toBe('Cluster admin');
    expect(rbacLabel('ELEVATED_IN_NAMESPACE')).toBe('Elevated in namespace');
    expect(rbacLabel('NONE')).toBe('None');
    expect(rbacLabel('SOMETHING_NEW')).toBe('SOMETHING_NEW');
    expect(rbacLabel(undefined)).toBe('Unknown');
  });

  it('words cluster health', () => {
    expect(statusLabel('UNHEALTHY')).toBe('Unhealthy');
    expect(statusReason('DEGRADED', false)).toMatch(/disconnected/);
    expect(statusReason('DEGRADED', true)).toMatch(/not been heard from/);
  });

  it('says how a port is reached', () => {
    expect(exposureLabel(exposure({ Level: 'NODE', ServiceName: 'web', ServicePort: 80, NodePort: 30080 }))).toBe(
      'Node port 30080 (service web:80)',
    );
    expect(exposureLabel(exposure({ Level: 'HOST', NodePort: 8443 }))).toBe('Host port 8443');
    expect(exposureLabel(exposure({ Level: 'EXTERNAL', ServiceName: 'web', ServicePort: 443 }))).toBe('External (service web:443)');
    expect(exposureLabel(exposure({ Level: 'ROUTE', ServiceName: 'web', ServicePort: 8080 }))).toBe('Route (service web:8080)');
    expect(portLabel({ Name: 'http', ContainerPort: 8080, Protocol: 'TCP', HostPort: 0, Exposures: null, Undeclared: false })).toBe(
      'http 8080/TCP',
    );
  });

  it('writes resources as Kubernetes does', () => {
    expect(formatCPU(0)).toBe('not set');
    expect(formatCPU(0.25)).toBe('250m');
    expect(formatCPU(2)).toBe('2');
    expect(formatMB(128)).toBe('128 MB');
    expect(formatMB(1536)).toBe('1.5 GB');
    expect(formatMB(0)).toBe('not set');
  });

  it('lists labels sorted by key', () => {
    expect(pairs({ tier: 'web', app: 'shop', flag: '' })).toEqual(['app=shop', 'flag', 'tier=web']);
    expect(pairs(null)).toEqual([]);
  });

  it('writes a risk score and why', () => {
    const risk: DeploymentRisk = {
      score: 3.72,
      violationFactor: 2.2,
      vulnFactor: 1.69,
      violations: { critical: 2, high: 1, medium: 1, low: 3, total: 7 },
      cves: { total: 10, critical: 2, important: 4, moderate: 2, low: 1, fixable: 3 },
    };
    expect(formatScore(risk.score)).toBe('3.72');
    expect(formatScore(16)).toBe('16.00');
    expect(riskReason(risk)).toBe(
      'violations ×2.20 (2 critical, 1 high, 1 medium, 3 low) · CVEs ×1.69 (2 critical, 4 important, 2 moderate, 1 low, 1 unknown; 3 fixable)',
    );
    const cvesOnly: DeploymentRisk = {
      ...risk,
      score: 1.69,
      violationFactor: 1,
      violations: { critical: 0, high: 0, medium: 0, low: 0, total: 0 },
      cves: { total: 1, critical: 0, important: 1, moderate: 0, low: 0, fixable: 0 },
    };
    expect(riskReason(cvesOnly)).toBe('CVEs ×1.69 (1 important)');
    const none: DeploymentRisk = { ...cvesOnly, score: 1, vulnFactor: 1, cves: { ...cvesOnly.cves, total: 0, important: 0 } };
    expect(riskReason(none)).toBe('No open violations and no known CVEs');
    expect([1, 2, 2.01, 4.5, 8.01, 16].map(riskLevel)).toEqual(['low', 'low', 'medium', 'high', 'critical', 'critical']);
  });
});
