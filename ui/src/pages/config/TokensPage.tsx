import {
  Alert,
  Button,
  ClipboardCopy,
  Form,
  FormGroup,
  FormHelperText,
  FormSelect,
  FormSelectOption,
  HelperText,
  HelperTextItem,
  Label,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
  TextInput,
} from '@patternfly/react-core';
import { Td, Tr } from '@patternfly/react-table';
import { useState, type FormEvent } from 'react';
import { ApiError, errorMessage } from '../../api/client';
import { ROLES, generateToken, listTokens, revokeToken, type ApiToken } from '../../api/config';
import { useApi } from '../../api/context';
import { useCanWrite } from '../../auth/AuthContext';
import { FilterSelect, SearchFilter } from '../../components/Filters';
import { ConfirmModal } from '../../components/SpecForm';
import { formatTime } from '../../format';
import { useFetch } from '../../hooks/useFetch';
import { useListParams } from '../../hooks/useListParams';
import { ConfigList, type Column } from './ConfigList';

const FILTERS = ['query', 'role', 'revoked'] as const;

const COLUMNS: readonly Column[] = [
  { title: 'Name', sort: { asc: 'name', desc: '-name', first: 'asc' } },
  { title: 'Role', sort: { asc: 'role', desc: '-role', first: 'asc' } },
  { title: 'Created', sort: { asc: 'issuedAt', desc: '-issuedAt', first: 'desc' } },
  { title: 'Expires', sort: { asc: 'expiration', desc: '-expiration', first: 'asc' } },
  { title: 'Status' },
  { title: '' },
];

/** Expiration choices, in days; 0 is never. */
const EXPIRATIONS = [
  { days: 30, label: '30 days' },
  { days: 90, label: '90 days' },
  { days: 365, label: 'One year' },
  { days: 0, label: 'Never' },
];

function GenerateModal({ onGenerated, onClose }: { onGenerated: (token: string, meta: ApiToken) => void; onClose: () => void }) {
  const api = useApi();
  const [name, setName] = useState('');
  const [role, setRole] = useState<string>('Continuous Integration');
  const [days, setDays] = useState('90');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (name.trim() === '') {
      setErrors({ name: 'is required' });
      return;
    }
    setBusy(true);
    setFailure('');
    setErrors({});
    const expiration = days === '0' ? undefined : new Date(Date.now() + Number(days) * 86_400_000).toISOString();
    try {
      const res = await generateToken(api, { name: name.trim(), role, expiration });
      onGenerated(res.token, res.metadata);
    } catch (err) {
      if (err instanceof ApiError) setErrors(Object.fromEntries(err.details.map((d) => [d.path, d.message])));
      setFailure(errorMessage(err));
      setBusy(false);
    }
  };
  return (
    <Modal isOpen onClose={onClose} variant="small" aria-labelledby="generate-title">
      <ModalHeader
        title="Generate an API token"
        labelId="generate-title"
        description="For the CLI, CI pipelines and scripts; it signs in with the role you give it."
      />
      <ModalBody>
        <Form id="generate-form" onSubmit={(e) => void submit(e)} noValidate>
          {failure && <Alert isInline variant="danger" title={failure} />}
          <FormGroup label="Name" isRequired fieldId="token-name">
            <TextInput
              id="token-name"
              value={name}
              isRequired
              validated={errors.name ? 'error' : 'default'}
              onChange={(_e, v) => setName(v)}
            />
            {errors.name && (
              <FormHelperText>
                <HelperText>
                  <HelperTextItem variant="error">{errors.name}</HelperTextItem>
                </HelperText>
              </FormHelperText>
            )}
          </FormGroup>
          <FormGroup label="Role" isRequired fieldId="token-role">
            <FormSelect id="token-role" value={role} onChange={(_e, v) => setRole(v)}>
              {ROLES.map((r) => (
                <FormSelectOption key={r} value={r} label={r} />
              ))}
            </FormSelect>
          </FormGroup>
          <FormGroup label="Expires after" fieldId="token-expiration">
            <FormSelect id="token-expiration" value={days} onChange={(_e, v) => setDays(v)}>
              {EXPIRATIONS.map((x) => (
                <FormSelectOption key={x.days} value={String(x.days)} label={x.label} />
              ))}
            </FormSelect>
          </FormGroup>
        </Form>
      </ModalBody>
      <ModalFooter>
        <Button type="submit" form="generate-form" variant="primary" isLoading={busy} isDisabled={busy}>
          Generate
        </Button>
        <Button variant="link" onClick={onClose}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}

/** The token, shown this once, with a copy button. */
function ShowTokenModal({ token, meta, onClose }: { token: string; meta: ApiToken; onClose: () => void }) {
  return (
    <Modal isOpen onClose={onClose} variant="medium" aria-labelledby="token-title">
      <ModalHeader title={`API token ${meta.name}`} labelId="token-title" />
      <ModalBody>
        <Alert isInline variant="warning" title="Copy the token now: it is shown only this once.">
          Central keeps only a hash of it. If it is lost, revoke it and generate another.
        </Alert>
        <ClipboardCopy
          isReadOnly
          hoverTip="Copy"
          clickTip="Copied"
          textAriaLabel="The new API token"
          toggleAriaLabel="Show the token"
          className="pf-v6-u-mt-md"
        >
          {token}
        </ClipboardCopy>
      </ModalBody>
      <ModalFooter>
        <Button variant="primary" onClick={onClose}>
          Done
        </Button>
      </ModalFooter>
    </Modal>
  );
}

/** API tokens: generate (shown once), list and revoke. */
export function TokensPage() {
  const api = useApi();
  const canWrite = useCanWrite();
  const list = useListParams(FILTERS, '-issuedAt');
  const { filters } = list;
  const fetched = useFetch(
    (signal) => listTokens(api, { ...filters, sort: list.sort, offset: list.offset, limit: list.perPage }, signal),
    list.key,
  );
  const [generating, setGenerating] = useState(false);
  const [shown, setShown] = useState<{ token: string; meta: ApiToken }>();
  const [revoking, setRevoking] = useState<ApiToken>();
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string }>();

  return (
    <>
      <ConfigList
        title="API tokens"
        intro="Tokens for the CLI, CI pipelines and scripts. Each signs in with its role until it expires or is revoked."
        one="token"
        many="tokens"
        list={list}
        fetched={fetched}
        items={fetched.data?.tokens}
        total={fetched.data?.total ?? 0}
        filtered={FILTERS.some((f) => filters[f] !== '')}
        outcome={outcome && <Alert isInline isPlain variant={outcome.ok ? 'success' : 'danger'} title={outcome.text} />}
        filters={
          <>
            <SearchFilter
              key={filters.query}
              value={filters.query}
              placeholder="Search name or role"
              onSearch={(query) => list.setFilters({ query })}
            />
            <FilterSelect
              name="Role"
              value={filters.role}
              options={ROLES.map((r) => ({ value: r, label: r }))}
              onChange={(role) => list.setFilters({ role })}
            />
            <FilterSelect
              name="Status"
              value={filters.revoked}
              options={[
                { value: 'false', label: 'Not revoked' },
                { value: 'true', label: 'Revoked' },
              ]}
              onChange={(revoked) => list.setFilters({ revoked })}
            />
          </>
        }
        actions={
          canWrite && (
            <Button variant="primary" onClick={() => setGenerating(true)}>
              Generate token
            </Button>
          )
        }
        columns={COLUMNS}
        empty="Generate one for the CLI or a CI pipeline."
        row={(t: ApiToken) => {
          const expired = !t.revoked && t.expiration !== undefined && new Date(t.expiration) < new Date();
          return (
            <Tr key={t.id}>
              <Td dataLabel="Name">{t.name}</Td>
              <Td dataLabel="Role">{t.role}</Td>
              <Td dataLabel="Created">{formatTime(t.issuedAt)}</Td>
              <Td dataLabel="Expires">{t.expiration ? formatTime(t.expiration) : 'Never'}</Td>
              <Td dataLabel="Status">
                {t.revoked ? (
                  <Label color="red" variant="outline">
                    Revoked {t.revokedAt ? formatTime(t.revokedAt) : ''}
                  </Label>
                ) : expired ? (
                  <Label color="orange" variant="outline">
                    Expired
                  </Label>
                ) : (
                  <Label color="green" variant="outline">
                    Valid
                  </Label>
                )}
              </Td>
              <Td dataLabel="Actions" isActionCell>
                {canWrite && (
                  <>
                    {!t.revoked && (
                      <Button variant="link" isDanger size="sm" aria-label={`Revoke ${t.name}`} onClick={() => setRevoking(t)}>
                        Revoke
                      </Button>
                    )}
                  </>
                )}
              </Td>
            </Tr>
          );
        }}
      />
      {generating && (
        <GenerateModal
          onClose={() => setGenerating(false)}
          onGenerated={(token, meta) => {
            setGenerating(false);
            setShown({ token, meta });
            fetched.reload();
          }}
        />
      )}
      {shown && <ShowTokenModal token={shown.token} meta={shown.meta} onClose={() => setShown(undefined)} />}
      {revoking && (
        <ConfirmModal
          title={`Revoke ${revoking.name}?`}
          action="Revoke"
          onClose={() => setRevoking(undefined)}
          onConfirm={async () => {
            await revokeToken(api, revoking.id);
            setOutcome({ ok: true, text: `${revoking.name} revoked.` });
            fetched.reload();
          }}
        >
          Everything that signs in with this token is refused from now on, and the dashboard sessions opened with it end. This cannot be
          undone.
        </ConfirmModal>
      )}
    </>
  );
}
