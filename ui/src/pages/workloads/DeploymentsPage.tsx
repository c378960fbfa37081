import { Content, PageSection, Title, Toolbar, ToolbarContent, ToolbarGroup, ToolbarItem } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { Link } from 'react-router';
import { withQuery } from '../../api/client';
import { useApi } from '../../api/context';
import { getCluster, listClusters } from '../../api/workloads';
import { FilterSelect, LinkedFilter, SearchFilter } from '../../components/Filters';
import { ListBody, ListCount, ListPagination, sortProps, type SortColumn } from '../../components/ListTable';
import { EmptyListState } from '../../components/StateViews';
import { SEVERITIES, formatTime, plural, severityLabel } from '../../format';
import { useFetch } from '../../hooks/useFetch';
import { useListParams } from '../../hooks/useListParams';
import { listDeployments } from '../../api/workloads';
import { RiskScore } from './RiskScore';
import { ViolationCounts } from './ViolationCounts';

const FILTERS = ['query', 'cluster', 'namespace', 'kind', 'violated', 'severity'] as const;

/** The workload kinds Stockade normalizes. */
const KINDS = [
  'Deployment',
  'DaemonSet',
  'StatefulSet',
  'ReplicaSet',
  'ReplicationController',
  'Job',
  'CronJob',
  'Pod',
  'DeploymentConfig',
];

// The columns, in order; sortable ones name the API's sort keys.
const COLUMNS: readonly { title: string; sort?: SortColumn }[] = [
  { title: 'Deployment', sort: { asc: 'name', desc: '-name', first: 'asc' } },
  { title: 'Cluster', sort: { asc: 'cluster', desc: '-cluster', first: 'asc' } },
  { title: 'Namespace', sort: { asc: 'namespace', desc: '-namespace', first: 'asc' } },
  { title: 'Images' },
  { title: 'Risk', sort: { asc: 'risk', desc: '-risk', first: 'desc' } },
  { title: 'Open violations', sort: { asc: '-violations', desc: 'violations', first: 'desc' } },
  { title: 'Updated', sort: { asc: 'updated', desc: '-updated', first: 'desc' } },
];

/** How many images a row shows before "and n more". */
const SHOWN_IMAGES = 2;

/** Every deployment Central knows of, filtered, sorted and paged by Central. */
export function DeploymentsPage() {
  const api = useApi();
  const list = useListParams(FILTERS, 'name');
  const { filters } = list;
  const deployments = useFetch(
    (signal) => listDeployments(api, { ...filters, sort: list.sort, offset: list.offset, limit: list.perPage }, signal),
    list.key,
  );
  // The clusters to choose from, and the chosen one's namespaces.
  const clusters = useFetch((signal) => listClusters(api, { limit: 1000 }, signal), 'clusters');
  const chosen = clusters.data?.clusters.find((c) => c.name === filters.cluster);
  const cluster = useFetch((signal) => (chosen ? getCluster(api, chosen.id, signal) : Promise.resolve(undefined)), chosen?.id ?? '');
  const clusterNames = [...new Set([...(clusters.data?.clusters.map((c) => c.name) ?? []), filters.cluster].filter(Boolean))].sort();
  const namespaces = cluster.data?.namespaces.map((n) => n.name);
  const filtered = FILTERS.some((f) => filters[f] !== '');
  const sortColumns = COLUMNS.map((c) => c.sort);

  const toolbar = (
    <Toolbar aria-label="Deployment filters" clearAllFilters={list.clearFilters} collapseListedFiltersBreakpoint="xl">
      <ToolbarContent>
        <ToolbarGroup variant="filter-group">
          <SearchFilter
            key={filters.query}
            value={filters.query}
            placeholder="Search name, namespace or cluster"
            onSearch={(query) => list.setFilters({ query })}
          />
          <FilterSelect
            name="Cluster"
            value={filters.cluster}
            options={clusterNames.map((c) => ({ value: c, label: c }))}
            onChange={(c) => list.setFilters({ cluster: c, namespace: '' })}
          />
          {namespaces ? (
            <FilterSelect
              name="Namespace"
              value={filters.namespace}
              options={[...new Set([...namespaces, filters.namespace].filter(Boolean))].map((n) => ({ value: n, label: n }))}
              onChange={(namespace) => list.setFilters({ namespace })}
            />
          ) : (
            <LinkedFilter name="Namespace" value={filters.namespace} onClear={() => list.setFilters({ namespace: '' })} />
          )}
          <FilterSelect
            name="Kind"
            value={filters.kind}
            options={KINDS.map((k) => ({ value: k, label: k }))}
            onChange={(kind) => list.setFilters({ kind })}
          />
          <FilterSelect
            name="Violations"
            value={filters.violated}
            options={[
              { value: 'true', label: 'With open violations' },
              { value: 'false', label: 'Without open violations' },
            ]}
            onChange={(violated) => list.setFilters({ violated })}
          />
          <FilterSelect
            name="Severity"
            value={filters.severity}
            options={SEVERITIES.map((s) => ({ value: s, label: `${severityLabel(s)} open` }))}
            onChange={(severity) => list.setFilters({ severity })}
          />
        </ToolbarGroup>
        <ToolbarItem variant="pagination" align={{ default: 'alignEnd' }}>
          <ListPagination what="deployments" variant="top" total={deployments.data?.total ?? 0} list={list} />
        </ToolbarItem>
      </ToolbarContent>
    </Toolbar>
  );

  const body = (
    <ListBody
      state={deployments}
      rows={(d) => d.deployments}
      what="deployments"
      one="deployment"
      list={list}
      empty={
        <EmptyListState title="No deployments" filtered={filtered} onClearFilters={list.clearFilters}>
          Central knows of no deployment yet. A secured cluster&apos;s Sensor reports its workloads (see{' '}
          <Link to="/clusters">Clusters</Link>), and deploy-time checks sent with <code>record: true</code> are kept too.
        </EmptyListState>
      }
    >
      {(data) => (
        <>
          <Table aria-label="Deployments" variant="compact" data-testid="deployments-table">
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
              {data.deployments.map((d) => (
                <Tr key={d.id}>
                  <Td dataLabel="Deployment">
                    <Link to={`/deployments/${encodeURIComponent(d.id)}`}>{d.name}</Link>
                    {d.kind && <Content component="small"> ({d.kind})</Content>}
                  </Td>
                  <Td dataLabel="Cluster">{d.cluster || '—'}</Td>
                  <Td dataLabel="Namespace">{d.namespace || '—'}</Td>
                  <Td dataLabel="Images" modifier="breakWord">
                    {d.images.length === 0
                      ? '—'
                      : d.images.slice(0, SHOWN_IMAGES).map((im) => (
                          <div key={im}>
                            <code>{im}</code>
                          </div>
                        ))}
                    {d.images.length > SHOWN_IMAGES && <Content component="small">and {d.images.length - SHOWN_IMAGES} more</Content>}
                  </Td>
                  <Td dataLabel="Risk">
                    <RiskScore risk={d.risk} reason />
                  </Td>
                  <Td dataLabel="Open violations">
                    {d.violations.total > 0 ? (
                      <Link
                        to={withQuery('/violations', { state: 'ACTIVE', deployment: d.id })}
                        aria-label={`${plural(d.violations.total, 'open violation')} of ${d.name}`}
                      >
                        <ViolationCounts counts={d.violations} />
                      </Link>
                    ) : (
                      <ViolationCounts counts={d.violations} />
                    )}
                  </Td>
                  <Td dataLabel="Updated">
                    <time dateTime={d.updatedAt}>{formatTime(d.updatedAt)}</time>
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
        <Title headingLevel="h1">Deployments</Title>
        <ListCount testId="deployments-count" total={deployments.data?.total} one="deployment" filtered={filtered} />
      </PageSection>
      <PageSection aria-busy={deployments.loading}>
        {toolbar}
        {body}
      </PageSection>
    </>
  );
}
