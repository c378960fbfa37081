import { useCallback, useEffect, useRef, useState } from 'react';

/** The state of a load: data once it arrived, or the error it failed with. */
export interface FetchState<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /** Loads again with the same key. */
  reload: () => void;
}

interface Settled<T> {
  key: string;
  data?: T;
  error?: unknown;
}

/**
 * Loads data with load whenever key changes (key names everything load
 * depends on, such as the URL's query), aborting the load it replaces. The
 * previous data stays visible while the next loads. A null key loads
 * nothing yet (for data wanted only after something else). initial, when
 * given, is asked once for data already at hand (ApiClient.take of a
 * prefetch), which the first render then shows without loading it.
 */
export function useFetch<T>(load: (signal: AbortSignal) => Promise<T>, key: string | null, initial?: () => T | undefined): FetchState<T> {
  const loadRef = useRef(load);
  useEffect(() => {
    loadRef.current = load;
  });
  const [generation, setGeneration] = useState(0);
  const want = key === null ? null : `${generation}\u0000${key}`;
  const [settled, setSettled] = useState<Settled<T>>(() => {
    const data = want === null ? undefined : initial?.();
    return data === undefined || want === null ? { key: '' } : { key: want, data };
  });
  // The key whose data came from initial, which needs no load.
  const given = useRef(settled.key);

  useEffect(() => {
    if (want === null) return;
    if (want === given.current) {
      given.current = '';
      return;
    }
    const ctrl = new AbortController();
    loadRef.current(ctrl.signal).then(
      (data) => {
        if (!ctrl.signal.aborted) setSettled({ key: want, data });
      },
      (error: unknown) => {
        if (!ctrl.signal.aborted) setSettled((prev) => ({ key: want, data: prev.data, error }));
      },
    );
    return () => ctrl.abort();
  }, [want]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  const current = want === null || settled.key === want;
  return {
    data: settled.data,
    error: current ? settled.error : undefined,
    loading: !current,
    reload,
  };
}
