import { Grid, GridItem, PageSection, Title, Toolbar, ToolbarContent, ToolbarGroup } from '@patternfly/react-core';
import { memo, useCallback, useEffect } from 'react';
import { useSearchParams } from 'react-router';
import { useApi } from '../../api/context';
import { FilterSelect } from '../../components/Filters';
import { EmptyListState, ErrorState, LoadingState } from '../../components/StateViews';
import { useFetch } from '../../hooks/useFetch';
import {
  DAYS,
  fixableImages,
  riskiestDeployments,
  scopesSummary,
  takeFixableImages,
  takeRiskiestDeployments,
  takeTilesSummary,
  tilesSummary,
  type Place,
} from './queries';
import { CategoryTile, DeploymentsTile, FixableImagesTile, NamespacesTile, SeverityTile, TimelineTile, TotalTile } from './Tiles';

/**
 * The scope filter: a cluster and a namespace, both from the active
 * violations. Its choices load once the tiles have (ready): they are not
 * needed to draw the page, and the server's time goes to the tiles first.
 */
const ScopeFilter = memo(function ScopeFilter({
  cluster,
  namespace,
  ready,
  onChange,
}: {
  cluster: string;
  namespace: string;
  ready: boolean;
  onChange: (p: Partial<Place>) => void;
}) {
  const place = { cluster, namespace };
  const api = useApi();
  const scopes = useFetch((signal) => scopesSummary(api, signal), ready ? 'scopes' : null);
  const clusters = (scopes.data?.groups.cluster ?? []).map((c) => c.cluster ?? '').filter(Boolean);
  const namespaces = [
    ...new Set(
      (scopes.data?.groups.namespace ?? [])
        .filter((n) => !place.cluster || n.cluster === place.cluster)
        .map((n) => n.namespace ?? '')
        .filter(Boolean),
    ),
  ].sort();
  return (
    <Toolbar aria-label="Dashboard scope" clearAllFilters={() => onChange({ cluster: '', namespace: '' })}>
      <ToolbarContent>
        <ToolbarGroup variant="filter-group">
          <FilterSelect
            name="Cluster"
            value={place.cluster}
            options={clusters.sort().map((c) => ({ value: c, label: c }))}
            onChange={(cluster) => onChange({ cluster, namespace: '' })}
          />
          <FilterSelect
            name="Namespace"
            value={place.namespace}
            options={namespaces.map((n) => ({ value: n, label: n }))}
            onChange={(namespace) => onChange({ namespace })}
          />
        </ToolbarGroup>
      </ToolbarContent>
    </Toolbar>
  );
});

/** The security state at a glance: every tile links to the list behind it. */
export function DashboardPage() {
  const api = useApi();
  const [params, setParams] = useSearchParams();
  const place: Place = { cluster: params.get('cluster') ?? '', namespace: params.get('namespace') ?? '' };
  const key = `${place.cluster}\u0000${place.namespace}`;
  // The first render shows the data the start-up prefetch brought, when it is here.
  const summary = useFetch(
    (signal) => tilesSummary(api, place, signal),
    key,
    () => takeTilesSummary(api, place),
  );
  const fixable = useFetch(
    (signal) => fixableImages(api, place, signal),
    key,
    () => takeFixableImages(api, place),
  );
  const riskiest = useFetch(
    (signal) => riskiestDeployments(api, place, signal),
    key,
    () => takeRiskiestDeployments(api, place),
  );
  const setPlace = useCallback(
    (p: Partial<Place>) =>
      setParams((prev) => {
        const next = new URLSearchParams(prev);
        for (const [k, v] of Object.entries(p)) {
          if (v) next.set(k, v);
          else next.delete(k);
        }
        return next;
      }),
    [setParams],
  );

  useEffect(() => {
    // When the tiles are in the page (hack/bench/dashboard-paint.mjs).
    if (summary.data) performance.mark('stockade:dashboard-drawn');
  }, [summary.data]);
  let body;
  if (summary.error !== undefined) {
    body = <ErrorState title="The dashboard could not be loaded" error={summary.error} onRetry={summary.reload} />;
  } else if (!summary.data) {
    body = <LoadingState label="Loading the dashboard" />;
  } else if (summary.data.total === 0) {
    body = (
      <EmptyListState
        title="No active violations"
        filtered={Boolean(place.cluster || place.namespace)}
        onClearFilters={() => setPlace({ cluster: '', namespace: '' })}
      >
        No deployment violates an enabled policy. Violations appear here when deployments are checked with recording on (
        <code>stockade deployment check --record</code>) or reported by a secured cluster.
      </EmptyListState>
    );
  } else {
    const g = summary.data.groups;
    body = (
      <Grid hasGutter>
        <GridItem md={4} lg={3}>
          <TotalTile total={summary.data.total} place={place} />
        </GridItem>
        <GridItem md={8} lg={4}>
          <SeverityTile counts={g.severity ?? []} total={summary.data.total} place={place} />
        </GridItem>
        <GridItem md={12} lg={5}>
          <CategoryTile counts={g.category ?? []} place={place} />
        </GridItem>
        <GridItem md={12} lg={6}>
          <TimelineTile counts={g.day ?? []} days={DAYS} place={place} />
        </GridItem>
        <GridItem md={12} lg={6}>
          <DeploymentsTile state={riskiest} place={place} />
        </GridItem>
        <GridItem md={12} lg={6}>
          <NamespacesTile counts={g.namespace ?? []} place={place} />
        </GridItem>
        <GridItem md={12} lg={6}>
          <FixableImagesTile state={fixable} />
        </GridItem>
      </Grid>
    );
  }
  return (
    <>
      <PageSection>
        <Title headingLevel="h1">Dashboard</Title>
        <ScopeFilter
          cluster={place.cluster}
          namespace={place.namespace}
          ready={summary.data !== undefined || summary.error !== undefined}
          onChange={setPlace}
        />
      </PageSection>
      <PageSection aria-busy={summary.loading}>{body}</PageSection>
    </>
  );
}
