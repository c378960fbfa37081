import {
  Alert,
  Button,
  Checkbox,
  Form,
  FormGroup,
  FormHelperText,
  FormSelect,
  FormSelectOption,
  HelperText,
  HelperTextItem,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
  TextArea,
  TextInput,
} from '@patternfly/react-core';
import { MinusCircleIcon, PlusCircleIcon } from '@patternfly/react-icons';
import { useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, errorMessage } from '../api/client';
import type { TestResult } from '../api/config';
import {
  MASK,
  emptyValues,
  fieldForPath,
  payload,
  specOf,
  validate,
  visibleFields,
  type FieldSpec,
  type Pair,
  type TypeSpec,
  type Values,
} from '../config/fields';

/** A field id safe for the DOM, from a form prefix and a field path. */
function fieldId(prefix: string, path: string): string {
  return `${prefix}-${path.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

function FieldHelp({ error, help }: { error?: string; help?: ReactNode }) {
  if (!error && !help) return null;
  return (
    <FormHelperText>
      <HelperText>
        <HelperTextItem variant={error ? 'error' : 'default'}>{error ?? help}</HelperTextItem>
      </HelperText>
    </FormHelperText>
  );
}

function PairsInput({ id, field, rows, onChange }: { id: string; field: FieldSpec; rows: Pair[]; onChange: (rows: Pair[]) => void }) {
  const [keyLabel, valueLabel] = field.pairLabels ?? ['Key', 'Value'];
  const update = (i: number, change: Partial<Pair>) => onChange(rows.map((r, j) => (j === i ? { ...r, ...change } : r)));
  return (
    <div id={id} className="stk-pairs">
      {rows.map((row, i) => (
        <div key={i} className="stk-pair-row">
          <TextInput aria-label={`${field.label} ${i + 1}: ${keyLabel}`} value={row.key} onChange={(_e, key) => update(i, { key })} />
          <TextInput
            aria-label={`${field.label} ${i + 1}: ${valueLabel}`}
            type={field.secretValues ? 'password' : 'text'}
            value={row.value}
            onChange={(_e, value) => update(i, { value })}
          />
          <Button
            variant="plain"
            aria-label={`Remove ${field.label} row ${i + 1}`}
            onClick={() => onChange(rows.filter((_r, j) => j !== i))}
          >
            <MinusCircleIcon />
          </Button>
        </div>
      ))}
      <Button variant="link" icon={<PlusCircleIcon />} onClick={() => onChange([...rows, { key: '', value: '' }])}>
        Add {field.label.toLowerCase()}
      </Button>
    </div>
  );
}

/** One field drawn from its description. */
function SpecField({
  prefix,
  field,
  values,
  error,
  required,
  onChange,
}: {
  prefix: string;
  field: FieldSpec;
  values: Values;
  error?: string;
  required: boolean;
  onChange: (value: Values[string]) => void;
}) {
  const id = fieldId(prefix, field.path);
  const value = values[field.path];
  const validated = error ? 'error' : 'default';
  const secret = field.kind === 'secret' || field.kind === 'secretTextarea';
  const help = secret && value === MASK ? 'Stored. Leave it to keep the stored secret, or type a new one.' : field.help;
  if (field.kind === 'bool') {
    return (
      <FormGroup fieldId={id}>
        <Checkbox id={id} label={field.label} isChecked={value === true} onChange={(_e, checked) => onChange(checked)} />
        <FieldHelp error={error} help={field.help} />
      </FormGroup>
    );
  }
  let input: ReactNode;
  switch (field.kind) {
    case 'select':
      input = (
        <FormSelect id={id} value={typeof value === 'string' ? value : ''} validated={validated} onChange={(_e, v) => onChange(v)}>
          {(field.options ?? []).map((o) => (
            <FormSelectOption key={o.value} value={o.value} label={o.label} />
          ))}
        </FormSelect>
      );
      break;
    case 'textarea':
    case 'secretTextarea':
      input = (
        <TextArea
          id={id}
          value={typeof value === 'string' ? value : ''}
          validated={validated}
          resizeOrientation="vertical"
          autoResize
          onChange={(_e, v) => onChange(v)}
        />
      );
      break;
    case 'pairs':
      input = <PairsInput id={id} field={field} rows={Array.isArray(value) ? value : []} onChange={onChange} />;
      break;
    default:
      input = (
        <TextInput
          id={id}
          type={field.kind === 'secret' ? 'password' : field.kind === 'number' ? 'number' : field.kind === 'url' ? 'url' : 'text'}
          autoComplete={field.kind === 'secret' ? 'new-password' : 'off'}
          value={typeof value === 'string' ? value : ''}
          placeholder={field.placeholder}
          validated={validated}
          isRequired={required}
          onChange={(_e, v) => onChange(v)}
        />
      );
  }
  return (
    <FormGroup
      label={field.label}
      isRequired={required}
      fieldId={field.kind === 'pairs' ? undefined : id}
      role={field.kind === 'pairs' ? 'group' : undefined}
    >
      {input}
      <FieldHelp error={error} help={help} />
    </FormGroup>
  );
}

/** What a configuration form starts from: a new object, or a stored one. */
export interface FormStart {
  id?: string;
  name: string;
  type: string;
  values?: Values;
}

/**
 * A create/edit form for a typed configuration object (a notifier, an image
 * integration) drawn from its type's field descriptions, in a modal, with
 * a test button that shows the remote's answer. Problems are shown on their
 * fields, found by the form's own checks or named by the API.
 */
export function SpecFormModal({
  title,
  kind,
  specs,
  start,
  onSave,
  onTest,
  onClose,
}: {
  title: string;
  /** "notifier", "integration": used in labels and ids. */
  kind: string;
  specs: readonly TypeSpec[];
  start: FormStart;
  onSave: (body: Record<string, unknown>) => Promise<unknown>;
  onTest: (body: Record<string, unknown>) => Promise<TestResult>;
  onClose: () => void;
}) {
  const [type, setType] = useState(start.type);
  const spec = specOf(specs, type);
  const [name, setName] = useState(start.name);
  const [values, setValues] = useState<Values>(start.values ?? emptyValues(spec));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [shown, setShown] = useState(false);
  const [busy, setBusy] = useState<'' | 'save' | 'test'>('');
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string }>();
  const prefix = `${kind}-form`;

  const check = (v: Values, n: string) => {
    const errs = validate(spec, v, n);
    setErrors(errs);
    return errs;
  };
  const change = (path: string, value: Values[string]) => {
    const next = { ...values, [path]: value };
    setValues(next);
    if (shown) check(next, name);
  };
  const changeType = (t: string) => {
    setType(t);
    setValues(emptyValues(specOf(specs, t)));
    setErrors({});
    setShown(false);
    setOutcome(undefined);
  };

  /** Checks the form and returns the API body, or undefined after showing the problems. */
  const ready = (): Record<string, unknown> | undefined => {
    setShown(true);
    const errs = check(values, name);
    if (Object.keys(errs).length > 0) {
      setOutcome({ ok: false, text: `Fix the ${Object.keys(errs).length === 1 ? 'field' : 'fields'} marked below.` });
      return undefined;
    }
    return payload(spec, values, { id: start.id, name });
  };

  const apiFailure = (what: string, err: unknown) => {
    if (err instanceof ApiError && err.details.length > 0) {
      const placed: Record<string, string> = {};
      for (const d of err.details) {
        const f = fieldForPath(spec, d.path);
        if (f) placed[f] = d.message;
      }
      setErrors(placed);
    }
    setOutcome({ ok: false, text: `${what}: ${errorMessage(err)}` });
  };

  const save = async (e?: FormEvent) => {
    e?.preventDefault();
    const body = ready();
    if (!body) return;
    setBusy('save');
    setOutcome(undefined);
    try {
      await onSave(body);
      onClose();
    } catch (err) {
      apiFailure('Not saved', err);
      setBusy('');
    }
  };

  const test = async () => {
    const body = ready();
    if (!body) return;
    setBusy('test');
    setOutcome(undefined);
    try {
      const res = await onTest(body);
      setOutcome({ ok: res.ok, text: `Test passed: ${res.message}` });
    } catch (err) {
      apiFailure('Test failed', err);
    } finally {
      setBusy('');
    }
  };

  const fields = visibleFields(spec, values);
  return (
    <Modal isOpen onClose={onClose} variant="medium" aria-labelledby={`${prefix}-title`}>
      <ModalHeader title={title} labelId={`${prefix}-title`} description={spec.description} />
      <ModalBody>
        <Form id={prefix} onSubmit={(e) => void save(e)} noValidate aria-label={title}>
          <div aria-live="polite">{outcome && <Alert isInline variant={outcome.ok ? 'success' : 'danger'} title={outcome.text} />}</div>
          <FormGroup label="Type" fieldId={`${prefix}-type`} isRequired>
            <FormSelect id={`${prefix}-type`} value={type} isDisabled={start.id !== undefined} onChange={(_e, t) => changeType(t)}>
              {specs.map((s) => (
                <FormSelectOption key={s.type} value={s.type} label={s.label} />
              ))}
            </FormSelect>
          </FormGroup>
          <FormGroup label="Name" fieldId={`${prefix}-name`} isRequired>
            <TextInput
              id={`${prefix}-name`}
              value={name}
              isRequired
              validated={errors.name ? 'error' : 'default'}
              onChange={(_e, v) => {
                setName(v);
                if (shown) check(values, v);
              }}
            />
            <FieldHelp error={errors.name} />
          </FormGroup>
          {fields.map((f) => (
            <SpecField
              key={f.path}
              prefix={prefix}
              field={f}
              values={values}
              error={errors[f.path]}
              required={typeof f.required === 'function' ? f.required(values) : f.required === true}
              onChange={(v) => change(f.path, v)}
            />
          ))}
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button type="submit" form={prefix} variant="primary" isLoading={busy === 'save'} isDisabled={busy !== ''}>
          Save
        </Button>
        <Button variant="secondary" isLoading={busy === 'test'} isDisabled={busy !== ''} onClick={() => void test()}>
          Test
        </Button>
        <Button variant="link" onClick={onClose}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}

/** A confirmation before something that cannot be undone. */
export function ConfirmModal({
  title,
  children,
  action,
  onConfirm,
  onClose,
}: {
  title: string;
  children: ReactNode;
  action: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState('');
  return (
    <Modal isOpen onClose={onClose} variant="small" aria-labelledby="confirm-title">
      <ModalHeader title={title} labelId="confirm-title" titleIconVariant="warning" />
      <ModalBody>
        {failure && <Alert isInline variant="danger" title={failure} />}
        {children}
      </ModalBody>
      <ModalFooter>
        <Button
          variant="danger"
          isLoading={busy}
          isDisabled={busy}
          onClick={() => {
            setBusy(true);
            setFailure('');
            onConfirm().then(onClose, (err: unknown) => {
              setFailure(errorMessage(err));
              setBusy(false);
            });
          }}
        >
          {action}
        </Button>
        <Button variant="link" onClick={onClose}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}
