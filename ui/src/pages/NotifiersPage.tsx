import { Alert, Button, Content } from '@patternfly/react-core';
import { Td, Tr } from '@patternfly/react-table';
import { useState } from 'react';
import { errorMessage } from '../api/client';
import { deleteNotifier, listNotifierPage, saveNotifier, testNotifier } from '../api/config';
import { useApi } from '../api/context';
import { useCanWrite } from '../auth/AuthContext';
import { retryDeadDeliveries } from '../api/endpoints';
import type { Notifier } from '../api/types';
import { FilterSelect, SearchFilter } from '../components/Filters';
import { ConfirmModal, SpecFormModal, type FormStart } from '../components/SpecForm';
import { NOTIFIER_TYPES, payload, specOf, valuesFrom } from '../config/fields';
import { formatTime, plural } from '../format';
import { useFetch } from '../hooks/useFetch';
import { useListParams } from '../hooks/useListParams';
import { ConfigList, type Column } from './config/ConfigList';

/** What the last action did, for the live region above the table. */
interface Outcome {
  ok: boolean;
  text: string;
}

const FILTERS = ['query', 'type'] as const;

const COLUMNS: readonly Column[] = [
  { title: 'Name', sort: { asc: 'name', desc: '-name', first: 'asc' } },
  { title: 'Type', sort: { asc: 'type', desc: '-type', first: 'asc' } },
  { title: 'Pending', sort: { asc: 'pending', desc: '-pending', first: 'desc' } },
  { title: 'Delivered' },
  { title: 'Folded' },
  { title: 'Dead', sort: { asc: 'dead', desc: '-dead', first: 'desc' } },
  { title: 'Last error' },
  { title: '' },
];

function typeLabel(type: string): string {
  return NOTIFIER_TYPES.find((t) => t.type === type)?.label ?? type;
}

/**
 * Where alerts go and how their delivery stands: messages pending, delivered,
 * folded into storm summaries and dead-lettered, with the last error in the
 * remote's own words, and a retry of the dead letters. Notifiers are created,
 * edited, tested and deleted here, with a form drawn from each type's fields.
 */
export function NotifiersPage() {
  const api = useApi();
  const canWrite = useCanWrite();
  const list = useListParams(FILTERS, 'name');
  const { filters } = list;
  const notifiers = useFetch(
    (signal) => listNotifierPage(api, { ...filters, sort: list.sort, offset: list.offset, limit: list.perPage }, signal),
    list.key,
  );
  const [busy, setBusy] = useState('');
  const [outcome, setOutcome] = useState<Outcome>();
  const [form, setForm] = useState<FormStart & { title: string }>();
  const [deleting, setDeleting] = useState<Notifier>();

  async function retry(n: Notifier) {
    setBusy(n.id);
    try {
      const res = await retryDeadDeliveries(api, n.id);
      setOutcome({ ok: true, text: `${plural(res.retried, 'dead message', 'dead messages')} of ${n.name} queued again.` });
      notifiers.reload();
    } catch (err) {
      setOutcome({ ok: false, text: `Retrying the dead messages of ${n.name} failed: ${errorMessage(err)}` });
    } finally {
      setBusy('');
    }
  }

  /** Sends a test message through a stored notifier, with its stored secrets. */
  async function test(n: Notifier) {
    setBusy(n.id);
    setOutcome(undefined);
    const spec = specOf(NOTIFIER_TYPES, n.type);
    try {
      const res = await testNotifier(api, payload(spec, valuesFrom(spec, n), { id: n.id, name: n.name }));
      setOutcome({ ok: true, text: `${n.name}: ${res.message}` });
    } catch (err) {
      setOutcome({ ok: false, text: `${n.name}: ${errorMessage(err)}` });
    } finally {
      setBusy('');
    }
  }

  const edit = (n: Notifier) =>
    setForm({ title: `Edit ${n.name}`, id: n.id, name: n.name, type: n.type, values: valuesFrom(specOf(NOTIFIER_TYPES, n.type), n) });

  return (
    <>
      <ConfigList
        title="Notifiers"
        intro="Where policies send their alerts. Messages that cannot be delivered are retried with backoff, then dead-lettered with the remote's last answer."
        one="notifier"
        many="notifiers"
        list={list}
        fetched={notifiers}
        items={notifiers.data?.notifiers}
        total={notifiers.data?.total ?? 0}
        filtered={FILTERS.some((f) => filters[f] !== '')}
        outcome={outcome && <Alert isInline isPlain variant={outcome.ok ? 'success' : 'danger'} title={outcome.text} />}
        filters={
          <>
            <SearchFilter
              key={filters.query}
              value={filters.query}
              placeholder="Search name or type"
              onSearch={(query) => list.setFilters({ query })}
            />
            <FilterSelect
              name="Type"
              value={filters.type}
              options={NOTIFIER_TYPES.map((t) => ({ value: t.type, label: t.label }))}
              onChange={(type) => list.setFilters({ type })}
            />
          </>
        }
        actions={
          canWrite && (
            <Button variant="primary" onClick={() => setForm({ title: 'New notifier', name: '', type: 'generic' })}>
              New notifier
            </Button>
          )
        }
        columns={COLUMNS}
        empty="Create one, then name it in a policy's notifiers."
        row={(n: Notifier) => (
          <Tr key={n.id}>
            <Td dataLabel="Name">{n.name}</Td>
            <Td dataLabel="Type">{typeLabel(n.type)}</Td>
            <Td dataLabel="Pending">{n.status.pending}</Td>
            <Td dataLabel="Delivered">{n.status.delivered}</Td>
            <Td dataLabel="Folded">{n.status.folded}</Td>
            <Td dataLabel="Dead">{n.status.dead}</Td>
            <Td dataLabel="Last error">
              {n.status.unusable ? `Not usable: ${n.status.unusable}` : n.status.lastError || '—'}
              {n.status.lastErrorAt && <Content component="small"> ({formatTime(n.status.lastErrorAt)})</Content>}
            </Td>
            <Td dataLabel="Actions" isActionCell>
              {canWrite && (
                <>
                  {n.status.dead > 0 && (
                    <Button
                      variant="secondary"
                      size="sm"
                      isLoading={busy === n.id}
                      isDisabled={busy !== ''}
                      aria-label={`Retry the dead messages of ${n.name}`}
                      onClick={() => void retry(n)}
                    >
                      Retry dead messages
                    </Button>
                  )}{' '}
                  <Button variant="secondary" size="sm" aria-label={`Test ${n.name}`} isDisabled={busy !== ''} onClick={() => void test(n)}>
                    Test
                  </Button>{' '}
                  <Button variant="link" size="sm" aria-label={`Edit ${n.name}`} onClick={() => edit(n)}>
                    Edit
                  </Button>{' '}
                  <Button variant="link" isDanger size="sm" aria-label={`Delete ${n.name}`} onClick={() => setDeleting(n)}>
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
          kind="notifier"
          specs={NOTIFIER_TYPES}
          start={form}
          onSave={async (body) => {
            const saved = await saveNotifier(api, body, form.id);
            setOutcome({ ok: true, text: `${saved.name} saved.` });
            notifiers.reload();
          }}
          onTest={(body) => testNotifier(api, body)}
          onClose={() => setForm(undefined)}
        />
      )}
      {deleting && (
        <ConfirmModal
          title={`Delete ${deleting.name}?`}
          action="Delete"
          onClose={() => setDeleting(undefined)}
          onConfirm={async () => {
            await deleteNotifier(api, deleting.id);
            setOutcome({ ok: true, text: `${deleting.name} deleted.` });
            notifiers.reload();
          }}
        >
          Its pending messages are dropped. A notifier that a policy still sends to cannot be deleted: remove it from the policy first.
        </ConfirmModal>
      )}
    </>
  );
}
