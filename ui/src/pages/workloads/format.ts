// How the clusters and deployments pages word the workload model's values.
import type { ClusterStatus, DeploymentRisk, WorkloadExposure, WorkloadPort } from '../../api/workloads';

export const CLUSTER_STATUSES: ClusterStatus[] = ['HEALTHY', 'DEGRADED', 'UNHEALTHY'];

/** "ELEVATED_IN_NAMESPACE" → "Elevated in namespace". */
export function rbacLabel(level: string | undefined): string {
  switch (level) {
    case 'CLUSTER_ADMIN':
      return 'Cluster admin';
    case 'ELEVATED_CLUSTER_WIDE':
      return 'Elevated cluster-wide';
    case 'ELEVATED_IN_NAMESPACE':
      return 'Elevated in namespace';
    case 'DEFAULT':
      return 'Default (read only)';
    case 'NONE':
      return 'None';
  }
  return level || 'Unknown';
}

/** "HEALTHY" → "Healthy". */
export function statusLabel(s: string): string {
  return s ? s.charAt(0) + s.slice(1).toLowerCase() : 'Unknown';
}

/** Why a cluster has its status, in words. */
export function statusReason(status: ClusterStatus, connected: boolean): string {
  if (status === 'HEALTHY') return 'Its Sensor is connected and was heard from within the last 90 seconds.';
  if (status === 'DEGRADED') {
    return connected
      ? 'Its Sensor is connected but has not been heard from for more than 90 seconds.'
      : 'Its Sensor disconnected within the last 5 minutes.';
  }
  return 'Central has not heard from its Sensor for more than 5 minutes.';
}

/** An exposure level and what reaches it: "Node port 30080 (service web:80)". */
export function exposureLabel(e: WorkloadExposure): string {
  const service = e.ServiceName ? ` (service ${e.ServiceName}${e.ServicePort ? `:${e.ServicePort}` : ''})` : '';
  switch (e.Level) {
    case 'INTERNAL':
      return `Cluster-internal${service}`;
    case 'HOST':
      return `Host port ${e.NodePort}`;
    case 'NODE':
      return `Node port ${e.NodePort}${service}`;
    case 'EXTERNAL':
      return `External${e.NodePort ? `, node port ${e.NodePort}` : ''}${service}`;
    case 'ROUTE':
      return `Route${service}`;
  }
  return `Not exposed${service}`;
}

/** A port as "8080/TCP" with its name, "http 8080/TCP". */
export function portLabel(p: WorkloadPort): string {
  return `${p.Name ? `${p.Name} ` : ''}${p.ContainerPort}/${p.Protocol || 'TCP'}`;
}

/** CPU in cores as Kubernetes writes it: 0.25 → "250m", 2 → "2"; 0 is unset. */
export function formatCPU(cores: number): string {
  if (!cores) return 'not set';
  if (cores < 1) return `${Math.round(cores * 1000)}m`;
  return String(Math.round(cores * 1000) / 1000);
}

/** Memory in MB (10^6 bytes) → "128 MB", "1.5 GB"; 0 is unset. */
export function formatMB(mb: number): string {
  if (!mb) return 'not set';
  if (mb >= 1000) return `${Math.round(mb / 100) / 10} GB`;
  return `${Math.round(mb * 10) / 10} MB`;
}

/** The key=value pairs of a label map, sorted by key. */
export function pairs(m: Record<string, string> | null | undefined): string[] {
  return Object.entries(m ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => (v === '' ? k : `${k}=${v}`));
}

/** A risk score or factor as Central rounds it: 3.7 → "3.70", 16 → "16.00". */
export function formatScore(score: number): string {
  return score.toFixed(2);
}

/** How much a risk score calls for attention: 1–2 low, to 4 medium, to 8 high, above critical. */
export function riskLevel(score: number): 'low' | 'medium' | 'high' | 'critical' {
  if (score > 8) return 'critical';
  if (score > 4) return 'high';
  if (score > 2) return 'medium';
  return 'low';
}

/** Non-zero counts as "2 critical, 1 low"; '' when all are zero. */
function counts(parts: [number, string][]): string {
  return parts
    .filter(([n]) => n > 0)
    .map(([n, what]) => `${n} ${what}`)
    .join(', ');
}

/**
 * Why a deployment has its risk score, in words: each factor above 1 with
 * the counts behind it, "violations ×2.20 (2 critical, 1 high) ·
 * CVEs ×1.69 (2 critical, 4 important; 3 fixable)".
 */
export function riskReason(r: DeploymentRisk): string {
  const parts: string[] = [];
  if (r.violationFactor > 1 || r.violations.total > 0) {
    const v = r.violations;
    parts.push(
      `violations ×${formatScore(r.violationFactor)} (${counts([
        [v.critical, 'critical'],
        [v.high, 'high'],
        [v.medium, 'medium'],
        [v.low, 'low'],
      ])})`,
    );
  }
  if (r.vulnFactor > 1 || r.cves.total > 0) {
    const c = r.cves;
    const unknown = c.total - c.critical - c.important - c.moderate - c.low;
    const bySeverity = counts([
      [c.critical, 'critical'],
      [c.important, 'important'],
      [c.moderate, 'moderate'],
      [c.low, 'low'],
      [unknown, 'unknown'],
    ]);
    parts.push(`CVEs ×${formatScore(r.vulnFactor)} (${bySeverity}${c.fixable > 0 ? `; ${c.fixable} fixable` : ''})`);
  }
  return parts.length === 0 ? 'No open violations and no known CVEs' : parts.join(' · ');
}
