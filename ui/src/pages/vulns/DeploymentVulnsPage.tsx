import { Content, PageSection, Title, Toolbar, ToolbarContent, ToolbarGroup, ToolbarItem } from '@patternfly/react-core';
import { ExpandableRowContent, Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useState } from 'react';
import { Link } from 'react-router';
import { withQuery } from '../../api/client';
import { useApi } from '../../api/context';
import { DEPLOYMENT_VULNS_PATH, listDeploymentVulns, type DeploymentVulns } from '../../api/vulns';
import { ExportCsv } from '../../components/ExportCsv';
import { LinkedFilter, SearchFilter } from '../../components/Filters';
import { ListBody, ListCount, ListPagination, sortProps, type SortColumn } from '../../components/ListTable';
import { EmptyListState } from '../../components/StateViews';
import { SeverityCounts } from '../../components/VulnLabels';
import { placeLabel } from '../../format';
import { useFetch } from '../../hooks/useFetch';
import { useListParams } from '../../hooks/useListParams';
import { deploymentHref, imageHref } from '../../vulnFormat';

const FILTERS = ['query', 'cluster', 'namespace'] as const;

// The first column is the expand toggle.
const COLUMNS: readonly { title: string; sort?: SortColumn }[] = [
  { title: 'Deployment', sort: { asc: 'name', desc: '-name', first: 'asc' } },
  { title: 'Cluster / namespace', sort: { asc: 'cluster', desc: '-cluster', first: 'asc' } },
  { title: 'Images', sort: { asc: 'images', desc: '-images', first: 'desc' } },
  { title: 'CVEs', sort: { asc: 'cves', desc: '-cves', first: 'desc' } },
  { title: 'By severity', sort: { asc: 'critical', desc: '-critical', first: 'desc' } },
  { title: 'Fixable', sort: { asc: 'fixable', desc: '-fixable', first: 'desc' } },
];

function DeploymentImages({ d }: { d: DeploymentVulns }) {
  return (
    <>
      <Table aria-label={`Images of ${d.name}`} variant="compact" borders={false}>
        <Thead>
          <Tr>
            <Th>Image</Th>
            <Th>Scan</Th>
          </Tr>
        </Thead>
        <Tbody>
          {d.images.map((im) => (
            <Tr key={im.name}>
              <Td dataLabel="Image">{im.digest ? <Link to={imageHref(im.digest)}>{im.name}</Link> : im.name}</Td>
              <Td dataLabel="Scan">{im.digest ? 'Scanned' : 'Not scanned'}</Td>
            </Tr>
          ))}
        </Tbody>
      </Table>
      <Content component="p" className="pf-v6-u-mt-sm">
        <Link to={withQuery('/vulnerabilities/cves', { cluster: d.cluster, namespace: d.namespace })}>
          CVEs of the images in {placeLabel(d.cluster, d.namespace)}
        </Link>
      </Content>
    </>
  );
}

/** Deployments with the CVEs of the images they run; each row opens to its images. */
export function DeploymentVulnsPage() {
  const api = useApi();
  const list = useListParams(FILTERS, 'name', 50);
  const { filters } = list;
  const deps = useFetch(
    (signal) => listDeploymentVulns(api, { ...filters, sort: list.sort, offset: list.offset, limit: list.perPage }, signal),
    list.key,
  );
  const [open, setOpen] = useState<Set<string>>(new Set());
  const filtered = FILTERS.some((f) => filters[f] !== '');
  const sortColumns = [undefined, ...COLUMNS.map((c) => c.sort)];
  const toggle = (id: string) =>
    setOpen((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  const toolbar = (
    <Toolbar aria-label="Deployment filters" clearAllFilters={list.clearFilters} collapseListedFiltersBreakpoint="xl">
      <ToolbarContent>
        <ToolbarGroup variant="filter-group">
          <SearchFilter
            key={filters.query}
            value={filters.query}
            placeholder="Search deployment, namespace or cluster"
            onSearch={(query) => list.setFilters({ query })}
          />
          <LinkedFilter name="Cluster" value={filters.cluster} onClear={() => list.setFilters({ cluster: '', namespace: '' })} />
          <LinkedFilter name="Namespace" value={filters.namespace} onClear={() => list.setFilters({ namespace: '' })} />
        </ToolbarGroup>
        <ToolbarItem>
          <ExportCsv path={DEPLOYMENT_VULNS_PATH} filters={filters} sort={list.sort} what="deployments" />
        </ToolbarItem>
        <ToolbarItem variant="pagination" align={{ default: 'alignEnd' }}>
          <ListPagination what="deployments" variant="top" total={deps.data?.total ?? 0} list={list} />
        </ToolbarItem>
      </ToolbarContent>
    </Toolbar>
  );

  const body = (
    <ListBody
      state={deps}
      rows={(d) => d.deployments}
      what="deployments"
      one="deployment"
      list={list}
      empty={
        <EmptyListState title="No deployments" filtered={filtered} onClearFilters={list.clearFilters}>
          Central knows of no deployment yet.
        </EmptyListState>
      }
    >
      {(data) => (
        <>
          <Table aria-label="Deployments and their CVEs" variant="compact" data-testid="deployment-vulns-table">
            <Thead>
              <Tr>
                <Th screenReaderText="Show images" />
                {COLUMNS.map((c, i) => (
                  <Th key={c.title} modifier="wrap" sort={sortProps(sortColumns, i + 1, list.sort, list.setSort)}>
                    {c.title}
                  </Th>
                ))}
              </Tr>
            </Thead>
            {data.deployments.map((d, i) => {
              const expanded = open.has(d.id);
              return (
                <Tbody key={d.id} isExpanded={expanded}>
                  <Tr>
                    <Td expand={{ rowIndex: i, isExpanded: expanded, onToggle: () => toggle(d.id), expandId: `deployment-${i}` }} />
                    <Td dataLabel="Deployment">
                      <Link to={deploymentHref(d.id)}>{d.name}</Link>
                    </Td>
                    <Td dataLabel="Cluster / namespace">{placeLabel(d.cluster, d.namespace)}</Td>
                    <Td dataLabel="Images">{d.images.length}</Td>
                    <Td dataLabel="CVEs">{d.cves}</Td>
                    <Td dataLabel="By severity">
                      <SeverityCounts critical={d.critical} important={d.important} moderate={d.moderate} low={d.low} total={d.cves} />
                    </Td>
                    <Td dataLabel="Fixable">{d.fixable}</Td>
                  </Tr>
                  <Tr isExpanded={expanded}>
                    <Td colSpan={7}>
                      <ExpandableRowContent>{expanded && <DeploymentImages d={d} />}</ExpandableRowContent>
                    </Td>
                  </Tr>
                </Tbody>
              );
            })}
          </Table>
        </>
      )}
    </ListBody>
  );

  return (
    <>
      <PageSection>
        <Title headingLevel="h1">Deployment CVEs</Title>
        <ListCount testId="deployment-vulns-count" total={deps.data?.total} one="deployment" filtered={filtered} />
      </PageSection>
      <PageSection aria-busy={deps.loading}>
        {toolbar}
        {body}
      </PageSection>
    </>
  );
}
