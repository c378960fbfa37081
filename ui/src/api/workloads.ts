// The clusters and deployments API (/v1/clusters, /v1/deployments): the
// calls and the shapes of their answers, as Central's OpenAPI document
// describes them.
import type { ApiClient, Query } from './client';

/** Open (ACTIVE) violations by severity. */
export interface ViolationCounts {
  critical: number;
  high: number;
  medium: number;
  low: number;
  total: number;
}

export type ClusterStatus = 'HEALTHY' | 'DEGRADED' | 'UNHEALTHY';

export interface Cluster {
  id: string;
  name: string;
  createdAt: string;
  initBundleId: string;
  sensorVersion: string;
  kubernetesVersion: string;
  capabilities: string[];
  connected: boolean;
  lastContact: string;
  status: ClusterStatus;
  deployments: number;
  namespaces: number;
  violations: ViolationCounts;
}

export interface ClusterList {
  clusters: Cluster[];
  total: number;
}

export interface NamespaceStats {
  name: string;
  deployments: number;
  violations: ViolationCounts;
}

export interface ClusterDetail {
  cluster: Cluster;
  namespaces: NamespaceStats[];
}

export interface ClusterListParams {
  query?: string;
  status?: string;
  sort?: string;
  offset?: number;
  limit?: number;
}

export function listClusters(api: ApiClient, params: ClusterListParams, signal?: AbortSignal): Promise<ClusterList> {
  return api.get<ClusterList>('/v1/clusters', params as Query, signal);
}

export function getCluster(api: ApiClient, id: string, signal?: AbortSignal): Promise<ClusterDetail> {
  return api.get<ClusterDetail>(`/v1/clusters/${encodeURIComponent(id)}`, undefined, signal);
}

/** The distinct CVEs of the images a deployment runs, each at its highest severity. */
export interface DeploymentCVECounts {
  total: number;
  critical: number;
  important: number;
  moderate: number;
  low: number;
  fixable: number;
}

/**
 * A deployment's risk: score = violationFactor × vulnFactor (each 1 to 4,
 * 1 when it has nothing of that kind), with the counts they come from.
 */
export interface DeploymentRisk {
  score: number;
  violationFactor: number;
  vulnFactor: number;
  violations: ViolationCounts;
  cves: DeploymentCVECounts;
}

export interface DeploymentSummary {
  id: string;
  name: string;
  namespace: string;
  cluster: string;
  kind: string;
  source: 'sensor' | 'api' | string;
  createdAt: string;
  updatedAt: string;
  images: string[];
  violations: ViolationCounts;
  risk: DeploymentRisk;
}

export interface DeploymentList {
  deployments: DeploymentSummary[];
  total: number;
}

export interface DeploymentListParams {
  query?: string;
  cluster?: string;
  namespace?: string;
  kind?: string;
  violated?: string;
  severity?: string;
  sort?: string;
  offset?: number;
  limit?: number;
}

export function listDeployments(api: ApiClient, params: DeploymentListParams, signal?: AbortSignal): Promise<DeploymentList> {
  return api.get<DeploymentList>('/v1/deployments', params as Query, signal);
}

/** One image of a deployment with what Central's scan of it found. */
export interface DeploymentImageScan {
  name: string;
  containers: string[];
  scanned: boolean;
  /** The scanned image's manifest digest. */
  id?: string;
  scanTime?: string;
  vulns: number;
  critical: number;
  important: number;
  moderate: number;
  low: number;
  fixable: number;
}

// The normalized workload document (Go's workload.Deployment, whose JSON
// keeps the Go field names). Only what the dashboard reads is typed.
export interface WorkloadImage {
  FullName: string;
  Raw: string;
  Digest: string;
}

export interface WorkloadExposure {
  Level: string;
  ServiceName: string;
  ServicePort: number;
  NodePort: number;
}

export interface WorkloadPort {
  Name: string;
  ContainerPort: number;
  Protocol: string;
  HostPort: number;
  Exposures: WorkloadExposure[] | null;
  Undeclared: boolean;
}

export interface WorkloadMount {
  Name: string;
  Destination: string;
  ReadOnly: boolean;
  MountPropagation: string;
  Type: string;
  Source: string;
}

export interface WorkloadContainer {
  Name: string;
  Init: boolean;
  Image: WorkloadImage;
  Privileged: boolean;
  AllowPrivilegeEscalation: boolean;
  ReadOnlyRootFilesystem: boolean;
  RunAsUser: number | null;
  RunAsNonRoot: boolean | null;
  AddCapabilities: string[] | null;
  DropCapabilities: string[] | null;
  SeccompProfileType: string;
  AppArmorProfile: string;
  CPURequest: number;
  CPULimit: number;
  MemoryRequest: number;
  MemoryLimit: number;
  Ports: WorkloadPort[] | null;
  Mounts: WorkloadMount[] | null;
  LivenessProbe: boolean;
  ReadinessProbe: boolean;
}

export interface WorkloadDocument {
  Labels: Record<string, string> | null;
  Annotations: Record<string, string> | null;
  Replicas: number;
  ServiceAccount: string;
  AutomountServiceAccountToken: boolean;
  HostNetwork: boolean;
  HostPID: boolean;
  HostIPC: boolean;
  Containers: WorkloadContainer[] | null;
  HasIngressNetworkPolicy: boolean;
  HasEgressNetworkPolicy: boolean;
}

export interface DeploymentDetail extends DeploymentSummary {
  rbacLevel: string;
  imageScans: DeploymentImageScan[];
  deployment: WorkloadDocument;
}

export function getDeployment(api: ApiClient, id: string, signal?: AbortSignal): Promise<DeploymentDetail> {
  return api.get<DeploymentDetail>(`/v1/deployments/${encodeURIComponent(id)}`, undefined, signal);
}
