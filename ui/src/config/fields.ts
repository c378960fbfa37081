// One typed description of the fields each notifier and image integration
// type takes, as Central's API has them (internal/notify/notifier and
// internal/scanner/registry). The forms are drawn from these descriptions,
// checked with the same rules the API applies, and turned into the API's
// JSON shape here: one form component, not one hand-written form per type.

/** What the API shows for a secret that is set; sent back, it keeps the secret. */
export const MASK = '******';

export type FieldKind = 'text' | 'url' | 'secret' | 'textarea' | 'secretTextarea' | 'number' | 'bool' | 'select' | 'pairs';

/** The current values of a form, by field path. */
export type Values = Record<string, FieldValue>;
export type FieldValue = string | boolean | Pair[];

/** One row of a list of pairs: a header, an extra field, a priority mapping. */
export interface Pair {
  key: string;
  value: string;
}

export interface FieldSpec {
  /** The JSON path in the API object: "generic.endpoint", "syslog.tcpConfig.port". */
  path: string;
  label: string;
  kind: FieldKind;
  help?: string;
  placeholder?: string;
  /** Required always, or when the other values say so. */
  required?: boolean | ((v: Values) => boolean);
  /** Shown (and sent) only when the other values say so. */
  when?: (v: Values) => boolean;
  options?: readonly { value: string; label: string }[];
  min?: number;
  max?: number;
  /** For pairs: the JSON names of the two parts of a row (default key, value). */
  pairNames?: readonly [string, string];
  pairLabels?: readonly [string, string];
  /** For pairs whose values are secrets (the webhook's headers). */
  secretValues?: boolean;
  /** Not sent: a choice that only decides which other fields apply. */
  virtual?: boolean;
  /** A further check of a value that is set; returns the problem. */
  check?: (value: string, v: Values) => string | undefined;
  defaultValue?: FieldValue;
}

export interface TypeSpec {
  type: string;
  label: string;
  description: string;
  fields: readonly FieldSpec[];
}

// ---- checks shared with the API ------------------------------------------------

/** The API's CheckURL: an absolute http(s) URL with a host. */
export function checkHttpURL(value: string): string | undefined {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return 'not a URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    return `want an http:// or https:// URL, got scheme "${u.protocol.replace(/:$/, '')}"`;
  if (!u.hostname) return 'URL has no host';
  return undefined;
}

function checkHostPort(value: string): string | undefined {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(value);
  if (!m) return `want host:port, e.g. smtp.example.com:587`;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return `port ${m[2]} is not a number from 1 to 65535`;
  return undefined;
}

function checkHostname(value: string): string | undefined {
  return /^[A-Za-z0-9.:[\]_-]+$/.test(value) ? undefined : 'want a host name or an IP address';
}

function checkEmail(value: string): string | undefined {
  return /^[^\s@<>]+@[^\s@<>]+$/.test(value) || /<[^\s@<>]+@[^\s@<>]+>\s*$/.test(value) ? undefined : 'not an email address';
}

function checkJSONObject(value: string): string | undefined {
  try {
    const v: unknown = JSON.parse(value);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'want a JSON object';
  } catch (err) {
    return `not valid JSON: ${err instanceof Error ? err.message : String(err)}`;
  }
  return undefined;
}

function checkPEM(value: string): string | undefined {
  return value.includes('-----BEGIN CERTIFICATE-----') ? undefined : 'no PEM certificate found';
}

/** The API's CheckToken: fit for an HTTP header, without spaces or control characters. */
function checkToken(value: string): string | undefined {
  for (const ch of value) {
    const c = ch.codePointAt(0) ?? 0;
    if (c <= 0x20 || c === 0x7f) return 'contains spaces or control characters';
  }
  return undefined;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

// ---- notifiers -------------------------------------------------------------------

const uiEndpoint: FieldSpec = {
  path: 'uiEndpoint',
  label: 'Dashboard address',
  kind: 'url',
  help: "Central's address as people reach it; messages link to the violation there.",
  placeholder: 'https://stockade.example.com',
  check: checkHttpURL,
};

const annotationKey = (what: string): FieldSpec => ({
  path: 'labelKey',
  label: 'Annotation key',
  kind: 'text',
  help: `A namespace or deployment annotation with this key overrides the ${what}.`,
  placeholder: 'stockade.io/notify',
});

const auditLogging = (block: string): FieldSpec => ({
  path: `${block}.auditLoggingEnabled`,
  label: 'Forward the audit log (every change made through the API)',
  kind: 'bool',
});

const SEVERITY_OPTIONS = ['LOW_SEVERITY', 'MEDIUM_SEVERITY', 'HIGH_SEVERITY', 'CRITICAL_SEVERITY'];

export const NOTIFIER_TYPES: readonly TypeSpec[] = [
  {
    type: 'slack',
    label: 'Slack',
    description: 'Posts new alerts to a Slack incoming webhook.',
    fields: [
      {
        path: 'labelDefault',
        label: 'Webhook URL',
        kind: 'secret',
        required: true,
        placeholder: 'https://hooks.slack.com/services/…',
        check: checkHttpURL,
      },
      annotationKey('webhook URL'),
      uiEndpoint,
    ],
  },
  {
    type: 'teams',
    label: 'Microsoft Teams',
    description: 'Posts new alerts as message cards to a Teams incoming webhook.',
    fields: [
      { path: 'labelDefault', label: 'Webhook URL', kind: 'secret', required: true, check: checkHttpURL },
      annotationKey('webhook URL'),
      uiEndpoint,
    ],
  },
  {
    type: 'generic',
    label: 'Generic webhook',
    description: 'POSTs every alert event (and, if asked, audit events) as JSON to any HTTP(S) endpoint.',
    fields: [
      {
        path: 'generic.endpoint',
        label: 'Endpoint',
        kind: 'url',
        required: true,
        placeholder: 'https://siem.example.com/stockade',
        check: checkHttpURL,
      },
      {
        path: 'generic.username',
        label: 'User name (basic auth)',
        kind: 'text',
        required: (v) => str(v['generic.password']) !== '',
        check: (s) => (s.includes(':') ? "basic auth user names cannot hold ':'" : undefined),
      },
      { path: 'generic.password', label: 'Password (basic auth)', kind: 'secret' },
      {
        path: 'generic.headers',
        label: 'Headers',
        kind: 'pairs',
        secretValues: true,
        pairLabels: ['Header name', 'Header value'],
        help: 'Header values are kept as secrets.',
        check: checkHeaders,
      },
      {
        path: 'generic.extraFields',
        label: 'Extra fields',
        kind: 'pairs',
        pairLabels: ['Field', 'Value'],
        help: 'Added to every message body.',
        check: checkExtraFields,
      },
      { path: 'generic.caCert', label: 'CA certificate (PEM)', kind: 'textarea', check: checkPEM },
      { path: 'generic.skipTLSVerify', label: 'Skip TLS verification', kind: 'bool' },
      auditLogging('generic'),
      uiEndpoint,
    ],
  },
  {
    type: 'email',
    label: 'Email',
    description: 'Sends new alerts over SMTP (STARTTLS, or implicit TLS on port 465).',
    fields: [
      {
        path: 'email.server',
        label: 'SMTP server',
        kind: 'text',
        required: true,
        placeholder: 'smtp.example.com:587',
        check: checkHostPort,
      },
      { path: 'email.sender', label: 'Sender address', kind: 'text', required: true, check: checkEmail },
      { path: 'email.from', label: 'From name', kind: 'text' },
      {
        path: 'labelDefault',
        label: 'Default recipient',
        kind: 'text',
        required: true,
        check: checkEmail,
      },
      annotationKey('recipient'),
      { path: 'email.allowUnauthenticatedSmtp', label: 'Send without signing in to the server', kind: 'bool' },
      {
        path: 'email.username',
        label: 'User name',
        kind: 'text',
        required: (v) => v['email.allowUnauthenticatedSmtp'] !== true,
        when: (v) => v['email.allowUnauthenticatedSmtp'] !== true,
      },
      {
        path: 'email.password',
        label: 'Password',
        kind: 'secret',
        required: (v) => v['email.allowUnauthenticatedSmtp'] !== true,
        when: (v) => v['email.allowUnauthenticatedSmtp'] !== true,
      },
      {
        path: 'email.startTLSAuthMethod',
        label: 'STARTTLS authentication',
        kind: 'select',
        options: [
          { value: '', label: 'Default (PLAIN)' },
          { value: 'PLAIN', label: 'PLAIN' },
          { value: 'LOGIN', label: 'LOGIN' },
          { value: 'DISABLED', label: 'Disabled' },
        ],
      },
      { path: 'email.disableTLS', label: 'Disable TLS', kind: 'bool' },
      { path: 'email.caCert', label: 'CA certificate (PEM)', kind: 'textarea', check: checkPEM },
      { path: 'email.skipTLSVerify', label: 'Skip TLS verification', kind: 'bool' },
      uiEndpoint,
    ],
  },
  {
    type: 'splunk',
    label: 'Splunk',
    description: 'Sends every alert event (and, if asked, audit events) to an HTTP Event Collector.',
    fields: [
      {
        path: 'splunk.httpEndpoint',
        label: 'HTTP Event Collector URL',
        kind: 'url',
        required: true,
        placeholder: 'https://splunk.example.com:8088/services/collector/event',
        check: checkHttpURL,
      },
      {
        path: 'splunk.httpToken',
        label: 'HEC token',
        kind: 'secret',
        required: true,
        check: checkToken,
      },
      {
        path: 'splunk.truncate',
        label: 'Truncate events at (bytes)',
        kind: 'number',
        min: 0,
        max: 1_000_000,
        help: '0 or empty for the default (10000).',
        check: (s) => (Number(s) !== 0 && Number(s) < 2000 ? 'too small for an alert, want at least 2000 (or 0)' : undefined),
      },
      { path: 'splunk.sourceTypes.alert', label: 'Source type of alerts', kind: 'text', placeholder: 'stockade-alert' },
      { path: 'splunk.sourceTypes.audit', label: 'Source type of audit events', kind: 'text', placeholder: 'stockade-audit' },
      { path: 'splunk.insecure', label: 'Skip TLS verification', kind: 'bool' },
      auditLogging('splunk'),
      uiEndpoint,
    ],
  },
  {
    type: 'sumologic',
    label: 'Sumo Logic',
    description: 'Posts every alert event to a Sumo Logic HTTP source.',
    fields: [
      {
        path: 'sumologic.httpSourceAddress',
        label: 'HTTP source address',
        kind: 'secret',
        required: true,
        check: checkHttpURL,
      },
      { path: 'sumologic.skipTLSVerify', label: 'Skip TLS verification', kind: 'bool' },
      uiEndpoint,
    ],
  },
  {
    type: 'syslog',
    label: 'Syslog',
    description: 'Sends RFC 5424 messages (legacy or CEF) over TCP, optionally TLS, or UDP.',
    fields: [
      {
        path: 'syslog.transport',
        label: 'Transport',
        kind: 'select',
        virtual: true,
        required: true,
        defaultValue: 'tcp',
        options: [
          { value: 'tcp', label: 'TCP' },
          { value: 'udp', label: 'UDP' },
        ],
      },
      ...(['tcp', 'udp'] as const).flatMap((t): FieldSpec[] => [
        {
          path: `syslog.${t}Config.hostname`,
          label: 'Host',
          kind: 'text',
          required: true,
          when: (v) => v['syslog.transport'] === t,
          check: checkHostname,
        },
        {
          path: `syslog.${t}Config.port`,
          label: 'Port',
          kind: 'number',
          required: true,
          min: 1,
          max: 65535,
          defaultValue: '514',
          when: (v) => v['syslog.transport'] === t,
        },
      ]),
      { path: 'syslog.tcpConfig.useTls', label: 'Use TLS', kind: 'bool', when: (v) => v['syslog.transport'] === 'tcp' },
      {
        path: 'syslog.tcpConfig.skipTlsVerify',
        label: 'Skip TLS verification',
        kind: 'bool',
        when: (v) => v['syslog.transport'] === 'tcp' && v['syslog.tcpConfig.useTls'] === true,
      },
      {
        path: 'syslog.tcpConfig.caCert',
        label: 'CA certificate (PEM)',
        kind: 'textarea',
        when: (v) => v['syslog.transport'] === 'tcp' && v['syslog.tcpConfig.useTls'] === true,
        check: checkPEM,
      },
      {
        path: 'syslog.localFacility',
        label: 'Facility',
        kind: 'select',
        options: [
          { value: '', label: 'Default (LOCAL0)' },
          ...Array.from({ length: 8 }, (_, i) => ({ value: `LOCAL${i}`, label: `LOCAL${i}` })),
        ],
      },
      {
        path: 'syslog.messageFormat',
        label: 'Message format',
        kind: 'select',
        options: [
          { value: '', label: 'Default (legacy)' },
          { value: 'LEGACY', label: 'Legacy' },
          { value: 'CEF', label: 'CEF' },
        ],
      },
      {
        path: 'syslog.maxMessageSize',
        label: 'Largest message (bytes)',
        kind: 'number',
        min: 0,
        max: 1_048_576,
        help: '0 or empty for the default.',
      },
      {
        path: 'syslog.extraFields',
        label: 'Extra fields',
        kind: 'pairs',
        pairLabels: ['Field', 'Value'],
        check: (_s, v) => checkSyslogFields(v['syslog.extraFields'], v['syslog.messageFormat'] === 'CEF'),
      },
      auditLogging('syslog'),
      uiEndpoint,
    ],
  },
  {
    type: 'pagerduty',
    label: 'PagerDuty',
    description: 'Triggers an incident per alert with the Events API v2, and resolves it when the alert is resolved.',
    fields: [
      {
        path: 'pagerduty.apiKey',
        label: 'Integration key',
        kind: 'secret',
        required: true,
        check: checkToken,
      },
      {
        path: 'pagerduty.endpoint',
        label: 'Events API URL',
        kind: 'url',
        placeholder: 'https://events.pagerduty.com/v2/enqueue',
        help: 'Only to go through a proxy.',
        check: checkHttpURL,
      },
      uiEndpoint,
    ],
  },
  {
    type: 'jira',
    label: 'Jira',
    description: 'Creates one issue per alert, its priority from the severity.',
    fields: [
      {
        path: 'jira.url',
        label: 'Jira URL',
        kind: 'url',
        required: true,
        placeholder: 'https://example.atlassian.net',
        check: checkHttpURL,
      },
      { path: 'jira.username', label: 'User name', kind: 'text', required: true },
      { path: 'jira.password', label: 'Password or API token', kind: 'secret', required: true },
      { path: 'jira.issueType', label: 'Issue type', kind: 'text', required: true, placeholder: 'Bug' },
      {
        path: 'labelDefault',
        label: 'Project key',
        kind: 'text',
        required: true,
        check: (s) => (/^[A-Z][A-Z0-9_]+$/.test(s) ? undefined : `"${s}" is not a Jira project key`),
      },
      annotationKey('project key'),
      {
        path: 'jira.priorityMappings',
        label: 'Priorities',
        kind: 'pairs',
        pairNames: ['severity', 'priorityName'],
        pairLabels: ['Severity', 'Jira priority'],
        check: (_s, v) => checkPriorities(v['jira.priorityMappings']),
      },
      { path: 'jira.defaultFieldsJson', label: 'Default fields (JSON)', kind: 'textarea', check: checkJSONObject },
      { path: 'jira.caCert', label: 'CA certificate (PEM)', kind: 'textarea', check: checkPEM },
      { path: 'jira.skipTLSVerify', label: 'Skip TLS verification', kind: 'bool' },
      uiEndpoint,
    ],
  },
];

function pairs(v: FieldValue | undefined): Pair[] {
  return Array.isArray(v) ? v : [];
}

function checkHeaders(_s: string, v: Values): string | undefined {
  const rows = pairs(v['generic.headers']);
  for (const [i, h] of rows.entries()) {
    if (h.key.trim() === '') return `row ${i + 1}: the header name is required`;
    if (!HEADER_NAME.test(h.key)) return `row ${i + 1}: "${h.key}" is not a valid HTTP header name`;
    if (h.key.toLowerCase() === 'authorization' && str(v['generic.username']) !== '')
      return 'Authorization conflicts with the basic auth user name';
  }
  return undefined;
}

function checkExtraFields(_s: string, v: Values): string | undefined {
  const seen = new Set<string>();
  for (const [i, f] of pairs(v['generic.extraFields']).entries()) {
    if (f.key.trim() === '') return `row ${i + 1}: the field name is required`;
    if (f.key === 'alert' || f.key === 'audit' || f.key === 'summary') return `"${f.key}" is where the message goes; pick another key`;
    if (seen.has(f.key)) return `"${f.key}" is given twice`;
    seen.add(f.key);
  }
  return undefined;
}

function checkSyslogFields(v: FieldValue | undefined, cef: boolean): string | undefined {
  for (const [i, f] of pairs(v).entries()) {
    if (f.key.trim() === '') return `row ${i + 1}: the field name is required`;
    if (cef && !/^[A-Za-z0-9]+$/.test(f.key)) return `a CEF extension key is letters and digits only, got "${f.key}"`;
    if (!/^[A-Za-z0-9_.-]+$/.test(f.key)) return `want letters, digits, '_', '-' or '.', got "${f.key}"`;
  }
  return undefined;
}

function checkPriorities(v: FieldValue | undefined): string | undefined {
  const seen = new Set<string>();
  for (const [i, m] of pairs(v).entries()) {
    if (!SEVERITY_OPTIONS.includes(m.key)) return `row ${i + 1}: want one of ${SEVERITY_OPTIONS.join(', ')}`;
    if (seen.has(m.key)) return `${m.key} is mapped twice`;
    if (m.value.trim() === '') return `row ${i + 1}: the Jira priority is required`;
    seen.add(m.key);
  }
  return undefined;
}

// ---- image integrations -----------------------------------------------------------

const endpoint = (placeholder: string, required: boolean, help?: string): FieldSpec => ({
  path: 'endpoint',
  label: 'Registry endpoint',
  kind: 'text',
  required,
  placeholder,
  help: help ?? 'Host, optional port and repository prefix: registry.example.com:5000/team.',
  check: (s, v) =>
    s.startsWith('http://') && v.insecure !== true
      ? 'uses http:// but the integration is not marked insecure'
      : /\s/.test(s)
        ? 'has spaces'
        : undefined,
});

const userPassword = (user: string, password: string, userRequired = false): FieldSpec[] => [
  { path: 'username', label: user, kind: 'text', required: userRequired },
  { path: 'password', label: password, kind: 'secret', required: (v) => str(v.username) !== '' },
];

const tlsFields: FieldSpec[] = [
  { path: 'insecure', label: 'Allow plain HTTP', kind: 'bool' },
  { path: 'skipTLSVerify', label: 'Skip TLS verification', kind: 'bool' },
];

const googleKey: FieldSpec = {
  path: 'google.serviceAccountJson',
  label: 'Service account key (JSON)',
  kind: 'secretTextarea',
  required: true,
  check: (s) => {
    if (s === MASK) return undefined;
    const bad = checkJSONObject(s);
    if (bad) return 'not a JSON key file';
    return (JSON.parse(s) as { client_email?: unknown }).client_email ? undefined : 'the key has no client_email';
  },
};

export const INTEGRATION_TYPES: readonly TypeSpec[] = [
  {
    type: 'docker',
    label: 'Generic Docker registry',
    description: 'Any registry speaking the Docker Registry HTTP API v2.',
    fields: [endpoint('registry.example.com:5000', true), ...userPassword('User name', 'Password'), ...tlsFields],
  },
  {
    type: 'dockerhub',
    label: 'Docker Hub',
    description: 'docker.io, with a user name and a password or access token.',
    fields: [endpoint('docker.io', false, 'Empty for docker.io.'), ...userPassword('User name', 'Password or access token'), ...tlsFields],
  },
  {
    type: 'quay',
    label: 'Quay',
    description: 'quay.io or your own Quay: a robot account, or an OAuth access token without a user name.',
    fields: [
      endpoint('quay.io', false, 'Empty for quay.io.'),
      { path: 'username', label: 'Robot account', kind: 'text' },
      { path: 'password', label: 'Robot token or OAuth access token', kind: 'secret', required: (v) => str(v.username) !== '' },
      ...tlsFields,
    ],
  },
  {
    type: 'ghcr',
    label: 'GitHub Container Registry',
    description: 'ghcr.io with a user name and a personal access token.',
    fields: [endpoint('ghcr.io', false, 'Empty for ghcr.io.'), ...userPassword('GitHub user name', 'Personal access token'), ...tlsFields],
  },
  {
    type: 'redhat',
    label: 'Red Hat registry',
    description: 'registry.redhat.io with a registry service account.',
    fields: [
      endpoint('registry.redhat.io', false, 'Empty for registry.redhat.io.'),
      ...userPassword('Service account user', 'Service account token'),
      ...tlsFields,
    ],
  },
  {
    type: 'ibm',
    label: 'IBM Cloud Container Registry',
    description: 'icr.io with an IAM API key.',
    fields: [
      endpoint('icr.io', false, 'Empty for icr.io.'),
      { path: 'password', label: 'IAM API key', kind: 'secret', required: true },
      ...tlsFields,
    ],
  },
  {
    type: 'artifactory',
    label: 'JFrog Artifactory',
    description: 'An Artifactory Docker repository with a user and a password or API key.',
    fields: [endpoint('example.jfrog.io', true), ...userPassword('User name', 'Password or API key'), ...tlsFields],
  },
  {
    type: 'nexus',
    label: 'Sonatype Nexus',
    description: 'A Nexus Docker repository with a user and a password.',
    fields: [endpoint('nexus.example.com:8443', true), ...userPassword('User name', 'Password'), ...tlsFields],
  },
  {
    type: 'ecr',
    label: 'Amazon ECR',
    description: 'An ECR registry: an access key, optionally assuming a role, gets the registry token.',
    fields: [
      endpoint('123456789012.dkr.ecr.us-east-1.amazonaws.com', false, 'Empty when the account id and region name the registry.'),
      {
        path: 'ecr.region',
        label: 'Region',
        kind: 'text',
        placeholder: 'us-east-1',
        required: (v) => !/\.ecr\.[a-z0-9-]+\.amazonaws\.com/.test(str(v.endpoint)),
      },
      {
        path: 'ecr.registryId',
        label: 'Account id',
        kind: 'text',
        required: (v) => str(v.endpoint) === '',
        check: (s) => (/^\d{12}$/.test(s) ? undefined : 'want the 12-digit account id'),
      },
      { path: 'ecr.accessKeyId', label: 'Access key id', kind: 'text', required: true },
      { path: 'ecr.secretAccessKey', label: 'Secret access key', kind: 'secret', required: true },
      { path: 'ecr.sessionToken', label: 'Session token', kind: 'secret' },
      {
        path: 'ecr.roleArn',
        label: 'Role to assume (ARN)',
        kind: 'text',
        check: (s) => (s.startsWith('arn:') ? undefined : 'is not an ARN'),
      },
      { path: 'ecr.apiEndpoint', label: 'ECR API endpoint', kind: 'url', help: 'Only for VPC or FIPS endpoints.', check: checkHttpURL },
      { path: 'ecr.stsEndpoint', label: 'STS endpoint', kind: 'url', help: 'Only for VPC or FIPS endpoints.', check: checkHttpURL },
      ...tlsFields,
    ],
  },
  {
    type: 'gcr',
    label: 'Google Container Registry',
    description: 'gcr.io with a service account key.',
    fields: [endpoint('gcr.io', false, 'Empty for gcr.io; or us.gcr.io, eu.gcr.io…'), googleKey, ...tlsFields],
  },
  {
    type: 'artifactregistry',
    label: 'Google Artifact Registry',
    description: 'A *-docker.pkg.dev registry with a service account key.',
    fields: [endpoint('us-docker.pkg.dev/project/repo', true), googleKey, ...tlsFields],
  },
  {
    type: 'acr',
    label: 'Azure Container Registry',
    description: 'An ACR registry with a service principal, or its admin user.',
    fields: [
      endpoint('example.azurecr.io', true),
      {
        path: 'auth',
        label: 'Sign in with',
        kind: 'select',
        virtual: true,
        required: true,
        defaultValue: 'principal',
        options: [
          { value: 'principal', label: 'Service principal' },
          { value: 'admin', label: 'Admin user' },
        ],
      },
      { path: 'azure.tenantId', label: 'Tenant id', kind: 'text', when: (v) => v.auth === 'principal' },
      { path: 'azure.clientId', label: 'Client id', kind: 'text', required: true, when: (v) => v.auth === 'principal' },
      { path: 'azure.clientSecret', label: 'Client secret', kind: 'secret', required: true, when: (v) => v.auth === 'principal' },
      ...userPassword('Admin user', 'Admin password', true).map((f) => ({ ...f, when: (v: Values) => v.auth === 'admin' })),
      ...tlsFields,
    ],
  },
];

// ---- values, checks and payloads ------------------------------------------------

export function str(v: FieldValue | undefined): string {
  return typeof v === 'string' ? v : '';
}

/** The spec of type in specs; throws for an unknown type (a programming error). */
export function specOf(specs: readonly TypeSpec[], type: string): TypeSpec {
  const s = specs.find((t) => t.type === type);
  if (!s) throw new Error(`unknown type ${type}`);
  return s;
}

/** The fields of spec shown with values v. */
export function visibleFields(spec: TypeSpec, v: Values): FieldSpec[] {
  return spec.fields.filter((f) => !f.when || f.when(v));
}

function isRequired(f: FieldSpec, v: Values): boolean {
  return typeof f.required === 'function' ? f.required(v) : f.required === true;
}

/** The starting values of a new object of spec's type. */
export function emptyValues(spec: TypeSpec): Values {
  const v: Values = {};
  for (const f of spec.fields) {
    v[f.path] = f.defaultValue ?? (f.kind === 'bool' ? false : f.kind === 'pairs' ? [] : '');
  }
  return v;
}

function get(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function set(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  const last = parts.pop() ?? path;
  let cur = obj;
  for (const part of parts) {
    const next = cur[part];
    if (next === null || typeof next !== 'object') cur[part] = {};
    cur = cur[part] as Record<string, unknown>;
  }
  cur[last] = value;
}

/**
 * The form values of an object the API returned (secrets read MASK, and
 * stay MASK until replaced). Virtual choices are worked out from what is set.
 */
export function valuesFrom(spec: TypeSpec, obj: unknown): Values {
  const v = emptyValues(spec);
  for (const f of spec.fields) {
    if (f.virtual) continue;
    const x = get(obj, f.path);
    if (x === undefined || x === null) continue;
    if (f.kind === 'bool') v[f.path] = x === true;
    else if (f.kind === 'pairs') {
      const [k, val] = f.pairNames ?? ['key', 'value'];
      v[f.path] = Array.isArray(x)
        ? x.map((row: Record<string, unknown>) => ({ key: String(row[k] ?? ''), value: String(row[val] ?? '') }))
        : [];
    } else if (f.kind === 'number') v[f.path] = x === 0 ? '' : String(x as number);
    else v[f.path] = String(x as string);
  }
  if (spec.type === 'syslog') v['syslog.transport'] = get(obj, 'syslog.udpConfig') ? 'udp' : 'tcp';
  if (spec.type === 'acr') v.auth = get(obj, 'azure.clientId') || !get(obj, 'username') ? 'principal' : 'admin';
  return v;
}

/** The problems of values v by field path; empty when the form can be sent. */
export function validate(spec: TypeSpec, v: Values, name: string): Record<string, string> {
  const errors: Record<string, string> = {};
  if (name.trim() === '') errors.name = 'required';
  for (const f of visibleFields(spec, v)) {
    const value = v[f.path];
    if (f.kind === 'bool') continue;
    if (f.kind === 'pairs') {
      const bad = f.check?.('', v);
      if (bad) errors[f.path] = bad;
      continue;
    }
    const s = str(value).trim();
    if (s === '') {
      if (isRequired(f, v)) errors[f.path] = 'required';
      continue;
    }
    if (f.kind === 'number') {
      const n = Number(s);
      if (!Number.isInteger(n)) {
        errors[f.path] = 'want a whole number';
        continue;
      }
      if ((f.min !== undefined && n < f.min) || (f.max !== undefined && n > f.max)) {
        errors[f.path] = `want ${f.min ?? '…'} to ${f.max ?? '…'}`;
        continue;
      }
    }
    const secretKept = (f.kind === 'secret' || f.kind === 'secretTextarea') && s === MASK;
    const bad = secretKept ? undefined : f.check?.(s, v);
    if (bad) errors[f.path] = bad;
  }
  return errors;
}

/**
 * The API object for values v: the name, the type and the fields of this
 * type that are shown and set. A secret left at MASK is sent as MASK, which
 * the API reads as "keep the stored one".
 */
export function payload(spec: TypeSpec, v: Values, base: { id?: string; name: string }): Record<string, unknown> {
  const out: Record<string, unknown> = { name: base.name.trim(), type: spec.type };
  if (base.id) out.id = base.id;
  for (const f of visibleFields(spec, v)) {
    if (f.virtual) continue;
    const value = v[f.path];
    if (f.kind === 'bool') {
      if (value === true) set(out, f.path, true);
      continue;
    }
    if (f.kind === 'pairs') {
      const rows = pairs(value).filter((p) => p.key.trim() !== '' || p.value.trim() !== '');
      const [k, val] = f.pairNames ?? ['key', 'value'];
      if (rows.length > 0)
        set(
          out,
          f.path,
          rows.map((p) => ({ [k]: p.key.trim(), [val]: p.value })),
        );
      continue;
    }
    const s = f.kind === 'textarea' || f.kind === 'secretTextarea' ? str(value) : str(value).trim();
    if (s.trim() === '') continue;
    set(out, f.path, f.kind === 'number' ? Number(s) : s);
  }
  // Each type's block is sent even when all its fields are empty, so the
  // API names the missing field rather than the missing block.
  const block = spec.fields.map((f) => f.path.split('.')).find((p) => p.length > 1 && p[0] !== 'syslog')?.[0];
  if (block && !(block in out) && visibleFields(spec, v).some((f) => f.path.startsWith(`${block}.`) && isRequired(f, v))) out[block] = {};
  return out;
}

/** Which field an API error detail's path is about (header paths name the header). */
export function fieldForPath(spec: TypeSpec, path: string): string | undefined {
  if (path === 'name') return 'name';
  const exact = spec.fields.find((f) => f.path === path);
  if (exact) return exact.path;
  const prefix = spec.fields.find((f) => path.startsWith(`${f.path}[`) || path.startsWith(`${f.path}.`));
  return prefix?.path;
}
