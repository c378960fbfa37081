import { Content, PageSection, Title, Toolbar, ToolbarContent, ToolbarGroup, ToolbarItem } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { Link } from 'react-router';
import { useApi } from '../api/context';
import { alertSummary, listAlerts } from '../api/endpoints';
import { ExportCsv } from '../components/ExportCsv';
import { FilterSelect, LinkedFilter, SearchFilter } from '../components/Filters';
import { SeverityLabel, StateLabel } from '../components/Labels';
import { ListBody, ListCount, ListPagination, sortProps, type SortColumn } from '../components/ListTable';
import { EmptyListState } from '../components/StateViews';
import { useFetch } from '../hooks/useFetch';
import { useListParams } from '../hooks/useListParams';
import { ALERT_STATES, SEVERITIES, STAGES, formatTime, placeLabel, severityLabel, stageLabel, stateLabel } from '../format';

const FILTERS = [
  'query',
  'severity',
  'state',
  'stage',
  'cluster',
  'namespace',
  'deployment',
  'category',
  'policyId',
  'since',
  'until',
] as const;

// The columns, in order; sortable ones name the API's sort keys.
const COLUMNS: readonly { title: string; sort?: SortColumn }[] = [
  { title: 'Policy', sort: { asc: 'policy', desc: '-policy', first: 'asc' } },
  { title: 'Severity', sort: { asc: '-severity', desc: 'severity', first: 'desc' } },
  { title: 'Entity', sort: { asc: 'deployment', desc: '-deployment', first: 'asc' } },
  { title: 'Cluster / namespace' },
  { title: 'Stage' },
  { title: 'Time', sort: { asc: '-time', desc: 'time', first: 'desc' } },
  { title: 'State' },
];

/** Every violation, filtered, sorted and paged by Central. */
export function ViolationsPage() {
  const api = useApi();
  const list = useListParams(FILTERS, 'time');
  const { filters } = list;
  const alerts = useFetch(
    (signal) => listAlerts(api, { ...filters, sort: list.sort, offset: list.offset, limit: list.perPage }, signal),
    list.key,
  );
  const scopes = useFetch((signal) => alertSummary(api, ['cluster', 'namespace'], { limit: 1000 }, signal), 'scopes');
  const clusters = [...new Set((scopes.data?.groups.cluster ?? []).map((c) => c.cluster ?? '').filter(Boolean))].sort();
  const namespaces = [
    ...new Set(
      (scopes.data?.groups.namespace ?? [])
        .filter((n) => !filters.cluster || n.cluster === filters.cluster)
        .map((n) => n.namespace ?? '')
        .filter(Boolean),
    ),
  ].sort();
  const filtered = FILTERS.some((f) => filters[f] !== '');
  const sortColumns = COLUMNS.map((c) => c.sort);

  const toolbar = (
    <Toolbar aria-label="Violation filters" clearAllFilters={list.clearFilters} collapseListedFiltersBreakpoint="xl">
      <ToolbarContent>
        <ToolbarGroup variant="filter-group">
          <SearchFilter
            key={filters.query}
            value={filters.query}
            placeholder="Search policy, deployment, namespace or cluster"
            onSearch={(query) => list.setFilters({ query })}
          />
          <FilterSelect
            name="Severity"
            value={filters.severity}
            options={SEVERITIES.map((s) => ({ value: s, label: severityLabel(s) }))}
            onChange={(severity) => list.setFilters({ severity })}
          />
          <FilterSelect
            name="State"
            value={filters.state}
            options={ALERT_STATES.map((s) => ({ value: s, label: stateLabel(s) }))}
            onChange={(state) => list.setFilters({ state })}
          />
          <FilterSelect
            name="Stage"
            value={filters.stage}
            options={STAGES.map((s) => ({ value: s, label: stageLabel(s) }))}
            onChange={(stage) => list.setFilters({ stage })}
          />
          <FilterSelect
            name="Cluster"
            value={filters.cluster}
            options={clusters.map((c) => ({ value: c, label: c }))}
            onChange={(cluster) => list.setFilters({ cluster, namespace: '' })}
          />
          <FilterSelect
            name="Namespace"
            value={filters.namespace}
            options={namespaces.map((n) => ({ value: n, label: n }))}
            onChange={(namespace) => list.setFilters({ namespace })}
          />
          <LinkedFilter name="Deployment" value={filters.deployment} onClear={() => list.setFilters({ deployment: '' })} />
          <LinkedFilter name="Category" value={filters.category} onClear={() => list.setFilters({ category: '' })} />
          <LinkedFilter name="Policy" value={filters.policyId} onClear={() => list.setFilters({ policyId: '' })} />
          <LinkedFilter
            name="Since"
            value={filters.since}
            display={formatTime(filters.since)}
            onClear={() => list.setFilters({ since: '' })}
          />
          <LinkedFilter
            name="Until"
            value={filters.until}
            display={formatTime(filters.until)}
            onClear={() => list.setFilters({ until: '' })}
          />
        </ToolbarGroup>
        <ToolbarItem>
          <ExportCsv path="/v1/alerts" filters={filters} sort={list.sort} what="violations" />
        </ToolbarItem>
        <ToolbarItem variant="pagination" align={{ default: 'alignEnd' }}>
          <ListPagination what="violations" variant="top" total={alerts.data?.total ?? 0} list={list} />
        </ToolbarItem>
      </ToolbarContent>
    </Toolbar>
  );

  const body = (
    <ListBody
      state={alerts}
      rows={(d) => d.alerts}
      what="violations"
      one="violation"
      list={list}
      empty={
        <EmptyListState title="No violations" filtered={filtered} onClearFilters={list.clearFilters}>
          No deployment has violated a policy yet.
        </EmptyListState>
      }
    >
      {(data) => (
        <>
          <Table aria-label="Violations" variant="compact" data-testid="violations-table">
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
              {data.alerts.map((a) => (
                <Tr key={a.id}>
                  <Td dataLabel="Policy">
                    <Link to={`/violations/${encodeURIComponent(a.id)}`}>{a.policy.name}</Link>
                  </Td>
                  <Td dataLabel="Severity">
                    <SeverityLabel severity={a.policy.severity} />
                  </Td>
                  <Td dataLabel="Entity">
                    {a.deployment.id ? (
                      <Link to={`/deployments/${encodeURIComponent(a.deployment.id)}`}>{a.deployment.name}</Link>
                    ) : (
                      a.deployment.name
                    )}
                    {a.deployment.type && <Content component="small"> ({a.deployment.type})</Content>}
                  </Td>
                  <Td dataLabel="Cluster / namespace">{placeLabel(a.deployment.clusterName, a.deployment.namespace)}</Td>
                  <Td dataLabel="Stage">{stageLabel(a.lifecycleStage)}</Td>
                  <Td dataLabel="Time">
                    <time dateTime={a.time}>{formatTime(a.time)}</time>
                  </Td>
                  <Td dataLabel="State">
                    <StateLabel state={a.state} />
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
        <Title headingLevel="h1">Violations</Title>
        <ListCount testId="violations-count" total={alerts.data?.total} one="violation" filtered={filtered} />
      </PageSection>
      <PageSection aria-busy={alerts.loading}>
        {toolbar}
        {body}
      </PageSection>
    </>
  );
}
