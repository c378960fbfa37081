// The shapes of Central's API responses the dashboard reads, as documented
// in Central's OpenAPI document (/openapi.json).

export type Severity = 'LOW_SEVERITY' | 'MEDIUM_SEVERITY' | 'HIGH_SEVERITY' | 'CRITICAL_SEVERITY';
export type LifecycleStage = 'BUILD' | 'DEPLOY' | 'RUNTIME';
export type AlertState = 'ACTIVE' | 'RESOLVED' | 'ATTEMPTED';

export interface AuthStatus {
  kind: 'user' | 'token';
  userName: string;
  role: string;
  tokenId?: string;
}

export interface LoginResponse {
  kind: 'user' | 'token';
  userName: string;
  role: string;
  expiresAt: string;
  csrfToken: string;
}

export interface AlertPolicy {
  id: string;
  name: string;
  severity: Severity;
  description?: string;
  rationale?: string;
  remediation?: string;
  categories?: string[];
  lifecycleStages?: LifecycleStage[];
  enforcementActions?: string[];
}

export interface AlertContainer {
  name: string;
  image: string;
}

export interface AlertDeployment {
  id: string;
  name: string;
  namespace: string;
  clusterName: string;
  type: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  containers: AlertContainer[];
}

export interface Violation {
  message: string;
  container?: string;
}

export interface Alert {
  id: string;
  state: AlertState;
  time: string;
  lastUpdated: string;
  lifecycleStage: LifecycleStage;
  failingCheck: boolean;
  enforced: boolean;
  breakGlass?: boolean;
  policy: AlertPolicy;
  deployment: AlertDeployment;
  violations: Violation[];
}

export interface AlertList {
  alerts: Alert[];
  total: number;
}

/** One group of an alert summary; only the grouping's fields are set. */
export interface GroupCount {
  severity?: Severity;
  state?: AlertState;
  stage?: LifecycleStage;
  policyId?: string;
  policyName?: string;
  category?: string;
  cluster?: string;
  namespace?: string;
  deploymentId?: string;
  deploymentName?: string;
  maxSeverity?: Severity;
  day?: string;
  count: number;
}

export type Grouping = 'severity' | 'state' | 'stage' | 'policy' | 'category' | 'cluster' | 'namespace' | 'deployment' | 'day';

export interface AlertSummary {
  total: number;
  groups: Partial<Record<Grouping, GroupCount[]>>;
}

export interface PolicySummary {
  id: string;
  name: string;
  description?: string;
  severity: Severity;
  lifecycleStages: LifecycleStage[];
  categories: string[];
  disabled: boolean;
  enforcementActions: string[];
  enforcement: boolean;
  isDefault: boolean;
  needsData: string[];
}

export interface PolicyList {
  policies: PolicySummary[];
  total: number;
}

export interface PolicyValue {
  value: string;
}

export interface PolicyGroup {
  fieldName: string;
  booleanOperator?: 'AND' | 'OR';
  negate?: boolean;
  values: PolicyValue[];
}

export interface PolicySection {
  sectionName?: string;
  policyGroups: PolicyGroup[];
}

export interface Scope {
  cluster?: string;
  namespace?: string;
  label?: { key: string; value?: string };
}

export interface Exclusion {
  name?: string;
  deployment?: { name?: string; scope?: Scope };
  image?: { name?: string };
  expiration?: string;
}

export interface Policy {
  id: string;
  name: string;
  description?: string;
  rationale?: string;
  remediation?: string;
  disabled?: boolean;
  categories?: string[];
  lifecycleStages?: LifecycleStage[];
  eventSource?: string;
  exclusions?: Exclusion[];
  scope?: Scope[];
  severity: Severity;
  enforcementActions?: string[];
  notifiers?: string[];
  policySections: PolicySection[];
  isDefault?: boolean;
  mitreAttackVectors?: { tactic: string; techniques?: string[] }[];
  criteriaLocked?: boolean;
  mitreVectorsLocked?: boolean;
  lastUpdated?: string;
}

/** How a notifier's deliveries stand (GET /v1/notifiers). */
export interface NotifierStatus {
  pending: number;
  delivered: number;
  folded: number;
  dead: number;
  lastDelivered?: string;
  lastError?: string;
  lastErrorAt?: string;
  unusable?: string;
}

/** A notifier as the API shows it, secrets masked. */
export interface Notifier {
  id: string;
  name: string;
  type: string;
  uiEndpoint?: string;
  createdAt: string;
  updatedAt: string;
  status: NotifierStatus;
}

export interface NotifierList {
  notifiers: Notifier[];
}

export interface RetryResult {
  retried: number;
}
