import { describe, expect, it } from 'vitest';
import type { Criterion } from '../api/policies';
import {
  addGroup,
  addSection,
  addValue,
  checkValue,
  clonePolicy,
  criteriaFor,
  emptyPolicy,
  ENFORCEMENTS,
  exportFileName,
  gatherImport,
  messagesUnder,
  parseCriteriaPath,
  removeGroup,
  removeSection,
  removeValue,
  setNegate,
  setOperator,
  setStages,
  setValue,
  stepOfPath,
  toPolicyJSON,
} from './criteria';

function criterion(over: Partial<Criterion> & Pick<Criterion, 'name' | 'valueKind'>): Criterion {
  return {
    category: 'Deployment',
    usableIn: [{ stage: 'DEPLOY' }],
    negatable: true,
    andAllowed: false,
    multipleValues: true,
    description: 'A criterion.',
    example: 'x',
    ...over,
  };
}

const privileged = criterion({
  name: 'Privileged Container',
  valueKind: 'boolean',
  negatable: false,
  multipleValues: false,
  usableIn: [{ stage: 'DEPLOY' }, { stage: 'RUNTIME', eventSource: 'DEPLOYMENT_EVENT' }],
});
const imageTag = criterion({
  name: 'Image Tag',
  valueKind: 'regex',
  usableIn: [{ stage: 'BUILD' }, { stage: 'DEPLOY' }, { stage: 'RUNTIME', eventSource: 'DEPLOYMENT_EVENT' }],
});
const processName = criterion({
  name: 'Process Name',
  valueKind: 'regex',
  usableIn: [{ stage: 'RUNTIME', eventSource: 'DEPLOYMENT_EVENT' }],
});
const verb = criterion({
  name: 'Kubernetes API Verb',
  valueKind: 'enum',
  options: ['CREATE', 'GET'],
  usableIn: [{ stage: 'RUNTIME', eventSource: 'AUDIT_LOG_EVENT' }],
});
const cpu = criterion({ name: 'Container CPU Limit', valueKind: 'number', andAllowed: true, unit: 'cores' });
const catalogue = [privileged, imageTag, processName, verb, cpu];

describe('building criteria', () => {
  it('adds and removes sections, groups and values without touching the input', () => {
    const p0 = emptyPolicy();
    const p1 = addGroup(p0, 0, privileged);
    expect(p0.policySections[0]?.policyGroups).toHaveLength(0);
    expect(p1.policySections[0]?.policyGroups).toEqual([
      { fieldName: 'Privileged Container', booleanOperator: 'OR', negate: false, values: [{ value: 'true' }] },
    ]);

    const p2 = addGroup(addSection(p1), 1, cpu);
    expect(p2.policySections).toHaveLength(2);
    expect(p2.policySections[1]?.sectionName).toBe('Policy section 2');
    const p3 = setValue(addValue(setValue(p2, 1, 0, 0, '> 2'), 1, 0), 1, 0, 1, '< 0.1');
    expect(p3.policySections[1]?.policyGroups[0]?.values).toEqual([{ value: '> 2' }, { value: '< 0.1' }]);
    const p4 = setNegate(setOperator(p3, 1, 0, 'AND'), 1, 0, true);
    expect(p4.policySections[1]?.policyGroups[0]).toMatchObject({ booleanOperator: 'AND', negate: true });
    expect(p3.policySections[1]?.policyGroups[0]).toMatchObject({ booleanOperator: 'OR', negate: false });

    expect(removeValue(p4, 1, 0, 0).policySections[1]?.policyGroups[0]?.values).toEqual([{ value: '< 0.1' }]);
    expect(removeGroup(p4, 1, 0).policySections[1]?.policyGroups).toEqual([]);
    expect(removeSection(p4, 0).policySections.map((s) => s.policyGroups[0]?.fieldName)).toEqual(['Container CPU Limit']);
  });

  it('does not add a criterion twice to a section', () => {
    const p = addGroup(emptyPolicy(), 0, privileged);
    expect(addGroup(p, 0, privileged)).toBe(p);
    expect(addGroup(p, 5, privileged)).toBe(p);
  });

  it('starts enum groups at their first option', () => {
    expect(addGroup(emptyPolicy(), 0, verb).policySections[0]?.policyGroups[0]?.values).toEqual([{ value: 'CREATE' }]);
  });

  it('offers only the criteria valid in every stage of the policy', () => {
    const names = (p = emptyPolicy()) => criteriaFor(catalogue, p).map((c) => c.name);
    expect(names()).toEqual(['Privileged Container', 'Image Tag', 'Container CPU Limit']);
    expect(names(setStages(emptyPolicy(), ['BUILD', 'DEPLOY']))).toEqual(['Image Tag']);
    expect(names(setStages(emptyPolicy(), ['RUNTIME']))).toEqual(['Privileged Container', 'Image Tag', 'Process Name']);
    expect(names({ ...setStages(emptyPolicy(), ['RUNTIME']), eventSource: 'AUDIT_LOG_EVENT' })).toEqual(['Kubernetes API Verb']);
    expect(names({ ...emptyPolicy(), lifecycleStages: [] })).toEqual([]);
  });
});

describe('stages and enforcement', () => {
  it('keeps RUNTIME alone, with an event source, and drops enforcement the stages no longer allow', () => {
    const deploy = { ...emptyPolicy(), enforcementActions: ['SCALE_TO_ZERO_ENFORCEMENT'] };
    const runtime = setStages(deploy, ['DEPLOY', 'RUNTIME']);
    expect(runtime.lifecycleStages).toEqual(['RUNTIME']);
    expect(runtime.eventSource).toBe('DEPLOYMENT_EVENT');
    expect(runtime.enforcementActions).toEqual([]);
    const back = setStages(runtime, ['RUNTIME', 'BUILD']);
    expect(back.lifecycleStages).toEqual(['BUILD']);
    expect(back.eventSource).toBeUndefined();
  });

  it('knows which stage allows which action', () => {
    const valid = (p = emptyPolicy()) => ENFORCEMENTS.filter((e) => e.valid(p)).map((e) => e.action);
    expect(valid(setStages(emptyPolicy(), ['BUILD']))).toEqual(['FAIL_BUILD_ENFORCEMENT']);
    expect(valid()).toContain('SCALE_TO_ZERO_ENFORCEMENT');
    const rt = setStages(emptyPolicy(), ['RUNTIME']);
    expect(valid(rt)).toEqual(['KILL_POD_ENFORCEMENT']);
    const kube = addGroup(rt, 0, criterion({ name: 'Kubernetes Resource', valueKind: 'enum', options: ['PODS_EXEC'] }));
    expect(valid(kube)).toEqual(['KILL_POD_ENFORCEMENT', 'FAIL_KUBE_REQUEST_ENFORCEMENT']);
  });
});

describe('checkValue', () => {
  const cases: [Criterion, string, boolean][] = [
    [privileged, 'true', true],
    [privileged, 'FALSE', true],
    [privileged, 'yes', false],
    [cpu, '>= 2.5', true],
    [cpu, '2', true],
    [cpu, '>', false],
    [cpu, 'lots', false],
    [imageTag, 'latest|1\\..*', true],
    [imageTag, 'a[b', false],
    [imageTag, '', true],
    [verb, 'get', true],
    [verb, 'PUT', false],
    [criterion({ name: 'Required Label', valueKind: 'keyValue' }), 'owner=.+', true],
    [criterion({ name: 'Required Label', valueKind: 'keyValue' }), '=x', false],
    [criterion({ name: 'Required Label', valueKind: 'keyValue' }), 'a=(', false],
    [criterion({ name: 'Image Component', valueKind: 'keyValue' }), '=2.0', true],
    [criterion({ name: 'Environment Variable', valueKind: 'environment', options: ['RAW', 'SECRET_KEY'] }), 'RAW=.*PASSWORD.*=', true],
    [criterion({ name: 'Environment Variable', valueKind: 'environment', options: ['RAW'] }), 'A=(', false],
    [criterion({ name: 'Severity', valueKind: 'severity', options: ['LOW', 'MODERATE', 'IMPORTANT', 'CRITICAL'] }), '>= important', true],
    [criterion({ name: 'Severity', valueKind: 'severity', options: ['LOW', 'MODERATE', 'IMPORTANT', 'CRITICAL'] }), 'HIGH', false],
    [criterion({ name: 'Dockerfile Line', valueKind: 'dockerfile', options: ['RUN', 'USER'] }), 'user=root', true],
    [criterion({ name: 'Dockerfile Line', valueKind: 'dockerfile', options: ['RUN', 'USER'] }), 'BOGUS=x', false],
    [criterion({ name: 'Dockerfile Line', valueKind: 'dockerfile', options: ['RUN'] }), 'RUN', false],
    [criterion({ name: 'Image Signature Verified By', valueKind: 'text' }), ' ', false],
    [criterion({ name: 'Image Age', valueKind: 'days' }), '90', true],
  ];
  it.each(cases)('%s: %j valid=%s', (c, value, ok) => {
    const problem = checkValue(c, value);
    if (ok) expect(problem).toBeUndefined();
    else expect(problem).toMatch(/./);
  });
});

describe('API errors on the editor', () => {
  it('parses criteria paths', () => {
    expect(parseCriteriaPath('policySections[1].policyGroups[2].values[0].value')).toEqual({
      section: 1,
      group: 2,
      value: 0,
      field: 'value',
    });
    expect(parseCriteriaPath('policySections[0].policyGroups[3].negate')).toEqual({ section: 0, group: 3, field: 'negate' });
    expect(parseCriteriaPath('policySections[0].policyGroups')).toEqual({ section: 0, field: 'policyGroups' });
    expect(parseCriteriaPath('policySections[0]')).toEqual({ section: 0 });
    expect(parseCriteriaPath('severity')).toBeUndefined();
  });

  it('puts each path on the step that edits it', () => {
    expect(stepOfPath('name')).toBe('details');
    expect(stepOfPath('mitreAttackVectors[0].tactic')).toBe('details');
    expect(stepOfPath('eventSource')).toBe('lifecycle');
    expect(stepOfPath('policySections[0].policyGroups[1].values[0].value')).toBe('criteria');
    expect(stepOfPath('exclusions[2].expiration')).toBe('scope');
    expect(stepOfPath('enforcementActions[0]')).toBe('enforcement');
    expect(stepOfPath('')).toBe('review');
  });

  it('collects the messages at and below a path', () => {
    const errs = [
      { path: 'policySections[0].policyGroups[1].values[0].value', message: 'a' },
      { path: 'policySections[0].policyGroups[10].negate', message: 'b' },
      { path: 'policySections[0].policyGroups[1]', message: 'c' },
    ];
    expect(messagesUnder(errs, 'policySections[0].policyGroups[1]')).toEqual(['a', 'c']);
  });
});

describe('documents', () => {
  it('leaves empty optional parts out of the policy it sends', () => {
    const p = { ...emptyPolicy(), name: 'x', categories: [' Security ', ''], scope: [], eventSource: 'DEPLOYMENT_EVENT' };
    const out = toPolicyJSON(p);
    expect(out).not.toHaveProperty('description');
    expect(out).not.toHaveProperty('scope');
    expect(out).not.toHaveProperty('eventSource');
    expect(out.categories).toEqual(['Security']);
  });

  it('clones a locked built-in policy as an unlocked custom one', () => {
    const c = clonePolicy({
      ...emptyPolicy(),
      id: 'abc',
      name: 'Built in',
      isDefault: true,
      criteriaLocked: true,
      mitreVectorsLocked: true,
    });
    expect(c).toMatchObject({ id: '', name: 'Copy of Built in' });
    expect(c).not.toHaveProperty('criteriaLocked');
    expect(c).not.toHaveProperty('isDefault');
  });

  it('gathers policies from single, list and {policies} files, naming bad files', () => {
    const got = gatherImport([
      { name: 'one.json', text: '{"name": "A"}' },
      { name: 'list.json', text: '[{"name": "B"}, {"name": "C"}]' },
      { name: 'acs.json', text: '{"policies": [{"name": "D"}]}' },
      { name: 'broken.json', text: '{"name": ' },
      { name: 'other.json', text: '{"kind": "Pod"}' },
    ]);
    expect(got.policies).toEqual([{ name: 'A' }, { name: 'B' }, { name: 'C' }, { name: 'D' }]);
    expect(got.problems).toHaveLength(2);
    expect(got.problems[0]).toMatch(/^broken\.json: not JSON/);
    expect(got.problems[1]).toMatch(/^other\.json: /);
  });

  it('names export files', () => {
    expect(exportFileName([{ ...emptyPolicy(), name: 'No latest tag!' }])).toBe('no-latest-tag.json');
    expect(exportFileName([emptyPolicy(), emptyPolicy()])).toBe('stockade-policies-2.json');
  });
});
