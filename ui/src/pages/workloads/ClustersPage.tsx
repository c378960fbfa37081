import { Content, PageSection, Title, Toolbar, ToolbarContent, ToolbarGroup, ToolbarItem } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { Link } from 'react-router';
import { withQuery } from '../../api/client';
import { useApi } from '../../api/context';
import { listClusters } from '../../api/workloads';
import { FilterSelect, SearchFilter } from '../../components/Filters';
import { ListBody, ListCount, ListPagination, sortProps, type SortColumn } from '../../components/ListTable';
import { EmptyListState } from '../../components/StateViews';
import { formatTime, plural } from '../../format';
import { useFetch } from '../../hooks/useFetch';
import { useListParams } from '../../hooks/useListParams';
import { AddClusterSteps } from './AddClusterSteps';
import { CLUSTER_STATUSES, statusLabel } from './format';
import { ClusterStatusLabel, ViolationCounts } from './ViolationCounts';

const FILTERS = ['query', 'status'] as const;

// The columns, in order; sortable ones name the API's sort keys.
const COLUMNS: readonly { title: string; sort?: SortColumn }[] = [
  { title: 'Cluster', sort: { asc: 'name', desc: '-name', first: 'asc' } },
  { title: 'Health', sort: { asc: 'status', desc: '-status', first: 'desc' } },
  { title: 'Last contact', sort: { asc: 'lastContact', desc: '-lastContact', first: 'desc' } },
  { title: 'Sensor / Kubernetes' },
  { title: 'Deployments', sort: { asc: '-deployments', desc: 'deployments', first: 'desc' } },
  { title: 'Namespaces' },
  { title: 'Open violations', sort: { asc: '-violations', desc: 'violations', first: 'desc' } },
];

/** The secured clusters with their health, filtered, sorted and paged by Central. */
export function ClustersPage() {
  const api = useApi();
  const list = useListParams(FILTERS, 'name');
  const { filters } = list;
  const clusters = useFetch(
    (signal) => listClusters(api, { ...filters, sort: list.sort, offset: list.offset, limit: list.perPage }, signal),
    list.key,
  );
  const filtered = FILTERS.some((f) => filters[f] !== '');
  const sortColumns = COLUMNS.map((c) => c.sort);

  const toolbar = (
    <Toolbar aria-label="Cluster filters" clearAllFilters={list.clearFilters} collapseListedFiltersBreakpoint="xl">
      <ToolbarContent>
        <ToolbarGroup variant="filter-group">
          <SearchFilter
            key={filters.query}
            value={filters.query}
            placeholder="Search cluster name"
            onSearch={(query) => list.setFilters({ query })}
          />
          <FilterSelect
            name="Health"
            value={filters.status}
            options={CLUSTER_STATUSES.map((s) => ({ value: s, label: statusLabel(s) }))}
            onChange={(status) => list.setFilters({ status })}
          />
        </ToolbarGroup>
        <ToolbarItem variant="pagination" align={{ default: 'alignEnd' }}>
          <ListPagination what="clusters" variant="top" total={clusters.data?.total ?? 0} list={list} />
        </ToolbarItem>
      </ToolbarContent>
    </Toolbar>
  );

  const body = (
    <ListBody
      state={clusters}
      rows={(d) => d.clusters}
      what="clusters"
      one="cluster"
      list={list}
      empty={
        filtered ? (
          <EmptyListState title="No clusters" filtered onClearFilters={list.clearFilters} />
        ) : (
          <EmptyListState title="No secured clusters yet" filtered={false}>
            <AddClusterSteps />
          </EmptyListState>
        )
      }
    >
      {(data) => (
        <>
          <Table aria-label="Clusters" variant="compact" data-testid="clusters-table">
            <Thead>
              <Tr>
                {COLUMNS.map((c, i) => (
                  <Th key={c.title} modifier="wrap" sort={sortProps(sortColumns, i, list.sort, list.setSort)}>
                    {c.title}
                  </Th>
                ))}
              </Tr>
            </Thead>
            <Tbody>
              {data.clusters.map((c) => (
                <Tr key={c.id}>
                  <Td dataLabel="Cluster">
                    <Link to={`/clusters/${encodeURIComponent(c.id)}`}>{c.name}</Link>
                  </Td>
                  <Td dataLabel="Health">
                    <ClusterStatusLabel status={c.status} />
                    {!c.connected && <Content component="small"> (disconnected)</Content>}
                  </Td>
                  <Td dataLabel="Last contact">
                    <time dateTime={c.lastContact}>{formatTime(c.lastContact)}</time>
                  </Td>
                  <Td dataLabel="Sensor / Kubernetes">
                    {c.sensorVersion || '—'} / {c.kubernetesVersion || '—'}
                  </Td>
                  <Td dataLabel="Deployments">
                    <Link
                      to={withQuery('/deployments', { cluster: c.name })}
                      aria-label={`${plural(c.deployments, 'deployment')} in ${c.name}`}
                    >
                      {c.deployments}
                    </Link>
                  </Td>
                  <Td dataLabel="Namespaces">{c.namespaces}</Td>
                  <Td dataLabel="Open violations">
                    {c.violations.total > 0 ? (
                      <Link
                        to={withQuery('/violations', { state: 'ACTIVE', cluster: c.name })}
                        aria-label={`${plural(c.violations.total, 'open violation')} in ${c.name}`}
                      >
                        <ViolationCounts counts={c.violations} />
                      </Link>
                    ) : (
                      <ViolationCounts counts={c.violations} />
                    )}
                  </Td>
                </Tr>
              ))}
            </Tbody>
          </Table>
        </>
      )}
    </ListBody>
  );

  return (
    <>
      <PageSection>
        <Title headingLevel="h1">Clusters</Title>
        <ListCount testId="clusters-count" total={clusters.data?.total} one="secured cluster" filtered={filtered} />
      </PageSection>
      <PageSection aria-busy={clusters.loading}>
        {toolbar}
        {body}
      </PageSection>
    </>
  );
}
