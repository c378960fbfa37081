import { useCallback, useMemo } from 'react';
import { useSearchParams } from 'react-router';

/** Page sizes the lists offer. */
export const PER_PAGE_OPTIONS = [10, 20, 50, 100];

export interface ListParams<F extends string> {
  /** The filters in the URL, by name; absent filters are ''. */
  filters: Record<F, string>;
  sort: string;
  page: number;
  perPage: number;
  offset: number;
  /** A stable string of everything above, for useFetch. */
  key: string;
  /** Sets filters (a '' value removes one) and goes back to page 1. */
  setFilters: (changes: Partial<Record<F, string>>) => void;
  clearFilters: () => void;
  setSort: (sort: string) => void;
  setPage: (page: number) => void;
  setPerPage: (perPage: number) => void;
}

/**
 * The state of a list page (filters, sort, page) lives in the URL, so a
 * list can be linked to, reloaded, and walked with back and forward. Each
 * change is a new history entry.
 */
export function useListParams<F extends string>(filterNames: readonly F[], defaultSort: string, defaultPerPage = 20): ListParams<F> {
  const [params, setParams] = useSearchParams();

  const filters = useMemo(() => {
    const out = {} as Record<F, string>;
    for (const f of filterNames) out[f] = params.get(f) ?? '';
    return out;
  }, [params, filterNames]);
  const sort = params.get('sort') || defaultSort;
  const perPage = positiveInt(params.get('perPage'), defaultPerPage, 1000);
  const page = positiveInt(params.get('page'), 1, Number.MAX_SAFE_INTEGER);

  const update = useCallback(
    (fn: (next: URLSearchParams) => void) => {
      setParams((prev) => {
        const next = new URLSearchParams(prev);
        fn(next);
        return next;
      });
    },
    [setParams],
  );

  const setFilters = useCallback(
    (changes: Partial<Record<F, string>>) =>
      update((next) => {
        for (const [k, v] of Object.entries(changes) as [string, string | undefined][]) {
          if (v) next.set(k, v);
          else next.delete(k);
        }
        next.delete('page');
      }),
    [update],
  );
  const clearFilters = useCallback(
    () =>
      update((next) => {
        for (const f of filterNames) next.delete(f);
        next.delete('page');
      }),
    [update, filterNames],
  );
  const setSort = useCallback(
    (s: string) =>
      update((next) => {
        if (s === defaultSort) next.delete('sort');
        else next.set('sort', s);
        next.delete('page');
      }),
    [update, defaultSort],
  );
  const setPage = useCallback(
    (p: number) =>
      update((next) => {
        if (p <= 1) next.delete('page');
        else next.set('page', String(p));
      }),
    [update],
  );
  const setPerPage = useCallback(
    (n: number) =>
      update((next) => {
        if (n === defaultPerPage) next.delete('perPage');
        else next.set('perPage', String(n));
        next.delete('page');
      }),
    [update, defaultPerPage],
  );

  const key = JSON.stringify([filters, sort, page, perPage]);
  return { filters, sort, page, perPage, offset: (page - 1) * perPage, key, setFilters, clearFilters, setSort, setPage, setPerPage };
}

function positiveInt(v: string | null, def: number, max: number): number {
  const n = v === null ? NaN : Number.parseInt(v, 10);
  return Number.isFinite(n) && n >= 1 ? Math.min(n, max) : def;
}
