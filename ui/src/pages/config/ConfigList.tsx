import { Content, PageSection, Title, Toolbar, ToolbarContent, ToolbarGroup, ToolbarItem } from '@patternfly/react-core';
import { Table, Tbody, Th, Thead, Tr } from '@patternfly/react-table';
import type { ReactNode } from 'react';
import { ListCount, ListPagination, sortProps, type SortColumn } from '../../components/ListTable';
import { EmptyListState, ErrorState, LoadingState } from '../../components/StateViews';
import { plural } from '../../format';
import type { FetchState } from '../../hooks/useFetch';
import type { ListParams } from '../../hooks/useListParams';

export interface Column {
  title: string;
  sort?: SortColumn;
}

/**
 * The frame of a configuration list page: heading, filters and actions,
 * the table the server filtered, sorted and paged, and the loading, error
 * and empty states.
 */
export function ConfigList<T, F extends string>({
  title,
  intro,
  one,
  many,
  list,
  fetched,
  items,
  total,
  filtered,
  filters,
  actions,
  columns,
  row,
  empty,
  outcome,
}: {
  title: string;
  intro: ReactNode;
  one: string;
  many: string;
  list: ListParams<F>;
  fetched: FetchState<unknown>;
  items: T[] | undefined;
  total: number;
  filtered: boolean;
  filters: ReactNode;
  actions?: ReactNode;
  columns: readonly Column[];
  row: (item: T) => ReactNode;
  empty: ReactNode;
  outcome?: ReactNode;
}) {
  const sortColumns = columns.map((c) => c.sort);
  let body;
  if (fetched.error !== undefined) {
    body = <ErrorState title={`The ${many} could not be loaded`} error={fetched.error} onRetry={fetched.reload} />;
  } else if (!items) {
    body = <LoadingState label={`Loading ${many}`} />;
  } else if (items.length === 0) {
    body =
      total > 0 ? (
        <EmptyListState title="This page is empty" filtered={false}>
          There are {plural(total, one, many)}, all on earlier pages.
        </EmptyListState>
      ) : (
        <EmptyListState title={`No ${many} yet`} filtered={filtered} onClearFilters={list.clearFilters}>
          {empty}
        </EmptyListState>
      );
  } else {
    body = (
      <>
        <Table aria-label={title} variant="compact">
          <Thead>
            <Tr>
              {columns.map((c, i) =>
                c.title === '' ? (
                  <Th key={`col-${i}`} screenReaderText="Actions" />
                ) : (
                  <Th key={c.title} modifier="wrap" sort={sortProps(sortColumns, i, list.sort, list.setSort)}>
                    {c.title}
                  </Th>
                ),
              )}
            </Tr>
          </Thead>
          <Tbody>{items.map(row)}</Tbody>
        </Table>
        <ListPagination what={many} variant="bottom" total={total} list={list} />
      </>
    );
  }
  return (
    <>
      <PageSection>
        <Title headingLevel="h1">{title}</Title>
        <Content component="p">{intro}</Content>
      </PageSection>
      <PageSection aria-busy={fetched.loading}>
        <div aria-live="polite">{outcome}</div>
        <Toolbar aria-label={`${title} filters`} clearAllFilters={list.clearFilters} collapseListedFiltersBreakpoint="xl">
          <ToolbarContent>
            <ToolbarGroup variant="filter-group">{filters}</ToolbarGroup>
            {actions && <ToolbarItem>{actions}</ToolbarItem>}
            <ToolbarItem variant="pagination" align={{ default: 'alignEnd' }}>
              <ListPagination what={many} variant="top" total={total} list={list} />
            </ToolbarItem>
          </ToolbarContent>
        </Toolbar>
        <ListCount testId="list-count" total={items ? total : undefined} one={one} many={many} filtered={filtered} />
        {body}
      </PageSection>
    </>
  );
}
