import { Pagination, type PaginationProps } from '@patternfly/react-core';
import type { ThProps } from '@patternfly/react-table';
import { PER_PAGE_OPTIONS } from '../hooks/useListParams';

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
export function ListPagination({
  what,
  total,
  page,
  perPage,
  setPage,
  setPerPage,
  variant,
}: {
  what: string;
  total: number;
  page: number;
  perPage: number;
  setPage: (p: number) => void;
  setPerPage: (n: number) => void;
  variant: 'top' | 'bottom';
}) {
  const props: PaginationProps = {
    itemCount: total,
    page,
    perPage,
    perPageOptions: PER_PAGE_OPTIONS.map((n) => ({ title: String(n), value: n })),
    onSetPage: (_e, p) => setPage(p),
    onPerPageSelect: (_e, n) => setPerPage(n),
    variant,
    isCompact: variant === 'top',
    widgetId: `${what}-pagination-${variant}`,
    titles: { paginationAriaLabel: `Pages of ${what}, ${variant}` },
  };
  return <Pagination {...props} />;
}
