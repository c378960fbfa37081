import { Alert, Button, Content, PageSection, Title } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useState } from 'react';
import { errorMessage } from '../api/client';
import { useApi } from '../api/context';
import { listNotifiers, retryDeadDeliveries } from '../api/endpoints';
import type { Notifier } from '../api/types';
import { EmptyListState, ErrorState, LoadingState } from '../components/StateViews';
import { formatTime, plural } from '../format';
import { useFetch } from '../hooks/useFetch';

/** What the last retry did, for the live region above the table. */
interface Outcome {
  ok: boolean;
  text: string;
}

/**
 * Where alerts go and how their delivery stands: messages pending, delivered,
 * folded into storm summaries and dead-lettered, with the last error in the
 * remote's own words, and a retry of the dead letters.
 */
export function NotifiersPage() {
  const api = useApi();
  const notifiers = useFetch((signal) => listNotifiers(api, signal), 'notifiers');
  const [busy, setBusy] = useState('');
  const [outcome, setOutcome] = useState<Outcome>();

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

  let body;
  if (notifiers.error && !notifiers.data) {
    body = <ErrorState title="The notifiers could not be loaded" error={notifiers.error} onRetry={notifiers.reload} />;
  } else if (!notifiers.data) {
    body = <LoadingState label="Loading notifiers" />;
  } else if (notifiers.data.notifiers.length === 0) {
    body = (
      <EmptyListState title="No notifiers yet" filtered={false}>
        Create one with POST /v1/notifiers (see docs/notifiers.md), then name it in a policy&apos;s notifiers.
      </EmptyListState>
    );
  } else {
    body = (
      <Table aria-label="Notifiers" variant="compact">
        <Thead>
          <Tr>
            <Th>Name</Th>
            <Th>Type</Th>
            <Th>Pending</Th>
            <Th>Delivered</Th>
            <Th>Folded</Th>
            <Th>Dead</Th>
            <Th>Last error</Th>
            <Th screenReaderText="Actions" />
          </Tr>
        </Thead>
        <Tbody>
          {notifiers.data.notifiers.map((n) => (
            <Tr key={n.id}>
              <Td dataLabel="Name">{n.name}</Td>
              <Td dataLabel="Type">{n.type}</Td>
              <Td dataLabel="Pending">{n.status.pending}</Td>
              <Td dataLabel="Delivered">{n.status.delivered}</Td>
              <Td dataLabel="Folded">{n.status.folded}</Td>
              <Td dataLabel="Dead">{n.status.dead}</Td>
              <Td dataLabel="Last error">
                {n.status.unusable ? `Not usable: ${n.status.unusable}` : n.status.lastError || '—'}
                {n.status.lastErrorAt && <Content component="small"> ({formatTime(n.status.lastErrorAt)})</Content>}
              </Td>
              <Td dataLabel="Actions">
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
                )}
              </Td>
            </Tr>
          ))}
        </Tbody>
      </Table>
    );
  }
  return (
    <>
      <PageSection>
        <Title headingLevel="h1">Notifiers</Title>
        <Content component="p">
          Where policies send their alerts. Messages that cannot be delivered are retried with backoff, then dead-lettered with the
          remote&apos;s last answer.
        </Content>
      </PageSection>
      <PageSection aria-busy={notifiers.loading}>
        <div aria-live="polite">
          {outcome && <Alert isInline isPlain variant={outcome.ok ? 'success' : 'danger'} title={outcome.text} />}
        </div>
        {body}
      </PageSection>
    </>
  );
}
