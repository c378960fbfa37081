import { Alert, Button, Content, Label } from '@patternfly/react-core';
import { Td, Tr } from '@patternfly/react-table';
import { useState } from 'react';
import { errorMessage } from '../../api/client';
import { deleteIntegration, listIntegrations, saveIntegration, testIntegration, type ImageIntegration } from '../../api/config';
import { useApi } from '../../api/context';
import { useCanWrite } from '../../auth/AuthContext';
import { FilterSelect, SearchFilter } from '../../components/Filters';
import { ConfirmModal, SpecFormModal, type FormStart } from '../../components/SpecForm';
import { INTEGRATION_TYPES, payload, specOf, valuesFrom } from '../../config/fields';
import { formatTime } from '../../format';
import { useFetch } from '../../hooks/useFetch';
import { useListParams } from '../../hooks/useListParams';
import { ConfigList, type Column } from './ConfigList';

const FILTERS = ['query', 'type'] as const;

const COLUMNS: readonly Column[] = [
  { title: 'Name', sort: { asc: 'name', desc: '-name', first: 'asc' } },
  { title: 'Type', sort: { asc: 'type', desc: '-type', first: 'asc' } },
  { title: 'Registry endpoint', sort: { asc: 'endpoint', desc: '-endpoint', first: 'asc' } },
  { title: 'Last test', sort: { asc: 'lastTest', desc: '-lastTest', first: 'desc' } },
  { title: '' },
];

/** The label of a registry type. */
export function integrationTypeLabel(type: string): string {
  return INTEGRATION_TYPES.find((t) => t.type === type)?.label ?? type;
}

/** The registries Central scans images from, and the credentials it uses. */
export function IntegrationsPage() {
  const api = useApi();
  const canWrite = useCanWrite();
  const list = useListParams(FILTERS, 'name');
  const { filters } = list;
  const fetched = useFetch(
    (signal) => listIntegrations(api, { ...filters, sort: list.sort, offset: list.offset, limit: list.perPage }, signal),
    list.key,
  );
  const [form, setForm] = useState<FormStart & { title: string }>();
  const [deleting, setDeleting] = useState<ImageIntegration>();
  const [testing, setTesting] = useState('');
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string }>();

  const edit = (i: ImageIntegration) =>
    setForm({ title: `Edit ${i.name}`, id: i.id, name: i.name, type: i.type, values: valuesFrom(specOf(INTEGRATION_TYPES, i.type), i) });

  /** Tests a stored integration with its stored secrets. */
  const test = async (i: ImageIntegration) => {
    setTesting(i.id);
    setOutcome(undefined);
    const spec = specOf(INTEGRATION_TYPES, i.type);
    const body = payload(spec, valuesFrom(spec, i), { id: i.id, name: i.name });
    try {
      const res = await testIntegration(api, body);
      setOutcome({ ok: true, text: `${i.name}: ${res.message}` });
    } catch (err) {
      setOutcome({ ok: false, text: `${i.name}: ${errorMessage(err)}` });
    } finally {
      setTesting('');
      fetched.reload();
    }
  };

  return (
    <>
      <ConfigList
        title="Image integrations"
        intro="The registries Central pulls images from to scan them, and how it logs in. Secrets are stored encrypted and never shown again."
        one="integration"
        many="integrations"
        list={list}
        fetched={fetched}
        items={fetched.data?.integrations}
        total={fetched.data?.total ?? 0}
        filtered={FILTERS.some((f) => filters[f] !== '')}
        outcome={outcome && <Alert isInline isPlain variant={outcome.ok ? 'success' : 'danger'} title={outcome.text} />}
        filters={
          <>
            <SearchFilter
              key={filters.query}
              value={filters.query}
              placeholder="Search name, type or endpoint"
              onSearch={(query) => list.setFilters({ query })}
            />
            <FilterSelect
              name="Type"
              value={filters.type}
              options={INTEGRATION_TYPES.map((t) => ({ value: t.type, label: t.label }))}
              onChange={(type) => list.setFilters({ type })}
            />
          </>
        }
        actions={
          canWrite && (
            <Button variant="primary" onClick={() => setForm({ title: 'New image integration', name: '', type: 'docker' })}>
              New integration
            </Button>
          )
        }
        columns={COLUMNS}
        empty="Add the registries your images come from, so Central can scan them."
        row={(i: ImageIntegration) => (
          <Tr key={i.id}>
            <Td dataLabel="Name">{i.name}</Td>
            <Td dataLabel="Type">{integrationTypeLabel(i.type)}</Td>
            <Td dataLabel="Registry endpoint">{i.endpoint || <Content component="small">(the type&apos;s registry)</Content>}</Td>
            <Td dataLabel="Last test">
              {i.lastTest ? (
                <>
                  <Label color={i.lastTest.ok ? 'green' : 'red'} variant="outline">
                    {i.lastTest.ok ? 'Passed' : 'Failed'}
                  </Label>{' '}
                  <Content component="small">
                    {formatTime(i.lastTest.at)}: {i.lastTest.message}
                  </Content>
                </>
              ) : (
                'Never tested'
              )}
            </Td>
            <Td dataLabel="Actions" isActionCell>
              {canWrite && (
                <>
                  <Button
                    variant="secondary"
                    size="sm"
                    aria-label={`Test ${i.name}`}
                    isLoading={testing === i.id}
                    isDisabled={testing !== ''}
                    onClick={() => void test(i)}
                  >
                    Test
                  </Button>{' '}
                  <Button variant="link" size="sm" aria-label={`Edit ${i.name}`} onClick={() => edit(i)}>
                    Edit
                  </Button>{' '}
                  <Button variant="link" isDanger size="sm" aria-label={`Delete ${i.name}`} onClick={() => setDeleting(i)}>
                    Delete
                  </Button>
                </>
              )}
            </Td>
          </Tr>
        )}
      />
      {form && (
        <SpecFormModal
          title={form.title}
          kind="integration"
          specs={INTEGRATION_TYPES}
          start={form}
          onSave={async (body) => {
            const saved = await saveIntegration(api, body, form.id);
            setOutcome({ ok: true, text: `${saved.name} saved.` });
            fetched.reload();
          }}
          onTest={(body) => testIntegration(api, body)}
          onClose={() => setForm(undefined)}
        />
      )}
      {deleting && (
        <ConfirmModal
          title={`Delete ${deleting.name}?`}
          action="Delete"
          onClose={() => setDeleting(undefined)}
          onConfirm={async () => {
            await deleteIntegration(api, deleting.id);
            setOutcome({ ok: true, text: `${deleting.name} deleted.` });
            fetched.reload();
          }}
        >
          Central stops using these credentials at once; images of this registry that need them can no longer be scanned.
        </ConfirmModal>
      )}
    </>
  );
}
