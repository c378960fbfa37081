import type { Place } from './queries';
import { Card, CardBody, CardFooter, CardTitle, Content, Flex, FlexItem, List, ListItem, Title } from '@patternfly/react-core';
import { t_chart_color_blue_200, t_chart_color_orange_200 } from '@patternfly/react-tokens';
import type { ChartConfiguration } from 'chart.js';
import { useMemo, type ReactNode } from 'react';
import { Link } from 'react-router';
import { errorMessage, withQuery } from '../../api/client';
import type { GroupCount, Severity } from '../../api/types';
import type { FixableImageList } from '../../api/vulns';
import type { DeploymentList } from '../../api/workloads';
import { RiskScore } from '../workloads/RiskScore';
import type { FetchState } from '../../hooks/useFetch';
import { CanvasChart } from '../../components/CanvasChart';
import { FixedTable, FixedTbody, FixedTd, FixedTh, FixedThead, FixedTr } from '../../components/FixedTable';
import { SeverityLabel } from '../../components/Labels';
import { SEVERITY_CHART_COLORS } from '../../components/severityColors';
import { SEVERITIES, formatCount, formatDay, plural, severityLabel, windowStart } from '../../format';
import { violationsLink } from './links';

export type { Place };

/** A dashboard tile: a titled card whose footer links to the list behind it. */
function Tile({ id, title, children, link, linkText }: { id: string; title: string; children: ReactNode; link: string; linkText: string }) {
  return (
    <Card id={id} isFullHeight component="section" aria-labelledby={`${id}-title`}>
      <CardTitle>
        <Title headingLevel="h2" size="lg" id={`${id}-title`}>
          {title}
        </Title>
      </CardTitle>
      <CardBody>{children}</CardBody>
      <CardFooter>
        <Link to={link}>{linkText}</Link>
      </CardFooter>
    </Card>
  );
}

export function TotalTile({ total, place }: { total: number; place: Place }) {
  return (
    <Tile id="tile-total" title="Active violations" link={violationsLink(place)} linkText="View all active violations">
      <p className="stk-big-number" data-testid="total-violations">
        {formatCount(total)}
      </p>
      <Content component="small">{place.cluster || place.namespace ? 'In the selected scope' : 'In every cluster'}</Content>
    </Tile>
  );
}

/**
 * Whole-number ticks of a count axis, written by formatCount: Chart.js's
 * own labels use Intl.NumberFormat, whose first use costs about 30 ms.
 */
const countTicks = { precision: 0, callback: (value: number | string) => formatCount(Number(value)) };

/** The count of each severity, most severe first, zeros included. */
function severityRows(counts: GroupCount[]): { severity: Severity; count: number }[] {
  const bySeverity = new Map(counts.map((c) => [c.severity, c.count]));
  return SEVERITIES.map((s) => ({ severity: s, count: bySeverity.get(s) ?? 0 }));
}

export function SeverityTile({ counts, total, place }: { counts: GroupCount[]; total: number; place: Place }) {
  const rows = useMemo(() => severityRows(counts), [counts]);
  const shown = rows.filter((r) => r.count > 0);
  const donut = useMemo((): ChartConfiguration<'doughnut'> => {
    const slices = rows.filter((r) => r.count > 0);
    return {
      type: 'doughnut',
      data: {
        labels: slices.map((r) => severityLabel(r.severity)),
        datasets: [
          {
            data: slices.map((r) => r.count),
            backgroundColor: slices.map((r) => SEVERITY_CHART_COLORS[r.severity]),
            borderWidth: 1,
          },
        ],
      },
      options: {
        cutout: '82%',
        plugins: { tooltip: { callbacks: { label: (item) => `${item.label}: ${formatCount(item.parsed)}` } } },
      },
    };
  }, [rows]);
  return (
    <Tile
      id="tile-severity"
      title="Violations by severity"
      link={violationsLink(place, { sort: 'severity' })}
      linkText="View violations by severity"
    >
      <Flex alignItems={{ default: 'alignItemsCenter' }} flexWrap={{ default: 'nowrap' }}>
        <FlexItem className="stk-donut">
          <CanvasChart
            config={donut}
            height={180}
            label={`Violations by severity: ${shown.map((r) => `${severityLabel(r.severity)} ${r.count}`).join(', ') || 'none'}`}
          />
          <div className="stk-donut-center" aria-hidden="true">
            <span className="stk-donut-total">{formatCount(total)}</span>
            <span className="stk-donut-subtitle">violations</span>
          </div>
        </FlexItem>
        <FlexItem>
          <List isPlain aria-label="Violations by severity">
            {rows.map((r) => (
              <ListItem key={r.severity}>
                <Link
                  to={violationsLink(place, { severity: r.severity })}
                  aria-label={`${plural(r.count, 'violation')} of ${severityLabel(r.severity)} severity`}
                >
                  <SeverityLabel severity={r.severity} /> <span data-testid={`severity-${r.severity}`}>{r.count}</span>
                </Link>
              </ListItem>
            ))}
          </List>
        </FlexItem>
      </Flex>
    </Tile>
  );
}

export function CategoryTile({ counts, place }: { counts: GroupCount[]; place: Place }) {
  const bars = useMemo(
    (): ChartConfiguration<'bar'> => ({
      type: 'bar',
      data: {
        labels: counts.map((c) => c.category ?? ''),
        datasets: [{ data: counts.map((c) => c.count), backgroundColor: t_chart_color_blue_200.value, barThickness: 18 }],
      },
      options: {
        indexAxis: 'y',
        scales: {
          x: { beginAtZero: true, ticks: countTicks },
          y: { grid: { display: false } },
        },
        plugins: { tooltip: { callbacks: { label: (item) => plural(item.parsed.x ?? 0, 'violation') } } },
      },
    }),
    [counts],
  );
  return (
    <Tile id="tile-category" title="Violations by category" link={violationsLink(place)} linkText="View all active violations">
      {counts.length === 0 ? (
        <p>No category has violations.</p>
      ) : (
        <>
          <CanvasChart
            config={bars}
            height={Math.max(120, counts.length * 32 + 50)}
            label={`Violations by policy category: ${counts.map((c) => `${c.category} ${c.count}`).join(', ')}`}
          />
          <List isPlain isBordered aria-label="Violations by category" className="stk-tile-list">
            {counts.map((c) => (
              <ListItem key={c.category}>
                <Link to={violationsLink(place, { category: c.category })}>
                  {c.category}: {plural(c.count, 'violation')}
                </Link>
              </ListItem>
            ))}
          </List>
        </>
      )}
    </Tile>
  );
}

export function TimelineTile({ counts, days, place }: { counts: GroupCount[]; days: number; place: Place }) {
  const total = counts.reduce((n, c) => n + c.count, 0);
  const area = useMemo(
    (): ChartConfiguration<'line'> => ({
      type: 'line',
      data: {
        labels: counts.map((c) => formatDay(c.day ?? '')),
        datasets: [
          {
            data: counts.map((c) => c.count),
            borderColor: t_chart_color_orange_200.value,
            // PatternFly's area charts fill at 30% opacity.
            backgroundColor: `${t_chart_color_orange_200.value}4d`,
            borderWidth: 2,
            fill: 'origin',
            cubicInterpolationMode: 'monotone',
            pointRadius: 0,
            pointHoverRadius: 4,
          },
        ],
      },
      options: {
        interaction: { mode: 'index', intersect: false },
        scales: {
          x: { grid: { display: false }, ticks: { maxTicksLimit: 6, maxRotation: 0 } },
          y: { beginAtZero: true, suggestedMax: 4, ticks: countTicks },
        },
        plugins: { tooltip: { callbacks: { label: (item) => plural(item.parsed.y ?? 0, 'violation') } } },
      },
    }),
    [counts],
  );
  const perDay = counts.filter((c) => c.count > 0).map((c) => `${c.day}: ${c.count}`);
  return (
    <Tile
      id="tile-timeline"
      title={`Violations over the last ${days} days`}
      link={violationsLink(place, { since: windowStart(days), sort: 'time' })}
      linkText={`View the ${plural(total, 'violation')} of the last ${days} days`}
    >
      <CanvasChart
        config={area}
        height={200}
        label={`Active violations found per day over the last ${days} days: ${perDay.join(', ') || 'none'}`}
      />
    </Tile>
  );
}

/**
 * The body of a tile whose data loads after the others: why it failed,
 * that it is loading, the words for an empty answer, or the data drawn.
 */
function Loaded<T>({
  state,
  what,
  empty,
  children,
}: {
  state: FetchState<T>;
  /** What loads, in the plural: "deployments". */
  what: string;
  /** The sentence shown instead of the data when it has no rows, or undefined. */
  empty: (data: T) => string | undefined;
  children: (data: T) => ReactNode;
}) {
  if (state.error !== undefined) {
    return (
      <p>
        The {what} could not be loaded: {errorMessage(state.error)}
      </p>
    );
  }
  if (!state.data) return <p>Loading the {what}…</p>;
  const none = empty(state.data);
  return none === undefined ? children(state.data) : <p>{none}</p>;
}

/** The deployments in place with the highest risk scores, and why. */
export function DeploymentsTile({ state, place }: { state: FetchState<DeploymentList>; place: Place }) {
  const body = (
    <Loaded state={state} what="deployments" empty={(data) => (data.deployments.length === 0 ? 'No deployment in this scope.' : undefined)}>
      {(data) => (
        <FixedTable aria-label="Deployments with the highest risk">
          <FixedThead>
            <FixedTr>
              <FixedTh>Deployment</FixedTh>
              <FixedTh>Cluster / namespace</FixedTh>
              <FixedTh>Risk</FixedTh>
              <FixedTh className="pf-v6-u-text-align-right">Violations</FixedTh>
              <FixedTh className="pf-v6-u-text-align-right">CVEs</FixedTh>
            </FixedTr>
          </FixedThead>
          <FixedTbody>
            {data.deployments.map((d) => (
              <FixedTr key={d.id} data-testid="riskiest-row">
                <FixedTd dataLabel="Deployment">
                  <Link to={`/deployments/${encodeURIComponent(d.id)}`}>{d.name}</Link>
                </FixedTd>
                <FixedTd dataLabel="Cluster / namespace">
                  <Link to={withQuery('/deployments', { cluster: d.cluster, namespace: d.namespace, sort: '-risk' })}>
                    {[d.cluster, d.namespace].filter(Boolean).join(' / ') || '—'}
                  </Link>
                </FixedTd>
                <FixedTd dataLabel="Risk">
                  <RiskScore risk={d.risk} />
                </FixedTd>
                <FixedTd dataLabel="Violations" className="pf-v6-u-text-align-right" data-testid="risk-violations">
                  {d.risk.violations.total}
                  {d.risk.violations.critical > 0 && <Content component="small"> ({d.risk.violations.critical} critical)</Content>}
                </FixedTd>
                <FixedTd dataLabel="CVEs" className="pf-v6-u-text-align-right" data-testid="risk-cves">
                  {d.risk.cves.total}
                  {d.risk.cves.critical > 0 && <Content component="small"> ({d.risk.cves.critical} critical)</Content>}
                </FixedTd>
              </FixedTr>
            ))}
          </FixedTbody>
        </FixedTable>
      )}
    </Loaded>
  );
  return (
    <Tile
      id="tile-deployments"
      title="Top riskiest deployments"
      link={withQuery('/deployments', { cluster: place.cluster, namespace: place.namespace, sort: '-risk' })}
      linkText="View all deployments by risk"
    >
      {body}
    </Tile>
  );
}

export function NamespacesTile({ counts, place }: { counts: GroupCount[]; place: Place }) {
  return (
    <Tile
      id="tile-namespaces"
      title="Violations per cluster and namespace"
      link={violationsLink(place)}
      linkText="View all active violations"
    >
      {counts.length === 0 ? (
        <p>No namespace has active violations.</p>
      ) : (
        <FixedTable aria-label="Violations per cluster and namespace">
          <FixedThead>
            <FixedTr>
              <FixedTh>Cluster</FixedTh>
              <FixedTh>Namespace</FixedTh>
              <FixedTh className="pf-v6-u-text-align-right">Violations</FixedTh>
            </FixedTr>
          </FixedThead>
          <FixedTbody>
            {counts.map((c) => (
              <FixedTr key={`${c.cluster}/${c.namespace}`}>
                <FixedTd dataLabel="Cluster">{c.cluster || '—'}</FixedTd>
                <FixedTd dataLabel="Namespace">{c.namespace || '—'}</FixedTd>
                <FixedTd dataLabel="Violations" className="pf-v6-u-text-align-right">
                  <Link
                    to={violationsLink({ cluster: c.cluster ?? '', namespace: c.namespace ?? '' })}
                    aria-label={`${plural(c.count, 'violation')} in ${[c.cluster, c.namespace].filter(Boolean).join(' / ') || 'no namespace'}`}
                  >
                    {c.count}
                  </Link>
                </FixedTd>
              </FixedTr>
            ))}
          </FixedTbody>
        </FixedTable>
      )}
    </Tile>
  );
}

/** The images with the most fixable critical and important CVEs in place. */
export function FixableImagesTile({ state }: { state: FetchState<FixableImageList> }) {
  const body = (
    <Loaded
      state={state}
      what="images"
      empty={(data) => (data.images.length === 0 ? 'No scanned image has a fixable critical or important CVE.' : undefined)}
    >
      {(data) => (
        <FixedTable aria-label="Images with the most fixable critical and important CVEs">
          <FixedThead>
            <FixedTr>
              <FixedTh>Image</FixedTh>
              <FixedTh className="pf-v6-u-text-align-right">Fixable critical</FixedTh>
              <FixedTh className="pf-v6-u-text-align-right">Fixable important</FixedTh>
            </FixedTr>
          </FixedThead>
          <FixedTbody>
            {data.images.map((im) => (
              <FixedTr key={im.digest}>
                <FixedTd dataLabel="Image" breakWord>
                  <Link to={`/vulnerabilities/images/${encodeURIComponent(im.digest)}`}>{im.name}</Link>
                </FixedTd>
                <FixedTd dataLabel="Fixable critical" className="pf-v6-u-text-align-right">
                  {im.critical}
                </FixedTd>
                <FixedTd dataLabel="Fixable important" className="pf-v6-u-text-align-right">
                  {im.important}
                </FixedTd>
              </FixedTr>
            ))}
          </FixedTbody>
        </FixedTable>
      )}
    </Loaded>
  );
  return (
    <Tile
      id="tile-fixable-images"
      title="Images with the most fixable critical and important CVEs"
      link={withQuery('/vulnerabilities/images', { fixable: 'true', sort: '-fixable' })}
      linkText="View images with fixable CVEs"
    >
      {body}
    </Tile>
  );
}
