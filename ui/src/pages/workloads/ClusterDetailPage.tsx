import {
  Breadcrumb,
  BreadcrumbItem,
  Card,
  CardBody,
  CardTitle,
  Content,
  DescriptionList,
  DescriptionListDescription,
  DescriptionListGroup,
  DescriptionListTerm,
  Grid,
  GridItem,
  Label,
  LabelGroup,
  PageSection,
  Title,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import type { ReactNode } from 'react';
import { Link, useParams } from 'react-router';
import { withQuery } from '../../api/client';
import { useApi } from '../../api/context';
import { getCluster, type ClusterDetail } from '../../api/workloads';
import { ErrorState, LoadingState } from '../../components/StateViews';
import { formatTime, plural } from '../../format';
import { useFetch } from '../../hooks/useFetch';
import { statusReason } from './format';
import { ClusterStatusLabel, ViolationCounts } from './ViolationCounts';

function Term({ term, children }: { term: string; children: ReactNode }) {
  return (
    <DescriptionListGroup>
      <DescriptionListTerm>{term}</DescriptionListTerm>
      <DescriptionListDescription>{children || '—'}</DescriptionListDescription>
    </DescriptionListGroup>
  );
}

function Section({ id, title, children }: { id: string; title: string; children: ReactNode }) {
  return (
    <Card component="section" aria-labelledby={id} isFullHeight>
      <CardTitle>
        <Title headingLevel="h2" size="lg" id={id}>
          {title}
        </Title>
      </CardTitle>
      <CardBody>{children}</CardBody>
    </Card>
  );
}

function ClusterView({ detail }: { detail: ClusterDetail }) {
  const c = detail.cluster;
  const deployments = withQuery('/deployments', { cluster: c.name });
  const violations = withQuery('/violations', { state: 'ACTIVE', cluster: c.name });
  return (
    <>
      <PageSection>
        <Breadcrumb>
          <BreadcrumbItem render={() => <Link to="/clusters">Clusters</Link>} />
          <BreadcrumbItem isActive>{c.name}</BreadcrumbItem>
        </Breadcrumb>
        <Title headingLevel="h1" className="pf-v6-u-mt-md">
          {c.name}
        </Title>
        <LabelGroup>
          <ClusterStatusLabel status={c.status} />
          <Label variant="outline">{c.connected ? 'Sensor connected' : 'Sensor disconnected'}</Label>
        </LabelGroup>
      </PageSection>
      <PageSection>
        <Grid hasGutter>
          <GridItem lg={6}>
            <Section id="cluster-health" title="Health">
              <Content component="p" data-testid="cluster-health-reason">
                {statusReason(c.status, c.connected)}
              </Content>
              <DescriptionList isHorizontal isCompact>
                <Term term="Last contact">
                  <time dateTime={c.lastContact}>{formatTime(c.lastContact)}</time>
                </Term>
                <Term term="Sensor version">{c.sensorVersion}</Term>
                <Term term="Kubernetes version">{c.kubernetesVersion}</Term>
                <Term term="Capabilities">
                  {c.capabilities.length > 0 && (
                    <LabelGroup>
                      {c.capabilities.map((cap) => (
                        <Label key={cap} variant="outline">
                          {cap}
                        </Label>
                      ))}
                    </LabelGroup>
                  )}
                </Term>
                <Term term="Init bundle">{c.initBundleId && <code>{c.initBundleId}</code>}</Term>
                <Term term="First connected">
                  <time dateTime={c.createdAt}>{formatTime(c.createdAt)}</time>
                </Term>
              </DescriptionList>
            </Section>
          </GridItem>
          <GridItem lg={6}>
            <Section id="cluster-workloads" title="Workloads">
              <DescriptionList isHorizontal isCompact>
                <Term term="Deployments">
                  <Link to={deployments} data-testid="cluster-deployments">
                    {plural(c.deployments, 'deployment')}
                  </Link>
                </Term>
                <Term term="Namespaces">{plural(c.namespaces, 'namespace')}</Term>
                <Term term="Open violations">
                  {c.violations.total > 0 ? (
                    <>
                      <Link to={violations} data-testid="cluster-violations">
                        {plural(c.violations.total, 'open violation')}
                      </Link>{' '}
                      <ViolationCounts counts={c.violations} />
                    </>
                  ) : (
                    'None'
                  )}
                </Term>
              </DescriptionList>
            </Section>
          </GridItem>
          <GridItem span={12}>
            <Section id="cluster-namespaces" title="Namespaces">
              {detail.namespaces.length === 0 ? (
                <p>Sensor has reported no deployments in this cluster.</p>
              ) : (
                <Table aria-label="Namespaces" variant="compact" data-testid="namespaces-table">
                  <Thead>
                    <Tr>
                      <Th>Namespace</Th>
                      <Th>Deployments</Th>
                      <Th>Open violations</Th>
                    </Tr>
                  </Thead>
                  <Tbody>
                    {detail.namespaces.map((ns) => (
                      <Tr key={ns.name}>
                        <Td dataLabel="Namespace">
                          <Link to={withQuery('/deployments', { cluster: c.name, namespace: ns.name })}>{ns.name}</Link>
                        </Td>
                        <Td dataLabel="Deployments">{ns.deployments}</Td>
                        <Td dataLabel="Open violations">
                          {ns.violations.total > 0 ? (
                            <Link
                              to={withQuery('/violations', { state: 'ACTIVE', cluster: c.name, namespace: ns.name })}
                              aria-label={`${plural(ns.violations.total, 'open violation')} in ${ns.name}`}
                            >
                              <ViolationCounts counts={ns.violations} />
                            </Link>
                          ) : (
                            <ViolationCounts counts={ns.violations} />
                          )}
                        </Td>
                      </Tr>
                    ))}
                  </Tbody>
                </Table>
              )}
            </Section>
          </GridItem>
        </Grid>
      </PageSection>
    </>
  );
}

/** One secured cluster: its health, its workloads and its namespaces. */
export function ClusterDetailPage() {
  const { id = '' } = useParams();
  const api = useApi();
  const loaded = useFetch((signal) => getCluster(api, id, signal), id);
  if (loaded.error !== undefined) {
    return (
      <PageSection>
        <ErrorState title="The cluster could not be loaded" error={loaded.error} onRetry={loaded.reload} />
      </PageSection>
    );
  }
  if (!loaded.data || loaded.data.cluster.id !== id) {
    return (
      <PageSection>
        <LoadingState label="Loading the cluster" />
      </PageSection>
    );
  }
  return <ClusterView detail={loaded.data} />;
}
