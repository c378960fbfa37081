// Vulnerability management's API: CVEs across scanned images, images and
// their scans, deployments with their images' CVEs (internal/central/vulnapi
// and imageapi). The shapes follow internal/central/openapi.yaml.
import type { ApiClient, Query } from './client';

/** A vulnerability's severity as the scanner reports it (ACS's image names). */
export type VulnSeverity = 'CRITICAL' | 'IMPORTANT' | 'MODERATE' | 'LOW' | 'UNKNOWN';

export interface Cve {
  id: string;
  severity: VulnSeverity;
  cvss: number;
  cvssVersion?: string;
  fixable: boolean;
  images: number;
  deployments: number;
  firstSeen?: string;
  summary?: string;
}

export interface CveList {
  total: number;
  cves: Cve[];
}

export interface CveComponent {
  image: string;
  imageName?: string;
  name: string;
  version: string;
  type?: string;
  layer?: string;
  fixedBy?: string;
  severity: VulnSeverity;
  cvss?: number;
}

export interface CveImage {
  id: string;
  name: string;
  scanTime: string;
  vulns: number;
  critical: number;
  important: number;
  fixable: number;
}

export interface CveDeployment {
  id: string;
  name: string;
  namespace: string;
  cluster: string;
  images: string[];
}

export interface CveDetail extends Cve {
  cvssVector?: string;
  published?: string;
  aliases?: string[];
  link?: string;
  references: string[];
  components: CveComponent[];
  affectedImages: CveImage[];
  affectedDeployments: CveDeployment[];
}

export interface ImageSummary {
  id: string;
  name: string;
  registry: string;
  remote: string;
  tag?: string;
  scanTime: string;
  components: number;
  vulns: number;
  critical: number;
  important: number;
  moderate: number;
  low: number;
  fixable: number;
  createdAt: string;
  deployments: number;
}

export interface ImageList {
  total: number;
  images: ImageSummary[];
}

export interface ScanVuln {
  id: string;
  aliases?: string[];
  summary?: string;
  link?: string;
  severity: VulnSeverity;
  cvss?: number;
  cvssVector?: string;
  fixedBy?: string;
  firstSeenInImage?: string;
}

export interface ScanComponent {
  name: string;
  version: string;
  ecosystem: string;
  sourceName?: string;
  path?: string;
  layer?: string;
  vulns?: ScanVuln[];
}

export interface ScanLayer {
  instruction: string;
  value: string;
  created?: string;
  digest?: string;
  size?: number;
  empty?: boolean;
}

/** A stored scan (scan.Image). */
export interface ScanImage {
  name: string;
  fullName: string;
  registry: string;
  remote: string;
  tag?: string;
  digest: string;
  platform?: string;
  metadata: {
    created?: string;
    user?: string;
    entrypoint?: string[];
    cmd?: string[];
    layers: ScanLayer[];
  };
  os?: { id?: string; versionId?: string; prettyName?: string };
  components: ScanComponent[];
  scanTime: string;
  notes?: string[];
}

export interface ImageDeployment {
  id: string;
  name: string;
  namespace: string;
  cluster: string;
}

export interface ImageDeployments {
  total: number;
  deployments: ImageDeployment[];
}

export interface DeploymentVulns {
  id: string;
  name: string;
  namespace: string;
  cluster: string;
  images: { name: string; digest?: string }[];
  cves: number;
  critical: number;
  important: number;
  moderate: number;
  low: number;
  fixable: number;
}

export interface DeploymentVulnsList {
  total: number;
  deployments: DeploymentVulns[];
}

/** A page of a list: its filters, sort, offset and limit. */
export type ListQuery = Record<string, string | number | undefined>;

export const CVES_PATH = '/v1/cves';
export const IMAGES_PATH = '/v1/images';
export const DEPLOYMENT_VULNS_PATH = '/v1/vulns/deployments';

export function listCves(api: ApiClient, q: ListQuery, signal?: AbortSignal): Promise<CveList> {
  return api.get<CveList>(CVES_PATH, q as Query, signal);
}

export function getCve(api: ApiClient, id: string, signal?: AbortSignal): Promise<CveDetail> {
  return api.get<CveDetail>(`${CVES_PATH}/${encodeURIComponent(id)}`, undefined, signal);
}

export function listImages(api: ApiClient, q: ListQuery, signal?: AbortSignal): Promise<ImageList> {
  return api.get<ImageList>(IMAGES_PATH, q as Query, signal);
}

export function getImageScan(api: ApiClient, digest: string, signal?: AbortSignal): Promise<ScanImage> {
  return api.get<ScanImage>(`${IMAGES_PATH}/${encodeURIComponent(digest)}`, undefined, signal);
}

export function imageDeployments(api: ApiClient, digest: string, signal?: AbortSignal): Promise<ImageDeployments> {
  return api.get<ImageDeployments>(`${IMAGES_PATH}/${encodeURIComponent(digest)}/deployments`, undefined, signal);
}

export function listDeploymentVulns(api: ApiClient, q: ListQuery, signal?: AbortSignal): Promise<DeploymentVulnsList> {
  return api.get<DeploymentVulnsList>(DEPLOYMENT_VULNS_PATH, q as Query, signal);
}

/** An image with its fixable critical and important CVEs. */
export interface FixableImage {
  digest: string;
  name: string;
  critical: number;
  important: number;
}

export interface FixableImageList {
  images: FixableImage[];
}

export const FIXABLE_IMAGES_PATH = '/v1/vulns/images/fixable';
