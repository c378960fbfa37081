import { PageSection, Title, Toolbar, ToolbarContent, ToolbarGroup, ToolbarItem } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { Link } from 'react-router';
import { useApi } from '../../api/context';
import { IMAGES_PATH, listImages } from '../../api/vulns';
import { ExportCsv } from '../../components/ExportCsv';
import { FilterSelect, SearchFilter } from '../../components/Filters';
import { ListBody, ListCount, ListPagination, sortProps, type SortColumn } from '../../components/ListTable';
import { EmptyListState } from '../../components/StateViews';
import { SeverityCounts } from '../../components/VulnLabels';
import { formatTime } from '../../format';
import { useFetch } from '../../hooks/useFetch';
import { useListParams } from '../../hooks/useListParams';
import { VULN_SEVERITIES, imageHref, vulnSeverityLabel } from '../../vulnFormat';

const FILTERS = ['query', 'severity', 'fixable'] as const;

const COLUMNS: readonly { title: string; sort?: SortColumn }[] = [
  { title: 'Image', sort: { asc: 'name', desc: '-name', first: 'asc' } },
  { title: 'CVEs', sort: { asc: 'vulns', desc: '-vulns', first: 'desc' } },
  { title: 'By severity', sort: { asc: 'critical', desc: '-critical', first: 'desc' } },
  { title: 'Fixable', sort: { asc: 'fixable', desc: '-fixable', first: 'desc' } },
  { title: 'Deployments' },
  { title: 'Scanned', sort: { asc: 'scanTime', desc: '-scanTime', first: 'desc' } },
];

/** Every scanned image with its CVE counts, filtered, sorted and paged by Central. */
export function ImagesPage() {
  const api = useApi();
  const list = useListParams(FILTERS, 'name', 50);
  const { filters } = list;
  const images = useFetch(
    (signal) => listImages(api, { ...filters, sort: list.sort, offset: list.offset, limit: list.perPage }, signal),
    list.key,
  );
  const filtered = FILTERS.some((f) => filters[f] !== '');
  const sortColumns = COLUMNS.map((c) => c.sort);

  const toolbar = (
    <Toolbar aria-label="Image filters" clearAllFilters={list.clearFilters} collapseListedFiltersBreakpoint="xl">
      <ToolbarContent>
        <ToolbarGroup variant="filter-group">
          <SearchFilter
            key={filters.query}
            value={filters.query}
            placeholder="Search image name or digest"
            onSearch={(query) => list.setFilters({ query })}
          />
          <FilterSelect
            name="Has severity"
            value={filters.severity}
            options={VULN_SEVERITIES.filter((s) => s !== 'UNKNOWN').map((s) => ({ value: s, label: vulnSeverityLabel(s) }))}
            onChange={(severity) => list.setFilters({ severity })}
          />
          <FilterSelect
            name="Fixable"
            value={filters.fixable}
            options={[
              { value: 'true', label: 'Has fixable CVEs' },
              { value: 'false', label: 'No fixable CVEs' },
            ]}
            onChange={(fixable) => list.setFilters({ fixable })}
          />
        </ToolbarGroup>
        <ToolbarItem>
          <ExportCsv path={IMAGES_PATH} filters={filters} sort={list.sort} what="images" />
        </ToolbarItem>
        <ToolbarItem variant="pagination" align={{ default: 'alignEnd' }}>
          <ListPagination what="images" variant="top" total={images.data?.total ?? 0} list={list} />
        </ToolbarItem>
      </ToolbarContent>
    </Toolbar>
  );

  const body = (
    <ListBody
      state={images}
      rows={(d) => d.images}
      what="images"
      one="image"
      list={list}
      empty={
        <EmptyListState title="No images" filtered={filtered} onClearFilters={list.clearFilters}>
          No image has been scanned yet.
        </EmptyListState>
      }
    >
      {(data) => (
        <>
          <Table aria-label="Images" variant="compact" data-testid="images-table">
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
              {data.images.map((im) => (
                <Tr key={im.id}>
                  <Td dataLabel="Image">
                    <Link to={imageHref(im.id)}>{im.name}</Link>
                  </Td>
                  <Td dataLabel="CVEs">{im.vulns}</Td>
                  <Td dataLabel="By severity">
                    <SeverityCounts critical={im.critical} important={im.important} moderate={im.moderate} low={im.low} total={im.vulns} />
                  </Td>
                  <Td dataLabel="Fixable">{im.fixable}</Td>
                  <Td dataLabel="Deployments">{im.deployments}</Td>
                  <Td dataLabel="Scanned">
                    <time dateTime={im.scanTime}>{formatTime(im.scanTime)}</time>
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
        <Title headingLevel="h1">Images</Title>
        <ListCount testId="images-count" total={images.data?.total} one="scanned image" filtered={filtered} />
      </PageSection>
      <PageSection aria-busy={images.loading}>
        {toolbar}
        {body}
      </PageSection>
    </>
  );
}
