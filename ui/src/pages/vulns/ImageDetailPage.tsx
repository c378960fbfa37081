import { Breadcrumb, BreadcrumbItem, Content, DescriptionList, Grid, GridItem, PageSection, Title } from '@patternfly/react-core';
import { ExpandableRowContent, Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { useApi } from '../../api/context';
import { getImageScan, imageDeployments, type ScanComponent, type ScanImage } from '../../api/vulns';
import { EmptyListState, ErrorState, LoadingState } from '../../components/StateViews';
import { FixableLabel, SeverityCounts, VulnSeverityLabel } from '../../components/VulnLabels';
import { formatTime, placeLabel, plural } from '../../format';
import { useFetch } from '../../hooks/useFetch';
import { cveHref, deploymentHref, formatBytes, formatCvss, shortDigest } from '../../vulnFormat';
import { DetailState, Section, Term } from './parts';

/** Counts of a scan's distinct CVEs by their highest severity. */
function counts(img: ScanImage) {
  const worst = new Map<string, number>();
  const rank: Record<string, number> = { CRITICAL: 4, IMPORTANT: 3, MODERATE: 2, LOW: 1 };
  for (const c of img.components) {
    for (const v of c.vulns ?? []) worst.set(v.id, Math.max(worst.get(v.id) ?? 0, rank[v.severity] ?? 0));
  }
  const n = (r: number) => [...worst.values()].filter((x) => x === r).length;
  return { total: worst.size, critical: n(4), important: n(3), moderate: n(2), low: n(1) };
}

function Layers({ img }: { img: ScanImage }) {
  const layers = img.metadata.layers ?? [];
  if (layers.length === 0) return <>The image records no history.</>;
  return (
    <Table aria-label="Layers" variant="compact">
      <Thead>
        <Tr>
          <Th>#</Th>
          <Th>Dockerfile line</Th>
          <Th>Size</Th>
          <Th>Layer</Th>
        </Tr>
      </Thead>
      <Tbody>
        {layers.map((l, i) => (
          <Tr key={i}>
            <Td dataLabel="#">{i + 1}</Td>
            <Td dataLabel="Dockerfile line">
              <code>
                {l.instruction} {l.value}
              </code>
            </Td>
            <Td dataLabel="Size">{l.empty ? 'empty' : formatBytes(l.size)}</Td>
            <Td dataLabel="Layer">{l.digest ? <code title={l.digest}>{shortDigest(l.digest)}</code> : '—'}</Td>
          </Tr>
        ))}
      </Tbody>
    </Table>
  );
}

/** The components, worst first, each expanding to its CVEs. */
function Components({ img }: { img: ScanImage }) {
  const [open, setOpen] = useState<Set<number>>(new Set());
  const layerLine = new Map<string, string>();
  img.metadata.layers?.forEach((l, i) => {
    if (l.digest) layerLine.set(l.digest, `${i + 1}: ${l.instruction}`);
  });
  const comps = [...img.components].sort(
    (a, b) => (b.vulns?.length ?? 0) - (a.vulns?.length ?? 0) || a.name.localeCompare(b.name) || a.version.localeCompare(b.version),
  );
  if (comps.length === 0) return <>No components were found.</>;
  const toggle = (i: number) =>
    setOpen((prev) => {
      const next = new Set(prev);
      if (next.has(i)) next.delete(i);
      else next.add(i);
      return next;
    });
  return (
    <Table aria-label="Components" variant="compact">
      <Thead>
        <Tr>
          <Th screenReaderText="Show CVEs" />
          <Th>Component</Th>
          <Th>Version</Th>
          <Th>Type</Th>
          <Th>Source</Th>
          <Th>Layer</Th>
          <Th>CVEs</Th>
        </Tr>
      </Thead>
      {comps.map((c: ScanComponent, i) => {
        const vulns = c.vulns ?? [];
        const expanded = open.has(i);
        return (
          <Tbody key={`${c.name}-${c.version}-${c.path ?? ''}-${i}`} isExpanded={expanded}>
            <Tr>
              <Td
                expand={
                  vulns.length > 0
                    ? { rowIndex: i, isExpanded: expanded, onToggle: () => toggle(i), expandId: `component-${i}` }
                    : undefined
                }
              />
              <Td dataLabel="Component">{c.name}</Td>
              <Td dataLabel="Version">{c.version}</Td>
              <Td dataLabel="Type">{c.ecosystem || '—'}</Td>
              <Td dataLabel="Source">{c.sourceName || c.path || '—'}</Td>
              <Td dataLabel="Layer">{(c.layer && layerLine.get(c.layer)) || shortDigest(c.layer) || '—'}</Td>
              <Td dataLabel="CVEs">{vulns.length}</Td>
            </Tr>
            {vulns.length > 0 && (
              <Tr isExpanded={expanded}>
                <Td colSpan={7}>
                  <ExpandableRowContent>
                    <Table aria-label={`CVEs of ${c.name} ${c.version}`} variant="compact" borders={false}>
                      <Thead>
                        <Tr>
                          <Th>CVE</Th>
                          <Th>Severity</Th>
                          <Th>CVSS</Th>
                          <Th>Fixed by</Th>
                          <Th>Summary</Th>
                        </Tr>
                      </Thead>
                      <Tbody>
                        {vulns.map((v) => (
                          <Tr key={v.id}>
                            <Td dataLabel="CVE">
                              <Link to={cveHref(v.id)}>{v.id}</Link>
                            </Td>
                            <Td dataLabel="Severity">
                              <VulnSeverityLabel severity={v.severity} />
                            </Td>
                            <Td dataLabel="CVSS">{formatCvss(v.cvss)}</Td>
                            <Td dataLabel="Fixed by">{v.fixedBy ? v.fixedBy : <FixableLabel fixable={false} />}</Td>
                            <Td dataLabel="Summary">{v.summary || '—'}</Td>
                          </Tr>
                        ))}
                      </Tbody>
                    </Table>
                  </ExpandableRowContent>
                </Td>
              </Tr>
            )}
          </Tbody>
        );
      })}
    </Table>
  );
}

function Deployments({ digest }: { digest: string }) {
  const api = useApi();
  const deps = useFetch((signal) => imageDeployments(api, digest, signal), digest);
  if (deps.error !== undefined) return <ErrorState title="Deployments could not be loaded" error={deps.error} onRetry={deps.reload} />;
  if (!deps.data) return <LoadingState label="Loading the deployments" />;
  if (deps.data.total === 0) {
    return (
      <EmptyListState title="No deployments" filtered={false}>
        No known deployment runs this image.
      </EmptyListState>
    );
  }
  return (
    <>
      <Table aria-label="Deployments running the image" variant="compact">
        <Thead>
          <Tr>
            <Th>Deployment</Th>
            <Th>Cluster / namespace</Th>
          </Tr>
        </Thead>
        <Tbody>
          {deps.data.deployments.map((d) => (
            <Tr key={d.id}>
              <Td dataLabel="Deployment">
                <Link to={deploymentHref(d.id)}>{d.name}</Link>
              </Td>
              <Td dataLabel="Cluster / namespace">{placeLabel(d.cluster, d.namespace)}</Td>
            </Tr>
          ))}
        </Tbody>
      </Table>
      {deps.data.total > deps.data.deployments.length && (
        <Content component="small">
          Showing {deps.data.deployments.length} of {plural(deps.data.total, 'deployment')}.
        </Content>
      )}
    </>
  );
}

function ImageDetailView({ img }: { img: ScanImage }) {
  const c = counts(img);
  const m = img.metadata;
  return (
    <>
      <PageSection>
        <Breadcrumb>
          <BreadcrumbItem render={() => <Link to="/vulnerabilities/images">Images</Link>} />
          <BreadcrumbItem isActive>{img.fullName}</BreadcrumbItem>
        </Breadcrumb>
        <Title headingLevel="h1" className="pf-v6-u-mt-md">
          {img.fullName}
        </Title>
        <Content component="p">
          {plural(c.total, 'CVE')} in {plural(img.components.length, 'component')}
        </Content>
        <SeverityCounts critical={c.critical} important={c.important} moderate={c.moderate} low={c.low} total={c.total} />
      </PageSection>
      <PageSection>
        <Grid hasGutter>
          <GridItem lg={6}>
            <Section id="image-metadata" title="Metadata">
              <DescriptionList isHorizontal isCompact>
                <Term term="Digest">
                  <code>{img.digest}</code>
                </Term>
                <Term term="Operating system">{img.os?.prettyName ?? img.os?.id}</Term>
                <Term term="Platform">{img.platform}</Term>
                <Term term="Created">{m.created && <time dateTime={m.created}>{formatTime(m.created)}</time>}</Term>
                <Term term="Scanned">
                  <time dateTime={img.scanTime}>{formatTime(img.scanTime)}</time>
                </Term>
                <Term term="User">{m.user}</Term>
                <Term term="Entrypoint">{m.entrypoint && <code>{m.entrypoint.join(' ')}</code>}</Term>
                <Term term="Command">{m.cmd && <code>{m.cmd.join(' ')}</code>}</Term>
              </DescriptionList>
            </Section>
          </GridItem>
          <GridItem lg={6}>
            <Section id="image-deployments" title="Deployments">
              <Deployments digest={img.digest} />
            </Section>
          </GridItem>
          <GridItem span={12}>
            <Section id="image-layers" title="Layers">
              <Layers img={img} />
            </Section>
          </GridItem>
          <GridItem span={12}>
            <Section id="image-components" title="Components">
              <Components img={img} />
            </Section>
          </GridItem>
        </Grid>
      </PageSection>
    </>
  );
}

/** One scanned image: metadata, layers with their Dockerfile lines, components and their CVEs. */
export function ImageDetailPage() {
  const { digest = '' } = useParams();
  const api = useApi();
  const img = useFetch((signal) => getImageScan(api, digest, signal), digest);
  if (img.data?.digest !== digest) return <DetailState state={img} what="image" />;
  return <ImageDetailView img={img.data} />;
}
