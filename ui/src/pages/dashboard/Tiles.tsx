import '@patternfly/patternfly/patternfly-charts.css';
import type { Place } from './queries';
import { Card, CardBody, CardFooter, CardTitle, Content, Flex, FlexItem, List, ListItem, Title } from '@patternfly/react-core';
import {
  Chart,
  ChartArea,
  ChartAxis,
  ChartBar,
  ChartDonut,
  ChartGroup,
  ChartThemeColor,
  ChartVoronoiContainer,
} from '@patternfly/react-charts/victory';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import type { ReactNode } from 'react';
import { Link } from 'react-router';
import { errorMessage, withQuery } from '../../api/client';
import type { GroupCount } from '../../api/types';
import type { FixableImageList } from '../../api/vulns';
import type { DeploymentList } from '../../api/workloads';
import { RiskScore } from '../workloads/RiskScore';
import type { FetchState } from '../../hooks/useFetch';
import { SeverityLabel } from '../../components/Labels';
import { SEVERITY_CHART_COLORS } from '../../components/severityColors';
import { SEVERITIES, formatCount, formatDay, plural, severityLabel, windowStart } from '../../format';
import { violationsLink } from './links';

export type { Place };

/** Gives a chart its height: the charts scale to the width of their box. */
function ChartBox({ height, children }: { height: number; children: ReactNode }) {
  return (
    <div className="stk-chart" style={{ height: `${height}px` }}>
      {children}
    </div>
  );
}

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

export function SeverityTile({ counts, total, place }: { counts: GroupCount[]; total: number; place: Place }) {
  const bySeverity = new Map(counts.map((c) => [c.severity, c.count]));
  const rows = SEVERITIES.map((s) => ({ severity: s, count: bySeverity.get(s) ?? 0 }));
  const shown = rows.filter((r) => r.count > 0);
  return (
    <Tile
      id="tile-severity"
      title="Violations by severity"
      link={violationsLink(place, { sort: 'severity' })}
      linkText="View violations by severity"
    >
      <Flex alignItems={{ default: 'alignItemsCenter' }} flexWrap={{ default: 'nowrap' }}>
        <FlexItem className="stk-donut">
          <ChartDonut
            ariaTitle="Violations by severity"
            ariaDesc={shown.map((r) => `${severityLabel(r.severity)}: ${r.count}`).join(', ')}
            constrainToVisibleArea
            data={shown.map((r) => ({ x: severityLabel(r.severity), y: r.count }))}
            colorScale={shown.map((r) => SEVERITY_CHART_COLORS[r.severity])}
            labels={({ datum }: { datum: { x: string; y: number } }) => `${datum.x}: ${datum.y}`}
            title={formatCount(total)}
            subTitle="violations"
            height={180}
            width={180}
            padding={10}
          />
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
  const data = [...counts].reverse().map((c) => ({ x: c.category ?? '', y: c.count }));
  const categoryHeight = Math.max(120, counts.length * 32 + 50);
  return (
    <Tile id="tile-category" title="Violations by category" link={violationsLink(place)} linkText="View all active violations">
      {counts.length === 0 ? (
        <p>No category has violations.</p>
      ) : (
        <>
          <ChartBox height={categoryHeight}>
            <Chart
              ariaTitle="Violations by policy category"
              ariaDesc={counts.map((c) => `${c.category}: ${c.count}`).join(', ')}
              horizontal
              domainPadding={{ x: [12, 12] }}
              height={categoryHeight}
              width={520}
              padding={{ top: 10, bottom: 40, left: 200, right: 30 }}
              themeColor={ChartThemeColor.blue}
            >
              <ChartAxis />
              <ChartAxis dependentAxis showGrid tickFormat={(t: number) => (Number.isInteger(t) ? String(t) : '')} />
              <ChartBar data={data} barWidth={18} />
            </Chart>
          </ChartBox>
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
  const data = counts.map((c) => ({ x: new Date(`${c.day}T00:00:00Z`), y: c.count, day: c.day ?? '' }));
  const total = counts.reduce((n, c) => n + c.count, 0);
  const max = counts.reduce((m, c) => Math.max(m, c.count), 0);
  return (
    <Tile
      id="tile-timeline"
      title={`Violations over the last ${days} days`}
      link={violationsLink(place, { since: windowStart(days), sort: 'time' })}
      linkText={`View the ${plural(total, 'violation')} of the last ${days} days`}
    >
      <ChartBox height={200}>
        <Chart
          ariaTitle={`Active violations found per day over the last ${days} days`}
          ariaDesc={
            counts
              .filter((c) => c.count > 0)
              .map((c) => `${c.day}: ${c.count}`)
              .join(', ') || 'None'
          }
          containerComponent={
            <ChartVoronoiContainer
              labels={({ datum }: { datum: { day: string; y: number } }) => `${formatDay(datum.day)}: ${datum.y}`}
              constrainToVisibleArea
            />
          }
          scale={{ x: 'time', y: 'linear' }}
          domain={{ y: [0, Math.max(4, max)] }}
          height={200}
          width={620}
          padding={{ top: 20, bottom: 50, left: 50, right: 30 }}
          themeColor={ChartThemeColor.orange}
        >
          <ChartAxis tickFormat={(t: Date) => formatDay(t.toISOString().slice(0, 10))} tickCount={6} />
          <ChartAxis dependentAxis showGrid tickFormat={(t: number) => (Number.isInteger(t) ? String(t) : '')} />
          <ChartGroup>
            <ChartArea data={data} interpolation="monotoneX" />
          </ChartGroup>
        </Chart>
      </ChartBox>
    </Tile>
  );
}

/** The deployments in place with the highest risk scores, and why. */
export function DeploymentsTile({ state, place }: { state: FetchState<DeploymentList>; place: Place }) {
  let body;
  if (state.error !== undefined) {
    body = <p>The deployments could not be loaded: {errorMessage(state.error)}</p>;
  } else if (!state.data) {
    body = <p>Loading the deployments…</p>;
  } else if (state.data.deployments.length === 0) {
    body = <p>No deployment in this scope.</p>;
  } else {
    body = (
      <Table aria-label="Deployments with the highest risk" variant="compact">
        <Thead>
          <Tr>
            <Th modifier="wrap">Deployment</Th>
            <Th modifier="wrap">Cluster / namespace</Th>
            <Th modifier="wrap">Risk</Th>
            <Th modifier="wrap" className="pf-v6-u-text-align-right">
              Violations
            </Th>
            <Th modifier="wrap" className="pf-v6-u-text-align-right">
              CVEs
            </Th>
          </Tr>
        </Thead>
        <Tbody>
          {state.data.deployments.map((d) => (
            <Tr key={d.id} data-testid="riskiest-row">
              <Td dataLabel="Deployment">
                <Link to={`/deployments/${encodeURIComponent(d.id)}`}>{d.name}</Link>
              </Td>
              <Td dataLabel="Cluster / namespace">
                <Link to={withQuery('/deployments', { cluster: d.cluster, namespace: d.namespace, sort: '-risk' })}>
                  {[d.cluster, d.namespace].filter(Boolean).join(' / ') || '—'}
                </Link>
              </Td>
              <Td dataLabel="Risk">
                <RiskScore risk={d.risk} />
              </Td>
              <Td dataLabel="Violations" className="pf-v6-u-text-align-right" data-testid="risk-violations">
                {d.risk.violations.total}
                {d.risk.violations.critical > 0 && <Content component="small"> ({d.risk.violations.critical} critical)</Content>}
              </Td>
              <Td dataLabel="CVEs" className="pf-v6-u-text-align-right" data-testid="risk-cves">
                {d.risk.cves.total}
                {d.risk.cves.critical > 0 && <Content component="small"> ({d.risk.cves.critical} critical)</Content>}
              </Td>
            </Tr>
          ))}
        </Tbody>
      </Table>
    );
  }
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
        <Table aria-label="Violations per cluster and namespace" variant="compact">
          <Thead>
            <Tr>
              <Th modifier="wrap">Cluster</Th>
              <Th modifier="wrap">Namespace</Th>
              <Th modifier="wrap" className="pf-v6-u-text-align-right">
                Violations
              </Th>
            </Tr>
          </Thead>
          <Tbody>
            {counts.map((c) => (
              <Tr key={`${c.cluster}/${c.namespace}`}>
                <Td dataLabel="Cluster">{c.cluster || '—'}</Td>
                <Td dataLabel="Namespace">{c.namespace || '—'}</Td>
                <Td dataLabel="Violations" className="pf-v6-u-text-align-right">
                  <Link
                    to={violationsLink({ cluster: c.cluster ?? '', namespace: c.namespace ?? '' })}
                    aria-label={`${plural(c.count, 'violation')} in ${[c.cluster, c.namespace].filter(Boolean).join(' / ') || 'no namespace'}`}
                  >
                    {c.count}
                  </Link>
                </Td>
              </Tr>
            ))}
          </Tbody>
        </Table>
      )}
    </Tile>
  );
}

/** The images with the most fixable critical and important CVEs in place. */
export function FixableImagesTile({ state }: { state: FetchState<FixableImageList> }) {
  let body;
  if (state.error !== undefined) {
    body = <p>The images could not be loaded: {errorMessage(state.error)}</p>;
  } else if (!state.data) {
    body = <p>Loading the images…</p>;
  } else if (state.data.images.length === 0) {
    body = <p>No scanned image has a fixable critical or important CVE.</p>;
  } else {
    body = (
      <Table aria-label="Images with the most fixable critical and important CVEs" variant="compact">
        <Thead>
          <Tr>
            <Th modifier="wrap">Image</Th>
            <Th modifier="wrap" className="pf-v6-u-text-align-right">
              Fixable critical
            </Th>
            <Th modifier="wrap" className="pf-v6-u-text-align-right">
              Fixable important
            </Th>
          </Tr>
        </Thead>
        <Tbody>
          {state.data.images.map((im) => (
            <Tr key={im.digest}>
              <Td dataLabel="Image" modifier="breakWord">
                <Link to={`/vulnerabilities/images/${encodeURIComponent(im.digest)}`}>{im.name}</Link>
              </Td>
              <Td dataLabel="Fixable critical" className="pf-v6-u-text-align-right">
                {im.critical}
              </Td>
              <Td dataLabel="Fixable important" className="pf-v6-u-text-align-right">
                {im.important}
              </Td>
            </Tr>
          ))}
        </Tbody>
      </Table>
    );
  }
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
