// The dashboard's API calls, shared by the page and by the start-up
// prefetch (main.tsx), which must ask for exactly what the page will.
import type { ApiClient, Query } from '../../api/client';
import type { AlertSummary, Grouping } from '../../api/types';
import { FIXABLE_IMAGES_PATH, type FixableImageList } from '../../api/vulns';
import type { DeploymentList } from '../../api/workloads';

/** Days the timeline covers. */
export const DAYS = 30;

/** A cluster and a namespace, or '' for all. */
export interface Place {
  cluster: string;
  namespace: string;
}

const SUMMARY = '/v1/alerts/summary';

function tilesQuery(place: Place): Query {
  const groupBy: Grouping[] = ['severity', 'category', 'day', 'namespace'];
  return { state: 'ACTIVE', cluster: place.cluster, namespace: place.namespace, limit: 10, days: DAYS, groupBy: groupBy.join(',') };
}

const scopesQuery: Query = { state: 'ACTIVE', limit: 1000, groupBy: 'cluster,namespace' };

/** The counts behind every tile, in place. */
export function tilesSummary(api: ApiClient, place: Place, signal?: AbortSignal): Promise<AlertSummary> {
  return api.get<AlertSummary>(SUMMARY, tilesQuery(place), signal);
}

/** The counts behind every tile, if a prefetch already brought them. */
export function takeTilesSummary(api: ApiClient, place: Place): AlertSummary | undefined {
  return api.take<AlertSummary>(SUMMARY, tilesQuery(place));
}

/** The clusters and namespaces the scope filter offers. */
export function scopesSummary(api: ApiClient, signal?: AbortSignal): Promise<AlertSummary> {
  return api.get<AlertSummary>(SUMMARY, scopesQuery, signal);
}

function fixableQuery(place: Place): Query {
  return { cluster: place.cluster, namespace: place.namespace, limit: 10 };
}

/** The images in place with the most fixable critical and important CVEs. */
export function fixableImages(api: ApiClient, place: Place, signal?: AbortSignal): Promise<FixableImageList> {
  return api.get<FixableImageList>(FIXABLE_IMAGES_PATH, fixableQuery(place), signal);
}

/** The fixable images, if a prefetch already brought them. */
export function takeFixableImages(api: ApiClient, place: Place): FixableImageList | undefined {
  return api.take<FixableImageList>(FIXABLE_IMAGES_PATH, fixableQuery(place));
}

const DEPLOYMENTS = '/v1/deployments';

function riskiestQuery(place: Place): Query {
  return { cluster: place.cluster, namespace: place.namespace, sort: '-risk', limit: 10 };
}

/** The 10 deployments in place with the highest risk scores. */
export function riskiestDeployments(api: ApiClient, place: Place, signal?: AbortSignal): Promise<DeploymentList> {
  return api.get<DeploymentList>(DEPLOYMENTS, riskiestQuery(place), signal);
}

/** The riskiest deployments, if a prefetch already brought them. */
export function takeRiskiestDeployments(api: ApiClient, place: Place): DeploymentList | undefined {
  return api.take<DeploymentList>(DEPLOYMENTS, riskiestQuery(place));
}

/** Starts the dashboard's calls for the page at search (the URL's query). */
export function prefetchDashboard(api: ApiClient, search: string): void {
  const params = new URLSearchParams(search);
  const place = { cluster: params.get('cluster') ?? '', namespace: params.get('namespace') ?? '' };
  api.prefetch(SUMMARY, tilesQuery(place));
  api.prefetch(FIXABLE_IMAGES_PATH, fixableQuery(place));
  api.prefetch(DEPLOYMENTS, riskiestQuery(place));
}
