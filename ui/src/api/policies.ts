// The policy editor's API calls and shapes: the criteria catalogue,
// validation, dry run, create and replace, import, export, delete, and
// excluding a violation's deployment.
import type { ApiClient } from './client';
import type { Exclusion, LifecycleStage, Policy } from './types';

export type ValueKind = 'regex' | 'boolean' | 'number' | 'days' | 'enum' | 'keyValue' | 'environment' | 'severity' | 'dockerfile' | 'text';

export type EventSource = 'DEPLOYMENT_EVENT' | 'AUDIT_LOG_EVENT';

/** A kind of policy: a stage and, for RUNTIME, an event source. */
export interface Usage {
  stage: LifecycleStage;
  eventSource?: EventSource;
}

/** One criterion as GET /v1/policies/criteria describes it. */
export interface Criterion {
  name: string;
  category: string;
  usableIn: Usage[];
  valueKind: ValueKind;
  options?: string[];
  unit?: string;
  negatable: boolean;
  andAllowed: boolean;
  multipleValues: boolean;
  description: string;
  example: string;
}

export interface CriteriaList {
  criteria: Criterion[];
  usages: Usage[];
}

export interface FieldError {
  path: string;
  message: string;
}

export interface ValidateResult {
  valid: boolean;
  errors: FieldError[];
}

export interface DryRunResult {
  alerts: {
    deployment: { id: string; name: string; namespace: string; clusterName?: string; type: string };
    violations: string[];
  }[];
  deploymentsEvaluated: number;
  evaluable: boolean;
}

export interface ImportError {
  type: 'invalid_policy' | 'duplicate_id' | 'duplicate_name' | 'not_imported' | string;
  message: string;
  details?: FieldError[];
}

export interface ImportResult {
  responses: { policy: Policy; succeeded: boolean; errors: ImportError[] }[];
  allSucceeded: boolean;
}

export interface ExcludeResult {
  policy: Policy;
  exclusion: Exclusion;
  added: boolean;
  resolved: string[];
}

export function getCriteria(api: ApiClient, signal?: AbortSignal): Promise<CriteriaList> {
  return api.get<CriteriaList>('/v1/policies/criteria', undefined, signal);
}

export function validatePolicy(api: ApiClient, p: Policy, signal?: AbortSignal): Promise<ValidateResult> {
  return api.post<ValidateResult>('/v1/policies/validate', p, { signal });
}

export function dryRunPolicy(api: ApiClient, p: Policy, signal?: AbortSignal): Promise<DryRunResult> {
  return api.post<DryRunResult>('/v1/policies/dryrun', p, { signal });
}

export function createPolicy(api: ApiClient, p: Policy): Promise<Policy> {
  return api.post<Policy>('/v1/policies', p);
}

export function replacePolicy(api: ApiClient, id: string, p: Policy): Promise<Policy> {
  return api.request<Policy>('PUT', `/v1/policies/${encodeURIComponent(id)}`, { body: p });
}

export function deletePolicy(api: ApiClient, id: string): Promise<void> {
  return api.delete<void>(`/v1/policies/${encodeURIComponent(id)}`);
}

/** Imports policies: body is {"policies": […]}; overwrite replaces name and id clashes. */
export function importPolicies(api: ApiClient, policies: unknown[], overwrite: boolean): Promise<ImportResult> {
  return api.post<ImportResult>('/v1/policies/import', { metadata: { overwrite }, policies });
}

/** Exports the policies with ids (all when empty) as {"policies": […]}. */
export function exportPolicies(api: ApiClient, ids: string[]): Promise<{ policies: Policy[] }> {
  return api.post<{ policies: Policy[] }>('/v1/policies/export', { policyIds: ids });
}

export function excludeAlertDeployment(api: ApiClient, alertId: string): Promise<ExcludeResult> {
  return api.post<ExcludeResult>(`/v1/alerts/${encodeURIComponent(alertId)}/exclude`);
}
