// The policy editor's state logic, free of React: building a policy's
// sections, groups and values from the criteria catalogue Central serves,
// checking values as they are typed, placing the API's field-path errors
// on the editor's fields, and preparing import and export files.
import type { Criterion, EventSource, FieldError, Usage, ValueKind } from '../api/policies';
import type { LifecycleStage, Policy, PolicyGroup, PolicySection } from '../api/types';

/** A new, empty DEPLOY policy with one empty section. */
export function emptyPolicy(): Policy {
  return {
    id: '',
    name: '',
    severity: 'MEDIUM_SEVERITY',
    description: '',
    rationale: '',
    remediation: '',
    categories: [],
    lifecycleStages: ['DEPLOY'],
    policySections: [{ sectionName: 'Policy section 1', policyGroups: [] }],
  };
}

/** A copy of p to save as a new policy: no id, unlocked, not built-in. */
export function clonePolicy(p: Policy): Policy {
  const copy: Policy = structuredClone(p);
  copy.id = '';
  copy.name = `Copy of ${p.name}`;
  delete copy.isDefault;
  delete copy.criteriaLocked;
  delete copy.mitreVectorsLocked;
  delete copy.lastUpdated;
  return copy;
}

function withSections(p: Policy, sections: PolicySection[]): Policy {
  return { ...p, policySections: sections };
}

function mapGroup(p: Policy, si: number, gi: number, f: (g: PolicyGroup) => PolicyGroup): Policy {
  return withSections(
    p,
    p.policySections.map((s, i) => (i !== si ? s : { ...s, policyGroups: s.policyGroups.map((g, j) => (j !== gi ? g : f(g))) })),
  );
}

export function addSection(p: Policy): Policy {
  return withSections(p, [...p.policySections, { sectionName: `Policy section ${p.policySections.length + 1}`, policyGroups: [] }]);
}

export function removeSection(p: Policy, si: number): Policy {
  return withSections(
    p,
    p.policySections.filter((_, i) => i !== si),
  );
}

/** The value a new group of c starts with. */
export function initialValue(c: Criterion): string {
  if (c.valueKind === 'boolean') return 'true';
  if (c.valueKind === 'enum' && c.options && c.options.length > 0) return c.options[0] ?? '';
  return '';
}

/**
 * Adds criterion c to section si as a new group with one value. A
 * criterion already in the section is not added twice (the API refuses
 * it): the section is returned unchanged.
 */
export function addGroup(p: Policy, si: number, c: Criterion): Policy {
  const sec = p.policySections[si];
  if (!sec || sec.policyGroups.some((g) => g.fieldName.toLowerCase() === c.name.toLowerCase())) return p;
  const group: PolicyGroup = { fieldName: c.name, booleanOperator: 'OR', negate: false, values: [{ value: initialValue(c) }] };
  return withSections(
    p,
    p.policySections.map((s, i) => (i === si ? { ...s, policyGroups: [...s.policyGroups, group] } : s)),
  );
}

export function removeGroup(p: Policy, si: number, gi: number): Policy {
  return withSections(
    p,
    p.policySections.map((s, i) => (i === si ? { ...s, policyGroups: s.policyGroups.filter((_, j) => j !== gi) } : s)),
  );
}

export function setOperator(p: Policy, si: number, gi: number, op: 'AND' | 'OR'): Policy {
  return mapGroup(p, si, gi, (g) => ({ ...g, booleanOperator: op }));
}

export function setNegate(p: Policy, si: number, gi: number, negate: boolean): Policy {
  return mapGroup(p, si, gi, (g) => ({ ...g, negate }));
}

export function addValue(p: Policy, si: number, gi: number): Policy {
  return mapGroup(p, si, gi, (g) => ({ ...g, values: [...g.values, { value: '' }] }));
}

export function setValue(p: Policy, si: number, gi: number, vi: number, value: string): Policy {
  return mapGroup(p, si, gi, (g) => ({ ...g, values: g.values.map((v, k) => (k === vi ? { value } : v)) }));
}

export function removeValue(p: Policy, si: number, gi: number, vi: number): Policy {
  return mapGroup(p, si, gi, (g) => ({ ...g, values: g.values.filter((_, k) => k !== vi) }));
}

/** The kind of policy p is, as the catalogue's usableIn names kinds. */
export function usagesOf(p: Policy): Usage[] {
  const stages = p.lifecycleStages ?? [];
  return stages.map((stage) =>
    stage === 'RUNTIME' ? { stage, eventSource: (p.eventSource as EventSource) || 'DEPLOYMENT_EVENT' } : { stage },
  );
}

function sameUsage(a: Usage, b: Usage): boolean {
  return a.stage === b.stage && (a.stage !== 'RUNTIME' || a.eventSource === b.eventSource);
}

/** The criteria valid in every stage p has, in catalogue order. */
export function criteriaFor(criteria: Criterion[], p: Policy): Criterion[] {
  const usages = usagesOf(p);
  if (usages.length === 0) return [];
  return criteria.filter((c) => usages.every((u) => c.usableIn.some((x) => sameUsage(x, u))));
}

/** Finds a criterion by name, case-insensitively. */
export function findCriterion(criteria: Criterion[], name: string): Criterion | undefined {
  const want = name.trim().toLowerCase();
  return criteria.find((c) => c.name.toLowerCase() === want);
}

const COMPARATOR = /^\s*(>=|<=|==|>|<|=)?\s*(.*)$/;

function checkRegex(v: string, what = ''): string | undefined {
  const expr = v.startsWith('r/') ? v.slice(2) : v;
  try {
    new RegExp(expr);
    return undefined;
  } catch {
    return `${what}invalid regular expression "${expr}"`;
  }
}

function checkNumber(v: string): string | undefined {
  const m = COMPARATOR.exec(v);
  const num = m ? (m[2] ?? '').trim() : '';
  if (num === '' || !Number.isFinite(Number(num))) return `want a number with an optional comparator (>, >=, <, <=), got "${v}"`;
  return undefined;
}

/**
 * Checks one value against its criterion's syntax, as the API will, and
 * returns the problem or undefined. The API stays the authority (its
 * regular expressions are RE2); this check answers at each keystroke.
 */
export function checkValue(c: Criterion, value: string): string | undefined {
  const v = value;
  switch (c.valueKind as ValueKind) {
    case 'boolean':
      return /^\s*(true|false)\s*$/i.test(v) ? undefined : `want true or false, got "${v}"`;
    case 'number':
    case 'days':
      return checkNumber(v);
    case 'enum': {
      const opts = c.options ?? [];
      return opts.some((o) => o.toLowerCase() === v.trim().toLowerCase()) ? undefined : `want one of ${opts.join(', ')}, got "${v}"`;
    }
    case 'keyValue': {
      const eq = v.indexOf('=');
      const key = eq < 0 ? v : v.slice(0, eq);
      const val = eq < 0 ? '' : v.slice(eq + 1);
      if (c.name !== 'Image Component' && key.trim() === '') return `want key=value with a non-empty key, got "${v}"`;
      return checkRegex(key, 'key: ') ?? checkRegex(val, 'value: ');
    }
    case 'environment': {
      let rest = v;
      const eq = v.indexOf('=');
      if (eq >= 0 && (c.options ?? []).some((s) => s.toLowerCase() === v.slice(0, eq).toLowerCase())) rest = v.slice(eq + 1);
      const eq2 = rest.indexOf('=');
      const name = eq2 < 0 ? rest : rest.slice(0, eq2);
      const val = eq2 < 0 ? '' : rest.slice(eq2 + 1);
      return checkRegex(name, 'name: ') ?? checkRegex(val, 'value: ');
    }
    case 'severity': {
      const m = COMPARATOR.exec(v);
      const sev = m ? (m[2] ?? '').trim().toUpperCase() : '';
      const opts = c.options ?? [];
      return opts.includes(sev) ? undefined : `want a severity (${opts.join(', ')}) with an optional comparator, got "${v}"`;
    }
    case 'dockerfile': {
      const eq = v.indexOf('=');
      if (eq < 0) return `want INSTRUCTION=regex, got "${v}"`;
      const instr = v.slice(0, eq).toUpperCase();
      if (!(c.options ?? []).includes(instr))
        return `unknown Dockerfile instruction "${v.slice(0, eq)}" (want one of ${(c.options ?? []).join(', ')})`;
      return checkRegex(v.slice(eq + 1));
    }
    case 'text':
      return v.trim() === '' ? 'value is empty' : undefined;
    default:
      return checkRegex(v);
  }
}

/** Where an API error path points in the criteria, by index. */
export interface CriteriaPlace {
  section: number;
  group?: number;
  value?: number;
  /** What the error is about below the group or value: "fieldName", "negate", "value"… */
  field?: string;
}

const CRITERIA_PATH = /^policySections\[(\d+)\](?:\.policyGroups(?:\[(\d+)\](?:\.values(?:\[(\d+)\])?)?)?)?(?:\.(\w+))?$/;

/** Parses "policySections[0].policyGroups[1].values[2].value". */
export function parseCriteriaPath(path: string): CriteriaPlace | undefined {
  const m = CRITERIA_PATH.exec(path);
  if (!m) return undefined;
  const place: CriteriaPlace = { section: Number(m[1]) };
  if (m[2] !== undefined) place.group = Number(m[2]);
  if (m[3] !== undefined) place.value = Number(m[3]);
  if (m[4] !== undefined) place.field = m[4];
  else if (path.endsWith('.values')) place.field = 'values';
  else if (path.endsWith('.policyGroups')) place.field = 'policyGroups';
  return place;
}

/** The messages of errors at exactly path. */
export function messagesAt(errors: FieldError[], path: string): string[] {
  return errors.filter((e) => e.path === path).map((e) => e.message);
}

/** The messages of errors at path or below it. */
export function messagesUnder(errors: FieldError[], path: string): string[] {
  return errors.filter((e) => e.path === path || e.path.startsWith(`${path}.`) || e.path.startsWith(`${path}[`)).map((e) => e.message);
}

export type StepId = 'details' | 'lifecycle' | 'criteria' | 'scope' | 'enforcement' | 'review';

/** The wizard step that edits the field at an API error path. */
export function stepOfPath(path: string): StepId {
  const top = path.split(/[.[]/)[0];
  switch (top) {
    case 'lifecycleStages':
    case 'eventSource':
      return 'lifecycle';
    case 'policySections':
      return 'criteria';
    case 'scope':
    case 'exclusions':
      return 'scope';
    case 'enforcementActions':
    case 'notifiers':
      return 'enforcement';
    case 'name':
    case 'severity':
    case 'description':
    case 'rationale':
    case 'remediation':
    case 'categories':
    case 'mitreAttackVectors':
      return 'details';
  }
  return 'review';
}

/** An enforcement action the wizard offers, with the stage it acts at. */
export interface EnforcementChoice {
  action: string;
  stage: LifecycleStage;
  label: string;
  help: string;
  /** Whether p may carry the action (the API's rule). */
  valid: (p: Policy) => boolean;
}

function hasStage(p: Policy, s: LifecycleStage): boolean {
  return (p.lifecycleStages ?? []).includes(s);
}

function usesCriterion(p: Policy, name: string): boolean {
  return p.policySections.some((s) => s.policyGroups.some((g) => g.fieldName.toLowerCase() === name.toLowerCase()));
}

export const ENFORCEMENTS: readonly EnforcementChoice[] = [
  {
    action: 'FAIL_BUILD_ENFORCEMENT',
    stage: 'BUILD',
    label: 'Fail the CI build',
    help: 'stockade image check exits 1 when the image violates the policy.',
    valid: (p) => hasStage(p, 'BUILD'),
  },
  {
    action: 'SCALE_TO_ZERO_ENFORCEMENT',
    stage: 'DEPLOY',
    label: 'Scale to zero',
    help: 'Sensor scales a violating deployment to zero replicas.',
    valid: (p) => hasStage(p, 'DEPLOY'),
  },
  {
    action: 'UNSATISFIABLE_NODE_CONSTRAINT_ENFORCEMENT',
    stage: 'DEPLOY',
    label: 'Add an unsatisfiable node constraint',
    help: 'Pods of a violating deployment cannot be scheduled.',
    valid: (p) => hasStage(p, 'DEPLOY'),
  },
  {
    action: 'FAIL_DEPLOYMENT_CREATE_ENFORCEMENT',
    stage: 'DEPLOY',
    label: 'Deny creation (admission control)',
    help: 'The admission webhook refuses to create a violating workload.',
    valid: (p) => hasStage(p, 'DEPLOY'),
  },
  {
    action: 'FAIL_DEPLOYMENT_UPDATE_ENFORCEMENT',
    stage: 'DEPLOY',
    label: 'Deny updates (admission control)',
    help: 'The admission webhook refuses an update that makes a workload violate.',
    valid: (p) => hasStage(p, 'DEPLOY'),
  },
  {
    action: 'KILL_POD_ENFORCEMENT',
    stage: 'RUNTIME',
    label: 'Kill the pod',
    help: 'Sensor deletes the pod in which the violating process ran.',
    valid: (p) => hasStage(p, 'RUNTIME') && p.eventSource === 'DEPLOYMENT_EVENT',
  },
  {
    action: 'FAIL_KUBE_REQUEST_ENFORCEMENT',
    stage: 'RUNTIME',
    label: 'Fail the Kubernetes request',
    help: 'Admission control refuses exec, attach and port-forward requests; needs the Kubernetes Resource criterion.',
    valid: (p) => hasStage(p, 'RUNTIME') && p.eventSource === 'DEPLOYMENT_EVENT' && usesCriterion(p, 'Kubernetes Resource'),
  },
];

/**
 * Sets the stages of p, keeping it consistent: an event source only with
 * RUNTIME (DEPLOYMENT_EVENT by default), RUNTIME alone, and only the
 * enforcement actions the new stages allow.
 */
export function setStages(p: Policy, stages: LifecycleStage[]): Policy {
  let next = stages;
  if (next.includes('RUNTIME') && next.length > 1) {
    // RUNTIME cannot be combined: the stage just picked wins.
    const added = next.find((s) => !(p.lifecycleStages ?? []).includes(s));
    next = added === 'RUNTIME' ? ['RUNTIME'] : next.filter((s) => s !== 'RUNTIME');
  }
  const out: Policy = { ...p, lifecycleStages: next };
  if (next.includes('RUNTIME')) out.eventSource = p.eventSource && p.eventSource !== 'NOT_APPLICABLE' ? p.eventSource : 'DEPLOYMENT_EVENT';
  else delete out.eventSource;
  out.enforcementActions = (p.enforcementActions ?? []).filter((a) => ENFORCEMENTS.find((e) => e.action === a)?.valid(out) ?? false);
  return out;
}

/** The policy document to send: empty optional parts left out. */
export function toPolicyJSON(p: Policy): Policy {
  const out: Policy = structuredClone(p);
  for (const k of ['description', 'rationale', 'remediation'] as const) {
    if (!out[k]) delete out[k];
  }
  out.categories = (out.categories ?? []).map((c) => c.trim()).filter((c) => c !== '');
  if (out.categories.length === 0) delete out.categories;
  for (const k of ['scope', 'exclusions', 'enforcementActions', 'notifiers', 'mitreAttackVectors'] as const) {
    const v = out[k];
    if (Array.isArray(v) && v.length === 0) delete out[k];
  }
  if (!(out.lifecycleStages ?? []).includes('RUNTIME')) delete out.eventSource;
  return out;
}

/** A file chosen for import, and its text. */
export interface ImportFile {
  name: string;
  text: string;
}

/**
 * Gathers the policies of one or more files, each holding one policy, a
 * list of them, or {"policies": […]} (ACS's export). A file that is not
 * JSON or holds none of these is reported by name.
 */
export function gatherImport(files: ImportFile[]): { policies: unknown[]; problems: string[] } {
  const policies: unknown[] = [];
  const problems: string[] = [];
  for (const f of files) {
    let doc: unknown;
    try {
      doc = JSON.parse(f.text);
    } catch (err) {
      problems.push(`${f.name}: not JSON (${err instanceof Error ? err.message : String(err)})`);
      continue;
    }
    if (Array.isArray(doc)) {
      policies.push(...(doc as unknown[]));
    } else if (doc && typeof doc === 'object' && 'policies' in doc && Array.isArray((doc as { policies: unknown }).policies)) {
      policies.push(...(doc as { policies: unknown[] }).policies);
    } else if (doc && typeof doc === 'object' && 'name' in doc) {
      policies.push(doc);
    } else {
      problems.push(`${f.name}: holds neither a policy, a list of policies, nor {"policies": […]}`);
    }
  }
  return { policies, problems };
}

/** A file name for exported policies: the policy's name, or a count. */
export function exportFileName(policies: Policy[]): string {
  if (policies.length === 1) {
    const base = (policies[0]?.name ?? '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '');
    return `${base || 'policy'}.json`;
  }
  return `stockade-policies-${policies.length}.json`;
}
