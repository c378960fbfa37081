// The platform configuration endpoints: image integrations, notifiers
// (create, edit, test, delete), API tokens and the system configuration.
import type { ApiClient, Query } from './client';
import type { Notifier, NotifierList } from './types';

/** The list parameters every configuration list takes. */
export interface ListParams {
  query?: string;
  type?: string;
  sort?: string;
  offset?: number;
  limit?: number;
}

/** The outcome of a test button: what the remote answered. */
export interface TestResult {
  ok: boolean;
  message: string;
}

// ---- image integrations ------------------------------------------------------

export interface ImageIntegration {
  id: string;
  name: string;
  type: string;
  endpoint: string;
  username?: string;
  password?: string;
  insecure?: boolean;
  skipTLSVerify?: boolean;
  ecr?: Record<string, string>;
  google?: Record<string, string>;
  azure?: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  lastTest?: TestResult & { at: string };
}

export interface ImageIntegrationList {
  integrations: ImageIntegration[];
  total: number;
}

export function listIntegrations(api: ApiClient, params: ListParams, signal?: AbortSignal): Promise<ImageIntegrationList> {
  return api.get<ImageIntegrationList>('/v1/imageintegrations', params as Query, signal);
}

export function getIntegration(api: ApiClient, id: string, signal?: AbortSignal): Promise<ImageIntegration> {
  return api.get<ImageIntegration>(`/v1/imageintegrations/${encodeURIComponent(id)}`, undefined, signal);
}

export function saveIntegration(api: ApiClient, body: Record<string, unknown>, id?: string): Promise<ImageIntegration> {
  return id
    ? api.request<ImageIntegration>('PUT', `/v1/imageintegrations/${encodeURIComponent(id)}`, { body })
    : api.post<ImageIntegration>('/v1/imageintegrations', body);
}

export function testIntegration(api: ApiClient, body: Record<string, unknown>): Promise<TestResult> {
  return api.post<TestResult>('/v1/imageintegrations/test', body);
}

export function deleteIntegration(api: ApiClient, id: string): Promise<void> {
  return api.delete<void>(`/v1/imageintegrations/${encodeURIComponent(id)}`);
}

// ---- notifiers --------------------------------------------------------------

export function listNotifierPage(api: ApiClient, params: ListParams, signal?: AbortSignal): Promise<NotifierList & { total: number }> {
  return api.get<NotifierList & { total: number }>('/v1/notifiers', params as Query, signal);
}

export function getNotifier(api: ApiClient, id: string, signal?: AbortSignal): Promise<Notifier & Record<string, unknown>> {
  return api.get<Notifier & Record<string, unknown>>(`/v1/notifiers/${encodeURIComponent(id)}`, undefined, signal);
}

export function saveNotifier(api: ApiClient, body: Record<string, unknown>, id?: string): Promise<Notifier> {
  return id ? api.request<Notifier>('PUT', `/v1/notifiers/${encodeURIComponent(id)}`, { body }) : api.post<Notifier>('/v1/notifiers', body);
}

export function testNotifier(api: ApiClient, body: Record<string, unknown>): Promise<TestResult> {
  return api.post<TestResult>('/v1/notifiers/test', body);
}

export function deleteNotifier(api: ApiClient, id: string): Promise<void> {
  return api.delete<void>(`/v1/notifiers/${encodeURIComponent(id)}`);
}

// ---- API tokens -------------------------------------------------------------

export const ROLES = ['Admin', 'Analyst', 'Continuous Integration'] as const;

export interface ApiToken {
  id: string;
  name: string;
  role: string;
  issuedAt: string;
  expiration?: string;
  revoked: boolean;
  revokedAt?: string;
  lastUsedAt?: string;
}

export interface TokenList {
  tokens: ApiToken[];
  total: number;
}

export interface TokenListParams {
  query?: string;
  role?: string;
  revoked?: string;
  sort?: string;
  offset?: number;
  limit?: number;
}

export function listTokens(api: ApiClient, params: TokenListParams, signal?: AbortSignal): Promise<TokenList> {
  return api.get<TokenList>('/v1/apitokens', params as Query, signal);
}

export function generateToken(
  api: ApiClient,
  req: { name: string; role: string; expiration?: string },
): Promise<{ token: string; metadata: ApiToken }> {
  return api.post<{ token: string; metadata: ApiToken }>('/v1/apitokens/generate', req);
}

export function revokeToken(api: ApiClient, id: string): Promise<ApiToken> {
  return api.post<ApiToken>(`/v1/apitokens/${encodeURIComponent(id)}/revoke`);
}

// ---- system configuration ---------------------------------------------------

export interface LoginNotice {
  enabled: boolean;
  text: string;
}

export interface Banner {
  enabled: boolean;
  text: string;
  color: string;
  backgroundColor: string;
}

export interface SystemConfig {
  publicConfig: { loginNotice: LoginNotice; header: Banner };
  privateConfig?: { alertRetention: { resolvedDays: number; deletedDeploymentDays: number }; sessionIdleMinutes: number };
}

export function getSystemConfig(api: ApiClient, signal?: AbortSignal): Promise<SystemConfig> {
  return api.get<SystemConfig>('/v1/config', undefined, signal);
}

export function saveSystemConfig(api: ApiClient, cfg: SystemConfig): Promise<SystemConfig> {
  return api.request<SystemConfig>('PUT', '/v1/config', { body: cfg });
}

/** The sign-in page's notice; public, so it is asked without treating a 401 as a lost session. */
export function getLoginNotice(api: ApiClient, signal?: AbortSignal): Promise<LoginNotice> {
  return api.request<LoginNotice>('GET', '/v1/config/public/loginnotice', { signal, expectUnauthorized: true });
}
