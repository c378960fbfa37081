import { Content, PageSection, Title, Toolbar, ToolbarContent, ToolbarGroup, ToolbarItem } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { Link } from 'react-router';
import { useApi } from '../../api/context';
import { CVES_PATH, listCves } from '../../api/vulns';
import { ExportCsv } from '../../components/ExportCsv';
import { FilterSelect, LinkedFilter, SearchFilter } from '../../components/Filters';
import { ListBody, ListCount, ListPagination, sortProps, type SortColumn } from '../../components/ListTable';
import { EmptyListState } from '../../components/StateViews';
import { FixableLabel, VulnSeverityLabel } from '../../components/VulnLabels';
import { formatTime } from '../../format';
import { useFetch } from '../../hooks/useFetch';
import { useListParams } from '../../hooks/useListParams';
import { VULN_SEVERITIES, formatCvss, vulnSeverityLabel } from '../../vulnFormat';

const FILTERS = ['query', 'severity', 'fixable', 'cluster', 'namespace'] as const;

const COLUMNS: readonly { title: string; sort?: SortColumn }[] = [
  { title: 'CVE', sort: { asc: 'id', desc: '-id', first: 'asc' } },
  { title: 'Severity', sort: { asc: 'severity', desc: '-severity', first: 'desc' } },
  { title: 'CVSS', sort: { asc: 'cvss', desc: '-cvss', first: 'desc' } },
  { title: 'Fix' },
  { title: 'Images', sort: { asc: 'images', desc: '-images', first: 'desc' } },
  { title: 'Deployments', sort: { asc: 'deployments', desc: '-deployments', first: 'desc' } },
  { title: 'First seen', sort: { asc: 'firstSeen', desc: '-firstSeen', first: 'desc' } },
];

/** Every CVE found in scanned images, filtered, sorted and paged by Central. */
export function CvesPage() {
  const api = useApi();
  const list = useListParams(FILTERS, '-severity', 50);
  const { filters } = list;
  const cves = useFetch(
    (signal) => listCves(api, { ...filters, sort: list.sort, offset: list.offset, limit: list.perPage }, signal),
    list.key,
  );
  const filtered = FILTERS.some((f) => filters[f] !== '');
  const sortColumns = COLUMNS.map((c) => c.sort);

  const toolbar = (
    <Toolbar aria-label="CVE filters" clearAllFilters={list.clearFilters} collapseListedFiltersBreakpoint="xl">
      <ToolbarContent>
        <ToolbarGroup variant="filter-group">
          <SearchFilter
            key={filters.query}
            value={filters.query}
            placeholder="Search CVE, description or component"
            onSearch={(query) => list.setFilters({ query })}
          />
          <FilterSelect
            name="Severity"
            value={filters.severity}
            options={VULN_SEVERITIES.map((s) => ({ value: s, label: vulnSeverityLabel(s) }))}
            onChange={(severity) => list.setFilters({ severity })}
          />
          <FilterSelect
            name="Fixable"
            value={filters.fixable}
            options={[
              { value: 'true', label: 'Fixable' },
              { value: 'false', label: 'No fix' },
            ]}
            onChange={(fixable) => list.setFilters({ fixable })}
          />
          <LinkedFilter name="Cluster" value={filters.cluster} onClear={() => list.setFilters({ cluster: '', namespace: '' })} />
          <LinkedFilter name="Namespace" value={filters.namespace} onClear={() => list.setFilters({ namespace: '' })} />
        </ToolbarGroup>
        <ToolbarItem>
          <ExportCsv path={CVES_PATH} filters={filters} sort={list.sort} what="CVEs" />
        </ToolbarItem>
        <ToolbarItem variant="pagination" align={{ default: 'alignEnd' }}>
          <ListPagination what="CVEs" variant="top" total={cves.data?.total ?? 0} list={list} />
        </ToolbarItem>
      </ToolbarContent>
    </Toolbar>
  );

  const body = (
    <ListBody
      state={cves}
      rows={(d) => d.cves}
      what="CVEs"
      one="CVE"
      list={list}
      empty={
        <EmptyListState title="No CVEs" filtered={filtered} onClearFilters={list.clearFilters}>
          No scanned image has a known vulnerability. Scan images, or import a vulnerability feed.
        </EmptyListState>
      }
    >
      {(data) => (
        <>
          <Table aria-label="CVEs" variant="compact" data-testid="cves-table">
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
              {data.cves.map((c) => (
                <Tr key={c.id}>
                  <Td dataLabel="CVE">
                    <Link to={`/vulnerabilities/cves/${encodeURIComponent(c.id)}`}>{c.id}</Link>
                    {c.summary && (
                      <Content component="small" className="pf-v6-u-display-block">
                        {c.summary}
                      </Content>
                    )}
                  </Td>
                  <Td dataLabel="Severity">
                    <VulnSeverityLabel severity={c.severity} />
                  </Td>
                  <Td dataLabel="CVSS">{formatCvss(c.cvss, c.cvssVersion)}</Td>
                  <Td dataLabel="Fix">
                    <FixableLabel fixable={c.fixable} />
                  </Td>
                  <Td dataLabel="Images">{c.images}</Td>
                  <Td dataLabel="Deployments">{c.deployments}</Td>
                  <Td dataLabel="First seen">{c.firstSeen ? <time dateTime={c.firstSeen}>{formatTime(c.firstSeen)}</time> : '—'}</Td>
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
        <Title headingLevel="h1">Workload CVEs</Title>
        <ListCount testId="cves-count" total={cves.data?.total} one="CVE" filtered={filtered} unfiltered=" in scanned images" />
      </PageSection>
      <PageSection aria-busy={cves.loading}>
        {toolbar}
        {body}
      </PageSection>
    </>
  );
}
