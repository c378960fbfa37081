import {
  Alert as PFAlert,
  Breadcrumb,
  BreadcrumbItem,
  Button,
  Card,
  CardBody,
  CardHeader,
  CardTitle,
  Checkbox,
  Content,
  Form,
  FormGroup,
  FormHelperText,
  FormSection,
  FormSelect,
  FormSelectOption,
  FormSelectOptionGroup,
  HelperText,
  HelperTextItem,
  PageSection,
  Radio,
  TextArea,
  TextInput,
  Title,
  Wizard,
  WizardFooter,
  WizardStep,
  useWizardContext,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { ApiError, errorMessage } from '../api/client';
import { useApi } from '../api/context';
import { getPolicy, listNotifiers } from '../api/endpoints';
import {
  createPolicy,
  dryRunPolicy,
  getCriteria,
  replacePolicy,
  validatePolicy,
  type Criterion,
  type DryRunResult,
  type FieldError,
} from '../api/policies';
import type { LifecycleStage, Policy, Scope } from '../api/types';
import { ErrorState, LoadingState } from '../components/StateViews';
import { SEVERITIES, STAGES, plural, severityLabel, stageLabel } from '../format';
import { useFetch } from '../hooks/useFetch';
import {
  ENFORCEMENTS,
  addGroup,
  addSection,
  addValue,
  checkValue,
  clonePolicy,
  criteriaFor,
  emptyPolicy,
  findCriterion,
  messagesUnder,
  removeGroup,
  removeSection,
  removeValue,
  setNegate,
  setOperator,
  setStages,
  setValue,
  stepOfPath,
  toPolicyJSON,
  type StepId,
} from '../policy/criteria';

const STEPS: { id: StepId; name: string }[] = [
  { id: 'details', name: 'Details' },
  { id: 'lifecycle', name: 'Lifecycle' },
  { id: 'criteria', name: 'Criteria' },
  { id: 'scope', name: 'Scope and exclusions' },
  { id: 'enforcement', name: 'Enforcement and notifiers' },
  { id: 'review', name: 'Review and dry run' },
];

/** How long typing must pause before the policy is validated by Central. */
const VALIDATE_DELAY_MS = 400;

/** Text with `code` spans, as the criteria catalogue writes them. */
function WithCode({ text }: { text: string }) {
  return <>{text.split('`').map((part, i) => (i % 2 === 1 ? <code key={i}>{part}</code> : part))}</>;
}

/** Messages under a field, as PatternFly helper text. */
function Problems({ id, messages }: { id?: string; messages: string[] }) {
  if (messages.length === 0) return null;
  return (
    <FormHelperText>
      <HelperText id={id} aria-live="polite">
        {messages.map((m, i) => (
          <HelperTextItem key={i} variant="error">
            {m}
          </HelperTextItem>
        ))}
      </HelperText>
    </FormHelperText>
  );
}

interface EditorProps {
  policy: Policy;
  update: (p: Policy, touchedPath?: string) => void;
  /** The messages to show at exactly path (or below it with below). */
  shown: (path: string, below?: boolean) => string[];
  locked: boolean;
}

function DetailsStep({ policy, update, shown, locked }: EditorProps) {
  const text = (key: 'name' | 'description' | 'rationale' | 'remediation', label: string, area = false) => {
    const id = `policy-${key}`;
    const msgs = shown(key);
    const common = {
      id,
      isDisabled: locked,
      value: policy[key] ?? '',
      validated: msgs.length > 0 ? ('error' as const) : ('default' as const),
      'aria-describedby': msgs.length > 0 ? `${id}-problems` : undefined,
    };
    return (
      <FormGroup label={label} fieldId={id} isRequired={key === 'name'}>
        {area ? (
          <TextArea {...common} onChange={(_e, v) => update({ ...policy, [key]: v }, key)} resizeOrientation="vertical" />
        ) : (
          <TextInput {...common} onChange={(_e, v) => update({ ...policy, [key]: v }, key)} />
        )}
        <Problems id={`${id}-problems`} messages={msgs} />
      </FormGroup>
    );
  };
  const mitre = policy.mitreAttackVectors ?? [];
  const setMitre = (v: typeof mitre, path: string) => update({ ...policy, mitreAttackVectors: v }, path);
  return (
    <Form>
      {locked && (
        <PFAlert
          isInline
          variant="info"
          title="This built-in policy’s details, stages and criteria are locked; its scope, exclusions, enforcement and notifiers can change. Clone it to change the rest."
        />
      )}
      {text('name', 'Name')}
      <FormGroup label="Severity" fieldId="policy-severity" isRequired>
        <FormSelect
          id="policy-severity"
          isDisabled={locked}
          value={policy.severity}
          onChange={(_e, v) => update({ ...policy, severity: v as Policy['severity'] }, 'severity')}
        >
          {SEVERITIES.map((s) => (
            <FormSelectOption key={s} value={s} label={severityLabel(s)} />
          ))}
        </FormSelect>
        <Problems messages={shown('severity')} />
      </FormGroup>
      {text('description', 'Description', true)}
      {text('rationale', 'Rationale', true)}
      {text('remediation', 'Remediation', true)}
      <FormGroup label="Categories" fieldId="policy-categories">
        <TextInput
          id="policy-categories"
          isDisabled={locked}
          value={(policy.categories ?? []).join(', ')}
          onChange={(_e, v) => update({ ...policy, categories: v.split(',').map((c) => c.trimStart()) }, 'categories')}
          aria-describedby="policy-categories-help"
        />
        <FormHelperText>
          <HelperText id="policy-categories-help">
            <HelperTextItem>Separate categories with commas, such as “Security Best Practices, Privileges”.</HelperTextItem>
          </HelperText>
        </FormHelperText>
      </FormGroup>
      <FormSection title="MITRE ATT&CK (optional)" titleElement="h3">
        {locked && policy.mitreVectorsLocked && <p>The MITRE ATT&CK vectors of this built-in policy are locked.</p>}
        {mitre.map((m, i) => (
          <div key={i} className="stk-wizard-row">
            <FormGroup label={`Tactic ${i + 1}`} fieldId={`mitre-tactic-${i}`}>
              <TextInput
                id={`mitre-tactic-${i}`}
                value={m.tactic}
                isDisabled={locked && policy.mitreVectorsLocked}
                placeholder="TA0004"
                onChange={(_e, v) =>
                  setMitre(
                    mitre.map((x, j) => (j === i ? { ...x, tactic: v } : x)),
                    `mitreAttackVectors[${i}].tactic`,
                  )
                }
              />
              <Problems messages={shown(`mitreAttackVectors[${i}].tactic`)} />
            </FormGroup>
            <FormGroup label={`Techniques of tactic ${i + 1}`} fieldId={`mitre-techniques-${i}`}>
              <TextInput
                id={`mitre-techniques-${i}`}
                value={(m.techniques ?? []).join(', ')}
                isDisabled={locked && policy.mitreVectorsLocked}
                placeholder="T1611, T1610"
                onChange={(_e, v) =>
                  setMitre(
                    mitre.map((x, j) =>
                      j === i
                        ? {
                            ...x,
                            techniques: v
                              .split(',')
                              .map((t) => t.trim())
                              .filter(Boolean),
                          }
                        : x,
                    ),
                    `mitreAttackVectors[${i}]`,
                  )
                }
              />
            </FormGroup>
            <Button
              variant="link"
              isDanger
              isDisabled={locked && policy.mitreVectorsLocked}
              onClick={() =>
                setMitre(
                  mitre.filter((_, j) => j !== i),
                  'mitreAttackVectors',
                )
              }
            >
              Remove tactic {i + 1}
            </Button>
          </div>
        ))}
        <div>
          <Button
            variant="secondary"
            isDisabled={locked && policy.mitreVectorsLocked}
            onClick={() => setMitre([...mitre, { tactic: '' }], 'mitreAttackVectors')}
          >
            Add a MITRE ATT&CK tactic
          </Button>
        </div>
      </FormSection>
    </Form>
  );
}

function LifecycleStep({ policy, update, shown, locked }: EditorProps) {
  const stages = policy.lifecycleStages ?? [];
  const toggle = (s: LifecycleStage, on: boolean) =>
    update(setStages(policy, on ? [...stages, s] : stages.filter((x) => x !== s)), 'lifecycleStages');
  return (
    <Form>
      {locked && (
        <PFAlert
          isInline
          variant="info"
          title="The criteria of this built-in policy are locked, and so are its stages. Clone it to change them."
        />
      )}
      <FormGroup role="group" isStack label="Lifecycle stages" fieldId="policy-stages" isRequired>
        {STAGES.map((s) => (
          <Checkbox
            key={s}
            id={`stage-${s}`}
            label={stageLabel(s)}
            isChecked={stages.includes(s)}
            isDisabled={locked}
            onChange={(_e, on) => toggle(s, on)}
            description={
              s === 'BUILD'
                ? 'Images checked in CI (stockade image check).'
                : s === 'DEPLOY'
                  ? 'Workloads checked when deployed and by admission control.'
                  : 'Process, network and Kubernetes events in running workloads; cannot be combined with the other stages.'
            }
          />
        ))}
        <Problems messages={shown('lifecycleStages', true)} />
      </FormGroup>
      {stages.includes('RUNTIME') && (
        <FormGroup role="radiogroup" isStack label="Event source" fieldId="policy-event-source">
          <Radio
            id="event-deployment"
            name="event-source"
            label="Deployment events (processes, network flows, exec and port-forward)"
            isChecked={policy.eventSource !== 'AUDIT_LOG_EVENT'}
            isDisabled={locked}
            onChange={() => update({ ...policy, eventSource: 'DEPLOYMENT_EVENT' }, 'eventSource')}
          />
          <Radio
            id="event-audit"
            name="event-source"
            label="Kubernetes audit log events"
            isChecked={policy.eventSource === 'AUDIT_LOG_EVENT'}
            isDisabled={locked}
            onChange={() => update({ ...policy, eventSource: 'AUDIT_LOG_EVENT', enforcementActions: [] }, 'eventSource')}
          />
          <Problems messages={shown('eventSource')} />
        </FormGroup>
      )}
    </Form>
  );
}

function ValueInput({
  criterion,
  value,
  id,
  label,
  onChange,
  problems,
  disabled,
}: {
  criterion: Criterion | undefined;
  value: string;
  id: string;
  label: string;
  onChange: (v: string) => void;
  problems: string[];
  disabled: boolean;
}) {
  const validated = problems.length > 0 ? 'error' : 'default';
  const describedBy = problems.length > 0 ? `${id}-problems` : `${id}-help`;
  if (criterion && (criterion.valueKind === 'boolean' || criterion.valueKind === 'enum')) {
    const options = criterion.valueKind === 'boolean' ? ['true', 'false'] : (criterion.options ?? []);
    const known = options.some((o) => o.toLowerCase() === value.toLowerCase());
    return (
      <FormSelect
        id={id}
        aria-label={label}
        value={known ? options.find((o) => o.toLowerCase() === value.toLowerCase()) : value}
        onChange={(_e, v) => onChange(v)}
        isDisabled={disabled}
        validated={validated}
        aria-describedby={describedBy}
      >
        {!known && <FormSelectOption value={value} label={value || '(choose)'} />}
        {options.map((o) => (
          <FormSelectOption key={o} value={o} label={o} />
        ))}
      </FormSelect>
    );
  }
  return (
    <TextInput
      id={id}
      aria-label={label}
      value={value}
      placeholder={criterion ? `e.g. ${criterion.example}` : ''}
      onChange={(_e, v) => onChange(v)}
      isDisabled={disabled}
      validated={validated}
      aria-describedby={describedBy}
    />
  );
}

function CriteriaStep({ policy, update, shown, locked, criteria }: EditorProps & { criteria: Criterion[] }) {
  const available = useMemo(() => criteriaFor(criteria, policy), [criteria, policy]);
  const [picked, setPicked] = useState<Record<number, string>>({});
  const categories = useMemo(() => [...new Set(available.map((c) => c.category))], [available]);
  return (
    <>
      {locked && (
        <PFAlert
          isInline
          variant="info"
          className="pf-v6-u-mb-md"
          title="The criteria of this built-in policy are locked. Clone the policy to change them."
        />
      )}
      <Content component="p">
        A policy is violated when any section matches; a section matches when all its criteria do. Criteria offered are those valid in the
        policy’s stages ({(policy.lifecycleStages ?? []).map(stageLabel).join(', ') || 'none chosen'}).
      </Content>
      <Problems messages={shown('policySections')} />
      {policy.policySections.map((sec, si) => {
        const spath = `policySections[${si}]`;
        const inSection = new Set(sec.policyGroups.map((g) => g.fieldName.toLowerCase()));
        const choices = available.filter((c) => !inSection.has(c.name.toLowerCase()));
        const choice = picked[si] && choices.some((c) => c.name === picked[si]) ? picked[si] : '';
        return (
          <Card key={si} component="section" className="pf-v6-u-mb-md" aria-labelledby={`section-${si}-title`}>
            <CardHeader
              actions={{
                actions: (
                  <Button
                    variant="link"
                    isDanger
                    isDisabled={locked || policy.policySections.length === 1}
                    onClick={() => update(removeSection(policy, si), spath)}
                  >
                    Remove section {si + 1}
                  </Button>
                ),
              }}
            >
              <CardTitle>
                <Title headingLevel="h3" size="md" id={`section-${si}-title`}>
                  {si > 0 ? 'OR ' : ''}
                  {sec.sectionName || `Policy section ${si + 1}`}
                </Title>
              </CardTitle>
            </CardHeader>
            <CardBody>
              <Problems messages={[...shown(spath), ...shown(`${spath}.policyGroups`)]} />
              {sec.policyGroups.map((g, gi) => {
                const gpath = `${spath}.policyGroups[${gi}]`;
                const c = findCriterion(criteria, g.fieldName);
                const label = g.fieldName;
                return (
                  <div
                    key={gi}
                    className="stk-criterion"
                    role="group"
                    aria-label={`Criterion ${label} in section ${si + 1}`}
                    data-testid={`criterion-${si}-${gi}`}
                  >
                    <Title headingLevel="h4" size="md">
                      {gi > 0 ? 'AND ' : ''}
                      {label}
                    </Title>
                    {c && (
                      <Content component="small">
                        <WithCode text={c.description} />
                        {c.unit ? ` Unit: ${c.unit}.` : ''}
                      </Content>
                    )}
                    <Problems messages={[...shown(`${gpath}.fieldName`), ...shown(gpath)]} />
                    <div className="stk-wizard-row">
                      {c?.negatable && (
                        <Checkbox
                          id={`negate-${si}-${gi}`}
                          label="Negate (violated when this does not match)"
                          isChecked={!!g.negate}
                          isDisabled={locked}
                          onChange={(_e, on) => update(setNegate(policy, si, gi, on), `${gpath}.negate`)}
                        />
                      )}
                      {c?.andAllowed && c.multipleValues && g.values.length > 1 && (
                        <FormGroup label="Combine values with" fieldId={`op-${si}-${gi}`}>
                          <FormSelect
                            id={`op-${si}-${gi}`}
                            value={g.booleanOperator ?? 'OR'}
                            isDisabled={locked}
                            onChange={(_e, v) => update(setOperator(policy, si, gi, v as 'AND' | 'OR'), `${gpath}.booleanOperator`)}
                          >
                            <FormSelectOption value="OR" label="OR: any value matches" />
                            <FormSelectOption value="AND" label="AND: every value matches" />
                          </FormSelect>
                        </FormGroup>
                      )}
                    </div>
                    <Problems messages={[...shown(`${gpath}.negate`), ...shown(`${gpath}.booleanOperator`), ...shown(`${gpath}.values`)]} />
                    {g.values.map((v, vi) => {
                      const vpath = `${gpath}.values[${vi}].value`;
                      const local = c ? checkValue(c, v.value) : undefined;
                      const msgs = local !== undefined ? [local] : shown(vpath);
                      const id = `value-${si}-${gi}-${vi}`;
                      return (
                        <div key={vi} className="stk-wizard-row">
                          <div className="stk-wizard-value">
                            <ValueInput
                              criterion={c}
                              value={v.value}
                              id={id}
                              label={`${label} value ${vi + 1}`}
                              disabled={locked}
                              problems={msgs}
                              onChange={(val) => update(setValue(policy, si, gi, vi, val), vpath)}
                            />
                            {msgs.length > 0 ? (
                              <Problems id={`${id}-problems`} messages={msgs} />
                            ) : (
                              <HelperText id={`${id}-help`}>
                                <HelperTextItem>{c ? `Example: ${c.example}` : ''}</HelperTextItem>
                              </HelperText>
                            )}
                          </div>
                          {g.values.length > 1 && (
                            <Button
                              variant="link"
                              isDanger
                              isDisabled={locked}
                              onClick={() => update(removeValue(policy, si, gi, vi), `${gpath}.values`)}
                            >
                              Remove value {vi + 1} of {label}
                            </Button>
                          )}
                        </div>
                      );
                    })}
                    <div className="stk-wizard-row">
                      {c?.multipleValues && (
                        <Button variant="link" isDisabled={locked} onClick={() => update(addValue(policy, si, gi), `${gpath}.values`)}>
                          Add a value to {label}
                        </Button>
                      )}
                      <Button variant="link" isDanger isDisabled={locked} onClick={() => update(removeGroup(policy, si, gi), gpath)}>
                        Remove {label}
                      </Button>
                    </div>
                  </div>
                );
              })}
              <div className="stk-wizard-row">
                <FormGroup label={`Criterion to add to section ${si + 1}`} fieldId={`add-criterion-${si}`}>
                  <FormSelect
                    id={`add-criterion-${si}`}
                    value={choice}
                    isDisabled={locked}
                    onChange={(_e, v) => setPicked({ ...picked, [si]: v })}
                  >
                    <FormSelectOption
                      value=""
                      label={choices.length > 0 ? 'Choose a criterion' : 'No more criteria for these stages'}
                      isDisabled
                    />
                    {categories.map((cat) => (
                      <FormSelectOptionGroup key={cat} label={cat}>
                        {choices
                          .filter((c) => c.category === cat)
                          .map((c) => (
                            <FormSelectOption key={c.name} value={c.name} label={c.name} />
                          ))}
                      </FormSelectOptionGroup>
                    ))}
                  </FormSelect>
                </FormGroup>
                <Button
                  variant="secondary"
                  isDisabled={locked || choice === ''}
                  onClick={() => {
                    const c = findCriterion(criteria, choice);
                    if (c) update(addGroup(policy, si, c), `${spath}.policyGroups[${sec.policyGroups.length}]`);
                    setPicked({ ...picked, [si]: '' });
                  }}
                >
                  Add criterion to section {si + 1}
                </Button>
              </div>
            </CardBody>
          </Card>
        );
      })}
      <Button variant="secondary" isDisabled={locked} onClick={() => update(addSection(policy), 'policySections')}>
        Add a policy section (OR)
      </Button>
    </>
  );
}

function ScopeFields({
  scope,
  prefix,
  path,
  onChange,
  shown,
}: {
  scope: Scope;
  prefix: string;
  path: string;
  onChange: (s: Scope) => void;
  shown: EditorProps['shown'];
}) {
  const field = (key: 'cluster' | 'namespace' | 'labelKey' | 'labelValue', label: string, placeholder: string) => {
    const value = key === 'labelKey' ? (scope.label?.key ?? '') : key === 'labelValue' ? (scope.label?.value ?? '') : (scope[key] ?? '');
    const apiPath = key === 'labelKey' ? `${path}.label.key` : key === 'labelValue' ? `${path}.label.value` : `${path}.${key}`;
    const set = (v: string) => {
      const next: Scope = { ...scope };
      if (key === 'cluster' || key === 'namespace') {
        if (v) next[key] = v;
        else delete next[key];
      } else {
        const label = { key: scope.label?.key ?? '', value: scope.label?.value ?? '' };
        if (key === 'labelKey') label.key = v;
        else label.value = v;
        if (label.key || label.value) next.label = label.value ? label : { key: label.key };
        else delete next.label;
      }
      onChange(next);
    };
    return (
      <FormGroup label={`${prefix} ${label}`} fieldId={`${path}-${key}`}>
        <TextInput
          id={`${path}-${key}`}
          value={value}
          placeholder={placeholder}
          onChange={(_e, v) => set(v)}
          validated={shown(apiPath).length > 0 ? 'error' : 'default'}
        />
        <Problems messages={shown(apiPath)} />
      </FormGroup>
    );
  };
  return (
    <>
      {field('cluster', 'cluster', 'any cluster')}
      {field('namespace', 'namespace (regular expression)', 'any namespace')}
      {field('labelKey', 'label key', '')}
      {field('labelValue', 'label value', '')}
    </>
  );
}

function ScopeStep({ policy, update, shown }: EditorProps) {
  const scopes = policy.scope ?? [];
  const exclusions = policy.exclusions ?? [];
  return (
    <Form>
      <FormSection title="Scope: where the policy applies (everywhere when empty)" titleElement="h3">
        {scopes.map((s, i) => (
          <div key={i} className="stk-wizard-row" role="group" aria-label={`Scope ${i + 1}`}>
            <ScopeFields
              scope={s}
              prefix={`Scope ${i + 1}`}
              path={`scope[${i}]`}
              shown={shown}
              onChange={(n) => update({ ...policy, scope: scopes.map((x, j) => (j === i ? n : x)) }, `scope[${i}]`)}
            />
            <Button variant="link" isDanger onClick={() => update({ ...policy, scope: scopes.filter((_, j) => j !== i) }, 'scope')}>
              Remove scope {i + 1}
            </Button>
          </div>
        ))}
        <div>
          <Button variant="secondary" onClick={() => update({ ...policy, scope: [...scopes, {}] }, 'scope')}>
            Add a scope
          </Button>
        </div>
      </FormSection>
      <FormSection title="Exclusions: deployments and images the policy ignores" titleElement="h3">
        {exclusions.map((e, i) => {
          const path = `exclusions[${i}]`;
          const set = (n: typeof e) => update({ ...policy, exclusions: exclusions.map((x, j) => (j === i ? n : x)) }, path);
          return (
            <div key={i} className="stk-wizard-exclusion" role="group" aria-label={`Exclusion ${i + 1}`}>
              <Problems messages={shown(path)} />
              <div className="stk-wizard-row">
                <FormGroup label={`Exclusion ${i + 1} deployment name`} fieldId={`${path}-deployment`}>
                  <TextInput
                    id={`${path}-deployment`}
                    value={e.deployment?.name ?? ''}
                    placeholder="any deployment in the scope"
                    onChange={(_ev, v) => set({ ...e, deployment: { ...e.deployment, name: v } })}
                  />
                  <Problems messages={shown(`${path}.deployment`)} />
                </FormGroup>
                <ScopeFields
                  scope={e.deployment?.scope ?? {}}
                  prefix={`Exclusion ${i + 1}`}
                  path={`${path}.deployment.scope`}
                  shown={shown}
                  onChange={(s) => set({ ...e, deployment: { ...e.deployment, scope: Object.keys(s).length > 0 ? s : undefined } })}
                />
              </div>
              <div className="stk-wizard-row">
                <FormGroup label={`Exclusion ${i + 1} image (name prefix)`} fieldId={`${path}-image`}>
                  <TextInput
                    id={`${path}-image`}
                    value={e.image?.name ?? ''}
                    placeholder="registry.example.com/team/"
                    onChange={(_ev, v) => set({ ...e, image: v ? { name: v } : undefined })}
                  />
                  <Problems messages={shown(`${path}.image.name`)} />
                </FormGroup>
                <FormGroup label={`Exclusion ${i + 1} expires (RFC 3339)`} fieldId={`${path}-expiration`}>
                  <TextInput
                    id={`${path}-expiration`}
                    value={e.expiration ?? ''}
                    placeholder="2026-12-31T00:00:00Z; never when empty"
                    validated={shown(`${path}.expiration`).length > 0 ? 'error' : 'default'}
                    onChange={(_ev, v) => set({ ...e, expiration: v || undefined })}
                  />
                  <Problems messages={shown(`${path}.expiration`)} />
                </FormGroup>
                <Button
                  variant="link"
                  isDanger
                  onClick={() => update({ ...policy, exclusions: exclusions.filter((_, j) => j !== i) }, 'exclusions')}
                >
                  Remove exclusion {i + 1}
                </Button>
              </div>
            </div>
          );
        })}
        <div>
          <Button
            variant="secondary"
            onClick={() => update({ ...policy, exclusions: [...exclusions, { deployment: { name: '' } }] }, 'exclusions')}
          >
            Add an exclusion
          </Button>
        </div>
      </FormSection>
    </Form>
  );
}

function EnforcementStep({ policy, update, shown }: EditorProps) {
  const api = useApi();
  const notifiers = useFetch((signal) => listNotifiers(api, signal), 'notifiers');
  const actions = policy.enforcementActions ?? [];
  const chosen = policy.notifiers ?? [];
  return (
    <Form>
      {STAGES.map((stage) => (
        <FormGroup
          key={stage}
          role="group"
          isStack
          label={`Enforcement at the ${stageLabel(stage).toLowerCase()} stage`}
          fieldId={`enforce-${stage}`}
        >
          {ENFORCEMENTS.filter((e) => e.stage === stage).map((e) => {
            const valid = e.valid(policy);
            return (
              <Checkbox
                key={e.action}
                id={`enforce-${e.action}`}
                label={e.label}
                description={valid ? e.help : `${e.help} Not available for this policy’s stages and criteria.`}
                isDisabled={!valid && !actions.includes(e.action)}
                isChecked={actions.includes(e.action)}
                onChange={(_ev, on) =>
                  update(
                    { ...policy, enforcementActions: on ? [...actions, e.action] : actions.filter((a) => a !== e.action) },
                    'enforcementActions',
                  )
                }
              />
            );
          })}
        </FormGroup>
      ))}
      <Problems messages={shown('enforcementActions', true)} />
      <FormGroup role="group" isStack label="Notifiers" fieldId="policy-notifiers">
        {notifiers.error !== undefined && (
          <PFAlert isInline variant="warning" title={`Notifiers could not be loaded: ${errorMessage(notifiers.error)}`} />
        )}
        {notifiers.data && notifiers.data.notifiers.length === 0 && <p>No notifiers are configured.</p>}
        {notifiers.data?.notifiers.map((n) => (
          <Checkbox
            key={n.id}
            id={`notifier-${n.id}`}
            label={`${n.name} (${n.type})`}
            isChecked={chosen.includes(n.id)}
            onChange={(_ev, on) => update({ ...policy, notifiers: on ? [...chosen, n.id] : chosen.filter((x) => x !== n.id) }, 'notifiers')}
          />
        ))}
      </FormGroup>
    </Form>
  );
}

function ReviewStep({ policy, errors }: { policy: Policy; errors: FieldError[] }) {
  const api = useApi();
  const [dry, setDry] = useState<{ result?: DryRunResult; error?: unknown; running: boolean }>({ running: false });
  const run = useCallback(async () => {
    setDry({ running: true });
    try {
      setDry({ running: false, result: await dryRunPolicy(api, toPolicyJSON(policy)) });
    } catch (err) {
      setDry({ running: false, error: err });
    }
  }, [api, policy]);
  const valid = errors.length === 0;
  return (
    <>
      <Title headingLevel="h3" size="md">
        {policy.name || 'Unnamed policy'}
      </Title>
      <Content component="p">
        {severityLabel(policy.severity)} · {(policy.lifecycleStages ?? []).map(stageLabel).join(', ')} ·{' '}
        {plural(
          policy.policySections.reduce((n, s) => n + s.policyGroups.length, 0),
          'criterion',
          'criteria',
        )}{' '}
        in {plural(policy.policySections.length, 'section')} · {plural((policy.enforcementActions ?? []).length, 'enforcement action')}
      </Content>
      {!valid && (
        <PFAlert isInline variant="danger" title="The policy has problems; fix them before saving" className="pf-v6-u-mb-md">
          <ul>
            {errors.map((e, i) => (
              <li key={i}>
                <code>{e.path}</code>: {e.message}
              </li>
            ))}
          </ul>
        </PFAlert>
      )}
      <Title headingLevel="h3" size="md" className="pf-v6-u-mt-md">
        Dry run
      </Title>
      <Content component="p">Which deployments Central knows would violate this policy, evaluated now without saving it.</Content>
      <Button variant="secondary" onClick={run} isLoading={dry.running} isDisabled={dry.running || !valid}>
        Run the dry run
      </Button>
      {dry.error !== undefined && (
        <PFAlert isInline variant="danger" className="pf-v6-u-mt-md" title={`The dry run failed: ${errorMessage(dry.error)}`} />
      )}
      {dry.result && (
        <div className="pf-v6-u-mt-md" aria-live="polite">
          <Content component="p" data-testid="dryrun-summary">
            {plural(dry.result.alerts.length, 'deployment')} of {dry.result.deploymentsEvaluated} would violate the policy.
            {!dry.result.evaluable && ' The policy needs image or runtime data, which a dry run does not evaluate.'}
          </Content>
          {dry.result.alerts.length > 0 && (
            <Table aria-label="Deployments that would violate the policy" variant="compact" data-testid="dryrun-table">
              <Thead>
                <Tr>
                  <Th modifier="wrap">Deployment</Th>
                  <Th modifier="wrap">Cluster / namespace</Th>
                  <Th modifier="wrap">Violations</Th>
                </Tr>
              </Thead>
              <Tbody>
                {dry.result.alerts.map((a) => (
                  <Tr key={a.deployment.id}>
                    <Td dataLabel="Deployment">{a.deployment.name}</Td>
                    <Td dataLabel="Cluster / namespace">
                      {[a.deployment.clusterName, a.deployment.namespace].filter(Boolean).join(' / ')}
                    </Td>
                    <Td dataLabel="Violations">{a.violations.join('; ')}</Td>
                  </Tr>
                ))}
              </Tbody>
            </Table>
          )}
        </div>
      )}
    </>
  );
}

/** The review step's footer: Save, and a jump to the step of the first problem the server reports. */
function SaveFooter({ onSave, onCancel, saving }: { onSave: () => Promise<StepId | undefined>; onCancel: () => void; saving: boolean }) {
  const { activeStep, goToPrevStep, goToStepById } = useWizardContext();
  return (
    <WizardFooter
      activeStep={activeStep}
      onNext={async () => {
        const step = await onSave();
        if (step && step !== 'review') goToStepById(step);
      }}
      onBack={goToPrevStep}
      onClose={onCancel}
      nextButtonText="Save"
      nextButtonProps={{ isLoading: saving }}
      isNextDisabled={saving}
    />
  );
}

function PolicyWizard({ initial, criteria, mode }: { initial: Policy; criteria: Criterion[]; mode: 'create' | 'edit' }) {
  const api = useApi();
  const navigate = useNavigate();
  const [policy, setPolicy] = useState(initial);
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [touched, setTouched] = useState<Set<string>>(() => new Set());
  const [visited, setVisited] = useState<Set<StepId>>(() => new Set());
  const [showAll, setShowAll] = useState(false);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<string | null>(null);
  const locked = mode === 'edit' && !!initial.criteriaLocked;

  // Central validates the policy once typing pauses; the answer replaces
  // the last one unless the policy changed meanwhile.
  const generation = useRef(0);
  useEffect(() => {
    const gen = ++generation.current;
    const ctrl = new AbortController();
    const timer = setTimeout(() => {
      validatePolicy(api, toPolicyJSON(policy), ctrl.signal).then(
        (res) => {
          if (gen === generation.current) setErrors(res.errors);
        },
        (err: unknown) => {
          if (gen !== generation.current || ctrl.signal.aborted) return;
          setErrors(err instanceof ApiError && err.details.length > 0 ? err.details : [{ path: '', message: errorMessage(err) }]);
        },
      );
    }, VALIDATE_DELAY_MS);
    return () => {
      clearTimeout(timer);
      ctrl.abort();
    };
  }, [api, policy]);

  const update = useCallback((p: Policy, path?: string) => {
    setPolicy(p);
    if (path) setTouched((t) => (t.has(path) ? t : new Set(t).add(path)));
  }, []);

  // An error shows once its field was edited, its step left, or a save tried.
  const visible = useCallback(
    (path: string) =>
      showAll ||
      visited.has(stepOfPath(path)) ||
      [...touched].some((t) => path === t || path.startsWith(`${t}.`) || path.startsWith(`${t}[`)),
    [showAll, visited, touched],
  );
  const shown = useCallback(
    (path: string, below = false) =>
      errors.filter((e) => (below ? messagesUnder([e], path).length > 0 : e.path === path) && visible(e.path)).map((e) => e.message),
    [errors, visible],
  );
  const stepHasErrors = (id: StepId) => errors.some((e) => stepOfPath(e.path) === id && visible(e.path));

  const save = async (): Promise<StepId | undefined> => {
    setShowAll(true);
    setSaveError(null);
    setSaving(true);
    try {
      const body = toPolicyJSON(policy);
      const saved = mode === 'edit' ? await replacePolicy(api, initial.id, body) : await createPolicy(api, body);
      navigate(`/policies/${encodeURIComponent(saved.id)}`, { state: { saved: mode } });
      return undefined;
    } catch (err) {
      let details: FieldError[] = err instanceof ApiError ? err.details : [];
      if (err instanceof ApiError && err.status === 409) details = [{ path: 'name', message: err.message }];
      if (details.length > 0) setErrors(details);
      setSaveError(`The policy could not be saved: ${errorMessage(err)}`);
      const first = details[0];
      return first ? stepOfPath(first.path) : 'review';
    } finally {
      setSaving(false);
    }
  };
  const cancel = () => navigate(mode === 'edit' ? `/policies/${encodeURIComponent(initial.id)}` : '/policies');
  const props: EditorProps = { policy, update, shown, locked };
  const bodies: Record<StepId, ReactNode> = {
    details: <DetailsStep {...props} />,
    lifecycle: <LifecycleStep {...props} />,
    criteria: <CriteriaStep {...props} criteria={criteria} />,
    scope: <ScopeStep {...props} />,
    enforcement: <EnforcementStep {...props} />,
    review: <ReviewStep policy={policy} errors={errors} />,
  };

  return (
    <>
      {saveError && <PFAlert isInline variant="danger" title={saveError} className="pf-v6-u-mb-md" data-testid="save-error" />}
      <Wizard
        navAriaLabel="Policy wizard steps"
        onClose={cancel}
        isVisitRequired={mode === 'create'}
        onStepChange={(_e, _current, prev) => setVisited((v) => new Set(v).add(prev.id as StepId))}
      >
        {STEPS.map((s) => (
          <WizardStep
            key={s.id}
            id={s.id}
            name={s.name}
            status={stepHasErrors(s.id) ? 'error' : 'default'}
            footer={s.id === 'review' ? <SaveFooter onSave={save} onCancel={cancel} saving={saving} /> : undefined}
          >
            <Title headingLevel="h2" size="lg" className="pf-v6-u-mb-md">
              {s.name}
            </Title>
            {bodies[s.id]}
          </WizardStep>
        ))}
      </Wizard>
    </>
  );
}

/** Creates (/policies/new, ?clone=ID to start from a copy) or edits (/policies/:id/edit) a policy. */
export function PolicyWizardPage() {
  const { id } = useParams();
  const [search] = useSearchParams();
  const cloneOf = search.get('clone') ?? '';
  const api = useApi();
  const source = id ?? cloneOf;
  const mode = id ? 'edit' : 'create';
  const criteria = useFetch((signal) => getCriteria(api, signal), 'criteria');
  const loaded = useFetch((signal) => (source ? getPolicy(api, source, signal) : Promise.resolve(undefined)), source);

  const title = mode === 'edit' ? `Edit ${loaded.data?.name ?? 'policy'}` : cloneOf ? 'Clone policy' : 'Create policy';
  let body: ReactNode;
  if (criteria.error !== undefined || loaded.error !== undefined) {
    body = (
      <ErrorState
        title="The policy editor could not be loaded"
        error={criteria.error ?? loaded.error}
        onRetry={() => {
          criteria.reload();
          loaded.reload();
        }}
      />
    );
  } else if (!criteria.data || (source && !loaded.data) || loaded.loading) {
    body = <LoadingState label="Loading the policy editor" />;
  } else {
    const initial = loaded.data ? (mode === 'edit' ? loaded.data : clonePolicy(loaded.data)) : emptyPolicy();
    body = <PolicyWizard key={`${mode}:${source}`} initial={initial} criteria={criteria.data.criteria} mode={mode} />;
  }
  return (
    <>
      <PageSection>
        <Breadcrumb>
          <BreadcrumbItem render={() => <Link to="/policies">Policies</Link>} />
          {mode === 'edit' && loaded.data && (
            <BreadcrumbItem render={() => <Link to={`/policies/${encodeURIComponent(loaded.data?.id ?? '')}`}>{loaded.data?.name}</Link>} />
          )}
          <BreadcrumbItem isActive>{mode === 'edit' ? 'Edit' : 'New'}</BreadcrumbItem>
        </Breadcrumb>
        <Title headingLevel="h1" className="pf-v6-u-mt-md">
          {title}
        </Title>
      </PageSection>
      <PageSection isFilled>{body}</PageSection>
    </>
  );
}
