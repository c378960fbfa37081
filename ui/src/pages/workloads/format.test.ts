import { describe, expect, it } from 'vitest';
import type { WorkloadExposure } from '../../api/workloads';
import { exposureLabel, formatCPU, formatMB, pairs, portLabel, rbacLabel, statusLabel, statusReason } from './format';

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
});
