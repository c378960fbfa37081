// The API calls the dashboard makes, one function per endpoint.
import type { ApiClient, Query } from './client';
import type {
  Alert,
  AlertList,
  AlertState,
  AlertSummary,
  AuthStatus,
  Grouping,
  LoginResponse,
  NotifierList,
  Policy,
  PolicyList,
  RetryResult,
} from './types';

export type Credentials = { username: string; password: string } | { token: string };

/** Who is signed in (401 when nobody). */
export const AUTH_STATUS_PATH = '/v1/auth/status';

export function authStatus(api: ApiClient, signal?: AbortSignal): Promise<AuthStatus> {
  return api.request<AuthStatus>('GET', AUTH_STATUS_PATH, { signal, expectUnauthorized: true });
}

export function login(api: ApiClient, creds: Credentials): Promise<LoginResponse> {
  return api.post<LoginResponse>('/v1/auth/login', creds, { expectUnauthorized: true });
}

export function logout(api: ApiClient): Promise<void> {
  return api.post<void>('/v1/auth/logout', undefined, { expectUnauthorized: true });
}

/** The filters GET /v1/alerts and its summary take. */
export interface AlertFilter {
  query?: string;
  severity?: string;
  state?: string;
  stage?: string;
  cluster?: string;
  namespace?: string;
  deployment?: string;
  category?: string;
  policyId?: string;
  since?: string;
  until?: string;
}

export interface AlertListParams extends AlertFilter {
  sort?: string;
  offset?: number;
  limit?: number;
}

export function listAlerts(api: ApiClient, params: AlertListParams, signal?: AbortSignal): Promise<AlertList> {
  return api.get<AlertList>('/v1/alerts', params as Query, signal);
}

export function getAlert(api: ApiClient, id: string, signal?: AbortSignal): Promise<Alert> {
  return api.get<Alert>(`/v1/alerts/${encodeURIComponent(id)}`, undefined, signal);
}

export function setAlertState(api: ApiClient, id: string, state: AlertState): Promise<Alert> {
  return api.patch<Alert>(`/v1/alerts/${encodeURIComponent(id)}`, { state });
}

export function alertSummary(
  api: ApiClient,
  groupBy: Grouping[],
  filter: AlertFilter & { limit?: number; days?: number },
  signal?: AbortSignal,
): Promise<AlertSummary> {
  return api.get<AlertSummary>('/v1/alerts/summary', { ...filter, groupBy: groupBy.join(',') } as Query, signal);
}

export interface PolicyListParams {
  query?: string;
  severity?: string;
  stage?: string;
  category?: string;
  disabled?: string;
  enforcement?: string;
  sort?: string;
  offset?: number;
  limit?: number;
}

export function listPolicies(api: ApiClient, params: PolicyListParams, signal?: AbortSignal): Promise<PolicyList> {
  return api.get<PolicyList>('/v1/policies', params as Query, signal);
}

export function getPolicy(api: ApiClient, id: string, signal?: AbortSignal): Promise<Policy> {
  return api.get<Policy>(`/v1/policies/${encodeURIComponent(id)}`, undefined, signal);
}

export function setPolicyDisabled(api: ApiClient, id: string, disabled: boolean): Promise<Policy> {
  return api.patch<Policy>(`/v1/policies/${encodeURIComponent(id)}`, { disabled });
}

export function listNotifiers(api: ApiClient, signal?: AbortSignal): Promise<NotifierList> {
  return api.get<NotifierList>('/v1/notifiers', undefined, signal);
}

/** Makes a notifier's dead-lettered messages pending again. */
export function retryDeadDeliveries(api: ApiClient, id: string): Promise<RetryResult> {
  return api.post<RetryResult>(`/v1/notifiers/${encodeURIComponent(id)}/deliveries/retry`);
}
