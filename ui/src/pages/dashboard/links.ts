import { withQuery, type Query } from '../../api/client';

/** The violations list filtered by the dashboard's filter plus extra. */
export function violationsLink(base: { cluster: string; namespace: string }, extra: Query = {}): string {
  return withQuery('/violations', { state: 'ACTIVE', cluster: base.cluster, namespace: base.namespace, ...extra });
}
