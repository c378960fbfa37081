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
 * previous data stays visible while the next loads.
 */
export function useFetch<T>(load: (signal: AbortSignal) => Promise<T>, key: string): FetchState<T> {
  const loadRef = useRef(load);
  useEffect(() => {
    loadRef.current = load;
  });
  const [generation, setGeneration] = useState(0);
  const [settled, setSettled] = useState<Settled<T>>({ key: '' });
  const want = `${generation}\u0000${key}`;

  useEffect(() => {
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
  const current = settled.key === want;
  return {
    data: settled.data,
    error: current ? settled.error : undefined,
    loading: !current,
    reload,
  };
}
