// How the clusters and deployments pages word the workload model's values.
import type { ClusterStatus, WorkloadExposure, WorkloadPort } from '../../api/workloads';

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
