import { Content, Pagination, type PaginationProps } from '@patternfly/react-core';
import type { ThProps } from '@patternfly/react-table';
import type { ReactNode } from 'react';
import { countLine, plural } from '../format';
import type { FetchState } from '../hooks/useFetch';
import { PER_PAGE_OPTIONS, type ListParams } from '../hooks/useListParams';
import { EmptyListState, ErrorState, LoadingState } from './StateViews';

/** The page state of a list, from useListParams. */
export type ListPage = Pick<ListParams<string>, 'page' | 'perPage' | 'setPage' | 'setPerPage'>;

/** A sortable column: the API's sort keys for each direction. */
export interface SortColumn {
  asc: string;
  desc: string;
  /** The direction a first click sorts by. */
  first: 'asc' | 'desc';
}

/**
 * The sort prop of a table header: active when the list's sort is one of
 * the column's keys; a click sorts by the column, toggling the direction.
 */
export function sortProps(
  columns: readonly (SortColumn | undefined)[],
  index: number,
  current: string,
  setSort: (s: string) => void,
): ThProps['sort'] | undefined {
  const col = columns[index];
  if (!col) return undefined;
  const activeIndex = columns.findIndex((c) => c && (c.asc === current || c.desc === current));
  const active = columns[activeIndex];
  return {
    columnIndex: index,
    sortBy: {
      index: activeIndex < 0 ? undefined : activeIndex,
      direction: active && active.asc === current ? 'asc' : 'desc',
      defaultDirection: col.first,
    },
    onSort: (_e, _i, direction) => setSort(direction === 'asc' ? col.asc : col.desc),
  };
}

/** Server-side pagination of a list, at its top or bottom. */
export function ListPagination({ what, total, list, variant }: { what: string; total: number; list: ListPage; variant: 'top' | 'bottom' }) {
  const props: PaginationProps = {
    itemCount: total,
    page: list.page,
    perPage: list.perPage,
    perPageOptions: PER_PAGE_OPTIONS.map((n) => ({ title: String(n), value: n })),
    onSetPage: (_e, p) => list.setPage(p),
    onPerPageSelect: (_e, n) => list.setPerPage(n),
    variant,
    isCompact: variant === 'top',
    widgetId: `${what}-pagination-${variant}`,
    titles: { paginationAriaLabel: `Pages of ${what}, ${variant}` },
  };
  return <Pagination {...props} />;
}

/**
 * The body of a list page: the error state (with a retry), the loading
 * state, an empty page past the end of the list, the page's own empty state
 * (empty), or the rows rendered by children followed by the bottom
 * pagination. what names the items as a sentence does ("CVEs"), one a
 * single item ("CVE").
 */
export function ListBody<D extends { total: number }>({
  state,
  rows,
  what,
  one,
  list,
  empty,
  children,
}: {
  state: FetchState<D>;
  rows: (data: D) => readonly unknown[];
  what: string;
  one: string;
  list: ListPage;
  empty: ReactNode;
  children: (data: D) => ReactNode;
}) {
  if (state.error !== undefined) {
    const title = `${what.charAt(0).toUpperCase()}${what.slice(1)} could not be loaded`;
    return <ErrorState title={title} error={state.error} onRetry={state.reload} />;
  }
  if (!state.data) return <LoadingState label={`Loading ${what}`} />;
  const data = state.data;
  if (rows(data).length === 0) {
    if (data.total === 0) return empty;
    return (
      <EmptyListState title="This page is empty" filtered={false}>
        There are {plural(data.total, one, what)}, all on earlier pages.
      </EmptyListState>
    );
  }
  return (
    <>
      {children(data)}
      <ListPagination what={what} variant="bottom" total={data.total} list={list} />
    </>
  );
}

/**
 * The count line above a list ("12 deployments", "1 deployment matches the
 * filters"), announced to screen readers as it changes; blank until the
 * list has loaded (total undefined).
 */
export function ListCount({
  testId,
  total,
  one,
  many = `${one}s`,
  filtered,
  unfiltered,
}: {
  testId: string;
  total: number | undefined;
  one: string;
  many?: string;
  filtered: boolean;
  /** Appended when no filter is set, e.g. " in scanned images". */
  unfiltered?: string;
}) {
  return (
    <Content component="p" aria-live="polite" data-testid={testId}>
      {total === undefined ? '\u00a0' : countLine(total, one, many, filtered, unfiltered)}
    </Content>
  );
}
