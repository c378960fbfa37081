import { describe, expect, it } from 'vitest';
import {
  INTEGRATION_TYPES,
  MASK,
  NOTIFIER_TYPES,
  checkHttpURL,
  emptyValues,
  fieldForPath,
  payload,
  specOf,
  validate,
  valuesFrom,
  visibleFields,
} from './fields';

describe('the type descriptions', () => {
  it('cover every notifier type of the API, in its order', () => {
    expect(NOTIFIER_TYPES.map((t) => t.type)).toEqual([
      'slack',
      'teams',
      'generic',
      'email',
      'splunk',
      'sumologic',
      'syslog',
      'pagerduty',
      'jira',
    ]);
  });
  it('cover every registry type of the API, in its order', () => {
    expect(INTEGRATION_TYPES.map((t) => t.type)).toEqual([
      'docker',
      'dockerhub',
      'quay',
      'ghcr',
      'redhat',
      'ibm',
      'artifactory',
      'nexus',
      'ecr',
      'gcr',
      'artifactregistry',
      'acr',
    ]);
  });
  it('give every field a label and a unique path, and every select its options', () => {
    for (const spec of [...NOTIFIER_TYPES, ...INTEGRATION_TYPES]) {
      const paths = spec.fields.map((f) => f.path);
      expect(new Set(paths).size, `${spec.type} has a path twice`).toBe(paths.length);
      for (const f of spec.fields) {
        expect(f.label, `${spec.type} ${f.path}`).not.toBe('');
        if (f.kind === 'select') expect(f.options?.length, `${spec.type} ${f.path}`).toBeGreaterThan(0);
      }
      expect(spec.description.endsWith('.'), spec.type).toBe(true);
    }
  });
});

describe('validate', () => {
  const generic = specOf(NOTIFIER_TYPES, 'generic');

  it('requires the name and the required fields', () => {
    expect(validate(generic, emptyValues(generic), ' ')).toEqual({ name: 'required', 'generic.endpoint': 'required' });
  });

  it('checks URLs as the API does', () => {
    const v = { ...emptyValues(generic), 'generic.endpoint': 'ftp://hooks.example.com' };
    expect(validate(generic, v, 'hook')['generic.endpoint']).toBe('want an http:// or https:// URL, got scheme "ftp"');
    expect(checkHttpURL('not a url')).toBe('not a URL');
    expect(checkHttpURL('https://hooks.example.com/x')).toBeUndefined();
  });

  it('requires a user name with a password, and checks header names', () => {
    const v = {
      ...emptyValues(generic),
      'generic.endpoint': 'https://h.example.com',
      'generic.password': 'pw',
      'generic.headers': [{ key: 'X Bad', value: 'v' }],
    };
    const errs = validate(generic, v, 'hook');
    expect(errs['generic.username']).toBe('required');
    expect(errs['generic.headers']).toBe('row 1: "X Bad" is not a valid HTTP header name');
  });

  it('keeps a masked secret without checking it', () => {
    const slack = specOf(NOTIFIER_TYPES, 'slack');
    expect(validate(slack, { ...emptyValues(slack), labelDefault: MASK }, 'Slack')).toEqual({});
    expect(validate(slack, { ...emptyValues(slack), labelDefault: 'hooks.slack.com' }, 'Slack').labelDefault).toBe('not a URL');
  });

  it('checks only the fields shown: syslog over UDP needs no TCP host', () => {
    const syslog = specOf(NOTIFIER_TYPES, 'syslog');
    const v = {
      ...emptyValues(syslog),
      'syslog.transport': 'udp',
      'syslog.udpConfig.hostname': 'logs.example.com',
      'syslog.udpConfig.port': '70000',
    };
    expect(visibleFields(syslog, v).map((f) => f.path)).not.toContain('syslog.tcpConfig.hostname');
    expect(validate(syslog, v, 'logs')).toEqual({ 'syslog.udpConfig.port': 'want 1 to 65535' });
  });

  it('drops email credentials when unauthenticated SMTP is allowed', () => {
    const email = specOf(NOTIFIER_TYPES, 'email');
    const base = {
      ...emptyValues(email),
      'email.server': 'smtp.example.com:587',
      'email.sender': 'stockade@example.com',
      labelDefault: 'secops@example.com',
    };
    expect(Object.keys(validate(email, base, 'mail'))).toEqual(['email.username', 'email.password']);
    expect(validate(email, { ...base, 'email.allowUnauthenticatedSmtp': true }, 'mail')).toEqual({});
    expect(validate(email, { ...base, 'email.server': 'smtp.example.com' }, 'mail')['email.server']).toMatch(/host:port/);
  });

  it('checks Jira priorities and default fields', () => {
    const jira = specOf(NOTIFIER_TYPES, 'jira');
    const v = {
      ...emptyValues(jira),
      'jira.url': 'https://example.atlassian.net',
      'jira.username': 'bot',
      'jira.password': 'tok',
      'jira.issueType': 'Bug',
      labelDefault: 'SEC',
      'jira.priorityMappings': [
        { key: 'HIGH_SEVERITY', value: 'High' },
        { key: 'HIGH_SEVERITY', value: 'Highest' },
      ],
      'jira.defaultFieldsJson': '[1]',
    };
    const errs = validate(jira, v, 'jira');
    expect(errs['jira.priorityMappings']).toBe('HIGH_SEVERITY is mapped twice');
    expect(errs['jira.defaultFieldsJson']).toBe('want a JSON object');
    expect(validate(jira, { ...v, labelDefault: 'sec' }, 'jira').labelDefault).toBe('"sec" is not a Jira project key');
  });

  it('checks registry credentials: a user needs a password, ECR its keys, Google a key file', () => {
    const docker = specOf(INTEGRATION_TYPES, 'docker');
    expect(validate(docker, { ...emptyValues(docker), endpoint: 'r.example.com', username: 'u' }, 'r')).toEqual({ password: 'required' });
    expect(validate(docker, { ...emptyValues(docker), endpoint: 'http://r.example.com' }, 'r').endpoint).toMatch(/not marked insecure/);
    const ecr = specOf(INTEGRATION_TYPES, 'ecr');
    expect(Object.keys(validate(ecr, emptyValues(ecr), 'e')).sort()).toEqual([
      'ecr.accessKeyId',
      'ecr.region',
      'ecr.registryId',
      'ecr.secretAccessKey',
    ]);
    expect(
      validate(
        ecr,
        {
          ...emptyValues(ecr),
          endpoint: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
          'ecr.accessKeyId': 'AKIA',
          'ecr.secretAccessKey': 's',
        },
        'e',
      ),
    ).toEqual({});
    const gcr = specOf(INTEGRATION_TYPES, 'gcr');
    expect(
      validate(gcr, { ...emptyValues(gcr), 'google.serviceAccountJson': '{"type":"service_account"}' }, 'g')['google.serviceAccountJson'],
    ).toBe('the key has no client_email');
  });
});

describe('payload and valuesFrom', () => {
  it('build the API shape of a generic webhook, nested and typed', () => {
    const generic = specOf(NOTIFIER_TYPES, 'generic');
    const v = {
      ...emptyValues(generic),
      'generic.endpoint': ' https://h.example.com/in ',
      'generic.headers': [
        { key: 'X-Token', value: 'abc' },
        { key: '', value: '' },
      ],
      'generic.auditLoggingEnabled': true,
    };
    expect(payload(generic, v, { name: ' Hook ' })).toEqual({
      name: 'Hook',
      type: 'generic',
      generic: { endpoint: 'https://h.example.com/in', headers: [{ key: 'X-Token', value: 'abc' }], auditLoggingEnabled: true },
    });
  });

  it('send the type block even when empty, so the API names the missing field', () => {
    const pd = specOf(NOTIFIER_TYPES, 'pagerduty');
    expect(payload(pd, emptyValues(pd), { name: 'pd' })).toEqual({ name: 'pd', type: 'pagerduty', pagerduty: {} });
  });

  it('round-trip a stored syslog notifier over UDP with masked secrets kept', () => {
    const syslog = specOf(NOTIFIER_TYPES, 'syslog');
    const stored = {
      id: 'n1',
      name: 'logs',
      type: 'syslog',
      syslog: {
        udpConfig: { hostname: 'logs.example.com', port: 514 },
        messageFormat: 'CEF',
        extraFields: [{ key: 'env', value: 'prod' }],
      },
    };
    const v = valuesFrom(syslog, stored);
    expect(v['syslog.transport']).toBe('udp');
    expect(v['syslog.udpConfig.port']).toBe('514');
    expect(payload(syslog, v, { id: 'n1', name: 'logs' })).toEqual(stored);
  });

  it('map Jira priorities to their API names', () => {
    const jira = specOf(NOTIFIER_TYPES, 'jira');
    const stored = { jira: { priorityMappings: [{ severity: 'LOW_SEVERITY', priorityName: 'Low' }], password: MASK } };
    const v = valuesFrom(jira, stored);
    expect(v['jira.priorityMappings']).toEqual([{ key: 'LOW_SEVERITY', value: 'Low' }]);
    expect(v['jira.password']).toBe(MASK);
    const out = payload(jira, v, { name: 'j' }) as { jira: Record<string, unknown> };
    expect(out.jira.priorityMappings).toEqual([{ severity: 'LOW_SEVERITY', priorityName: 'Low' }]);
    expect(out.jira.password).toBe(MASK);
  });

  it('send only the fields of the chosen ACR sign-in', () => {
    const acr = specOf(INTEGRATION_TYPES, 'acr');
    const stored = { type: 'acr', endpoint: 'x.azurecr.io', username: 'admin', password: MASK };
    const v = valuesFrom(acr, stored);
    expect(v.auth).toBe('admin');
    expect(payload(acr, { ...v, 'azure.clientId': 'left over' }, { id: 'i1', name: 'acr' })).toEqual({
      id: 'i1',
      name: 'acr',
      type: 'acr',
      endpoint: 'x.azurecr.io',
      username: 'admin',
      password: MASK,
    });
  });

  it('place API error paths on their fields', () => {
    const generic = specOf(NOTIFIER_TYPES, 'generic');
    expect(fieldForPath(generic, 'generic.endpoint')).toBe('generic.endpoint');
    expect(fieldForPath(generic, 'generic.headers[0].key')).toBe('generic.headers');
    expect(fieldForPath(generic, 'name')).toBe('name');
    expect(fieldForPath(generic, 'type')).toBeUndefined();
  });
});
