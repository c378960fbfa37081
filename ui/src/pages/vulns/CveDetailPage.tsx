import {
  Breadcrumb,
  BreadcrumbItem,
  Content,
  DescriptionList,
  Grid,
  GridItem,
  LabelGroup,
  List,
  ListItem,
  PageSection,
  Title,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { Link, useParams } from 'react-router';
import { useApi } from '../../api/context';
import { getCve, type CveDetail } from '../../api/vulns';
import { EmptyListState } from '../../components/StateViews';
import { FixableLabel, VulnSeverityLabel } from '../../components/VulnLabels';
import { formatTime, placeLabel, plural } from '../../format';
import { useFetch } from '../../hooks/useFetch';
import { deploymentHref, formatCvss, imageHref, shortDigest } from '../../vulnFormat';
import { DetailState, Section, Term } from './parts';

function CveDetailView({ cve }: { cve: CveDetail }) {
  const names = new Map(cve.affectedImages.map((i) => [i.id, i.name]));
  return (
    <>
      <PageSection>
        <Breadcrumb>
          <BreadcrumbItem render={() => <Link to="/vulnerabilities/cves">Workload CVEs</Link>} />
          <BreadcrumbItem isActive>{cve.id}</BreadcrumbItem>
        </Breadcrumb>
        <Title headingLevel="h1" className="pf-v6-u-mt-md">
          {cve.id}
        </Title>
        <LabelGroup className="pf-v6-u-mt-sm">
          <VulnSeverityLabel severity={cve.severity} />
          <FixableLabel fixable={cve.fixable} />
        </LabelGroup>
        {cve.summary && (
          <Content component="p" className="pf-v6-u-mt-md" data-testid="cve-description">
            {cve.summary}
          </Content>
        )}
      </PageSection>
      <PageSection>
        <Grid hasGutter>
          <GridItem lg={6}>
            <Section id="cve-overview" title="Overview">
              <DescriptionList isHorizontal isCompact>
                <Term term="CVSS">{formatCvss(cve.cvss, cve.cvssVersion)}</Term>
                <Term term="CVSS vector">{cve.cvssVector && <code>{cve.cvssVector}</code>}</Term>
                <Term term="Published">{cve.published && <time dateTime={cve.published}>{formatTime(cve.published)}</time>}</Term>
                <Term term="First seen">{cve.firstSeen && <time dateTime={cve.firstSeen}>{formatTime(cve.firstSeen)}</time>}</Term>
                <Term term="Also known as">{cve.aliases?.join(', ')}</Term>
                <Term term="Affects">
                  {plural(cve.images, 'image')}, {plural(cve.deployments, 'deployment')}
                </Term>
              </DescriptionList>
            </Section>
          </GridItem>
          <GridItem lg={6}>
            <Section id="cve-links" title="Links">
              {cve.references.length === 0 ? (
                'No references are known.'
              ) : (
                <List isPlain>
                  {cve.references.map((r) => (
                    <ListItem key={r}>
                      <a href={r} target="_blank" rel="noopener noreferrer">
                        {r}
                      </a>
                    </ListItem>
                  ))}
                </List>
              )}
            </Section>
          </GridItem>
          <GridItem span={12}>
            <Section id="cve-components" title="Affected components">
              <Table aria-label="Affected components" variant="compact">
                <Thead>
                  <Tr>
                    <Th>Component</Th>
                    <Th>Version</Th>
                    <Th>Fixed by</Th>
                    <Th>Type</Th>
                    <Th modifier="wrap">Image</Th>
                    <Th>Severity</Th>
                  </Tr>
                </Thead>
                <Tbody>
                  {cve.components.map((c, i) => (
                    <Tr key={`${c.image}-${c.name}-${c.version}-${i}`}>
                      <Td dataLabel="Component">{c.name}</Td>
                      <Td dataLabel="Version">{c.version}</Td>
                      <Td dataLabel="Fixed by">{c.fixedBy || 'Not fixed'}</Td>
                      <Td dataLabel="Type">{c.type || '—'}</Td>
                      <Td dataLabel="Image">
                        <Link to={imageHref(c.image)}>{c.imageName || names.get(c.image) || shortDigest(c.image)}</Link>
                      </Td>
                      <Td dataLabel="Severity">
                        <VulnSeverityLabel severity={c.severity} />
                      </Td>
                    </Tr>
                  ))}
                </Tbody>
              </Table>
            </Section>
          </GridItem>
          <GridItem lg={6}>
            <Section id="cve-images" title="Affected images">
              <Table aria-label="Affected images" variant="compact">
                <Thead>
                  <Tr>
                    <Th modifier="wrap">Image</Th>
                    <Th modifier="wrap">CVEs</Th>
                    <Th modifier="wrap">Scanned</Th>
                  </Tr>
                </Thead>
                <Tbody>
                  {cve.affectedImages.map((im) => (
                    <Tr key={im.id}>
                      <Td dataLabel="Image">
                        <Link to={imageHref(im.id)}>{im.name}</Link>
                      </Td>
                      <Td dataLabel="CVEs">{im.vulns}</Td>
                      <Td dataLabel="Scanned">
                        <time dateTime={im.scanTime}>{formatTime(im.scanTime)}</time>
                      </Td>
                    </Tr>
                  ))}
                </Tbody>
              </Table>
            </Section>
          </GridItem>
          <GridItem lg={6}>
            <Section id="cve-deployments" title="Affected deployments">
              {cve.affectedDeployments.length === 0 ? (
                <EmptyListState title="No deployments" filtered={false}>
                  No known deployment runs an affected image.
                </EmptyListState>
              ) : (
                <>
                  <Table aria-label="Affected deployments" variant="compact">
                    <Thead>
                      <Tr>
                        <Th modifier="wrap">Deployment</Th>
                        <Th modifier="wrap">Cluster / namespace</Th>
                        <Th modifier="wrap">Affected images</Th>
                      </Tr>
                    </Thead>
                    <Tbody>
                      {cve.affectedDeployments.map((d) => (
                        <Tr key={d.id}>
                          <Td dataLabel="Deployment">
                            <Link to={deploymentHref(d.id)}>{d.name}</Link>
                          </Td>
                          <Td dataLabel="Cluster / namespace">{placeLabel(d.cluster, d.namespace)}</Td>
                          <Td dataLabel="Affected images">{d.images.map((i) => names.get(i) ?? shortDigest(i)).join(', ')}</Td>
                        </Tr>
                      ))}
                    </Tbody>
                  </Table>
                  {cve.deployments > cve.affectedDeployments.length && (
                    <Content component="small">
                      Showing {cve.affectedDeployments.length} of {plural(cve.deployments, 'deployment')}.
                    </Content>
                  )}
                </>
              )}
            </Section>
          </GridItem>
        </Grid>
      </PageSection>
    </>
  );
}

/** One CVE: what it is, where it was found, and what fixes it. */
export function CveDetailPage() {
  const { id = '' } = useParams();
  const api = useApi();
  const cve = useFetch((signal) => getCve(api, id, signal), id);
  if (cve.data?.id !== id) return <DetailState state={cve} what="CVE" />;
  return <CveDetailView cve={cve.data} />;
}
