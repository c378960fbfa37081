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
import { errorMessage, withQuery } from '../../api/client';
import { useApi } from '../../api/context';
import { listAlerts } from '../../api/endpoints';
import { getDeployment, type DeploymentDetail, type WorkloadContainer } from '../../api/workloads';
import { SeverityLabel } from '../../components/Labels';
import { ErrorState, LoadingState } from '../../components/StateViews';
import { formatTime, plural, stageLabel } from '../../format';
import { useFetch } from '../../hooks/useFetch';
import { exposureLabel, formatCPU, formatMB, pairs, portLabel, rbacLabel } from './format';
import { RiskScore } from './RiskScore';
import { ViolationCounts } from './ViolationCounts';

/** How many open violations the page lists before linking to the rest. */
const SHOWN_VIOLATIONS = 20;

function Term({ term, children }: { term: string; children: ReactNode }) {
  return (
    <DescriptionListGroup>
      <DescriptionListTerm>{term}</DescriptionListTerm>
      <DescriptionListDescription>
        {children === '' || children === undefined || children === null ? '—' : children}
      </DescriptionListDescription>
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

function yesNo(v: boolean | null | undefined, unset = 'not set'): string {
  if (v === null || v === undefined) return unset;
  return v ? 'Yes' : 'No';
}

function Pairs({ values, empty }: { values: string[]; empty: string }) {
  if (values.length === 0) return <>{empty}</>;
  return (
    <LabelGroup numLabels={10} isCompact>
      {values.map((p) => (
        <Label key={p} variant="outline" isCompact>
          {p}
        </Label>
      ))}
    </LabelGroup>
  );
}

/** Open violations of the deployment, most severe first. */
function Violations({ d }: { d: DeploymentDetail }) {
  const api = useApi();
  const alerts = useFetch(
    (signal) => listAlerts(api, { deployment: d.id, state: 'ACTIVE', sort: 'severity', limit: SHOWN_VIOLATIONS }, signal),
    d.id,
  );
  const all = withQuery('/violations', { deployment: d.id });
  if (alerts.error !== undefined) return <p role="alert">The violations could not be loaded: {errorMessage(alerts.error)}</p>;
  if (!alerts.data) return <LoadingState label="Loading the violations" />;
  if (alerts.data.total === 0) {
    return (
      <p>
        No open violations. <Link to={all}>Past violations of this deployment</Link>
      </p>
    );
  }
  return (
    <>
      <Table aria-label="Open violations" variant="compact" data-testid="deployment-violations">
        <Thead>
          <Tr>
            <Th>Policy</Th>
            <Th>Severity</Th>
            <Th>Stage</Th>
            <Th>Since</Th>
          </Tr>
        </Thead>
        <Tbody>
          {alerts.data.alerts.map((a) => (
            <Tr key={a.id}>
              <Td dataLabel="Policy">
                <Link to={`/violations/${encodeURIComponent(a.id)}`}>{a.policy.name}</Link>
              </Td>
              <Td dataLabel="Severity">
                <SeverityLabel severity={a.policy.severity} />
              </Td>
              <Td dataLabel="Stage">{stageLabel(a.lifecycleStage)}</Td>
              <Td dataLabel="Since">
                <time dateTime={a.time}>{formatTime(a.time)}</time>
              </Td>
            </Tr>
          ))}
        </Tbody>
      </Table>
      <p className="pf-v6-u-mt-sm">
        <Link to={all}>
          {alerts.data.total > SHOWN_VIOLATIONS
            ? `All ${plural(alerts.data.total, 'open violation')}, and past ones`
            : 'All violations of this deployment, past ones included'}
        </Link>
      </p>
    </>
  );
}

/** The images of the deployment with the CVEs Central's scans found. */
function Images({ d }: { d: DeploymentDetail }) {
  return (
    <>
      {d.imageScans.length === 0 ? (
        <p>The deployment names no images.</p>
      ) : (
        <Table aria-label="Images" variant="compact" data-testid="deployment-images">
          <Thead>
            <Tr>
              <Th modifier="wrap">Image</Th>
              <Th modifier="wrap">Containers</Th>
              <Th modifier="wrap">CVEs</Th>
              <Th modifier="wrap">Critical</Th>
              <Th modifier="wrap">Important</Th>
              <Th modifier="wrap">Moderate</Th>
              <Th modifier="wrap">Low</Th>
              <Th modifier="wrap">Fixable</Th>
            </Tr>
          </Thead>
          <Tbody>
            {d.imageScans.map((im) => (
              <Tr key={im.name}>
                <Td dataLabel="Image" modifier="breakWord">
                  {im.scanned && im.id ? (
                    <Link to={`/vulnerabilities/images/${encodeURIComponent(im.id)}`}>
                      <code>{im.name}</code>
                    </Link>
                  ) : (
                    <code>{im.name}</code>
                  )}
                  {im.scanned && im.scanTime && (
                    <div>
                      <Content component="small">
                        scanned <time dateTime={im.scanTime}>{formatTime(im.scanTime)}</time>
                      </Content>
                    </div>
                  )}
                </Td>
                <Td dataLabel="Containers">{im.containers.join(', ')}</Td>
                {im.scanned ? (
                  <>
                    <Td dataLabel="CVEs">{im.vulns}</Td>
                    <Td dataLabel="Critical">{im.critical}</Td>
                    <Td dataLabel="Important">{im.important}</Td>
                    <Td dataLabel="Moderate">{im.moderate}</Td>
                    <Td dataLabel="Low">{im.low}</Td>
                    <Td dataLabel="Fixable">{im.fixable}</Td>
                  </>
                ) : (
                  <Td dataLabel="CVEs" colSpan={6}>
                    Not scanned
                  </Td>
                )}
              </Tr>
            ))}
          </Tbody>
        </Table>
      )}
      <p className="pf-v6-u-mt-sm">
        <Link to={withQuery('/vulnerabilities/cves', { deployment: d.id })}>CVEs of this deployment</Link>
      </p>
    </>
  );
}

/** Ports and how each is reached (Services, node ports, ingresses, routes). */
function Exposure({ containers }: { containers: WorkloadContainer[] }) {
  const rows = containers.flatMap((c) => (c.Ports ?? []).map((p) => ({ c, p })));
  if (rows.length === 0) return <p>No container declares a port and no Service targets one.</p>;
  return (
    <Table aria-label="Ports and exposure" variant="compact" data-testid="deployment-ports">
      <Thead>
        <Tr>
          <Th>Container</Th>
          <Th>Port</Th>
          <Th>Exposure</Th>
        </Tr>
      </Thead>
      <Tbody>
        {rows.map(({ c, p }) => (
          <Tr key={`${c.Name}/${p.ContainerPort}/${p.Protocol}`}>
            <Td dataLabel="Container">{c.Name}</Td>
            <Td dataLabel="Port">
              {portLabel(p)}
              {p.Undeclared && <Content component="small"> (not declared by the container; a Service targets it)</Content>}
            </Td>
            <Td dataLabel="Exposure">
              {(p.Exposures ?? []).length === 0 ? 'Not exposed' : (p.Exposures ?? []).map((e, i) => <div key={i}>{exposureLabel(e)}</div>)}
            </Td>
          </Tr>
        ))}
      </Tbody>
    </Table>
  );
}

function ContainerCard({ c }: { c: WorkloadContainer }) {
  const id = `container-${c.Init ? 'init-' : ''}${c.Name}`;
  const add = c.AddCapabilities ?? [];
  const drop = c.DropCapabilities ?? [];
  const mounts = c.Mounts ?? [];
  return (
    <Section id={id} title={`${c.Init ? 'Init container' : 'Container'} ${c.Name}`}>
      <DescriptionList isHorizontal isCompact columnModifier={{ lg: '2Col' }}>
        <Term term="Image">
          <code>{c.Image.FullName || c.Image.Raw}</code>
        </Term>
        <Term term="Privileged">{c.Privileged ? <Label color="red">Yes, privileged</Label> : 'No'}</Term>
        <Term term="Privilege escalation">{c.AllowPrivilegeEscalation ? 'Allowed' : 'Not allowed'}</Term>
        <Term term="Read-only root file system">{yesNo(c.ReadOnlyRootFilesystem)}</Term>
        <Term term="Run as user">{c.RunAsUser === null ? 'not set (image default)' : String(c.RunAsUser)}</Term>
        <Term term="Run as non-root">{yesNo(c.RunAsNonRoot)}</Term>
        <Term term="Added capabilities">
          <Pairs values={add} empty="None" />
        </Term>
        <Term term="Dropped capabilities">
          <Pairs values={drop} empty="None" />
        </Term>
        <Term term="Seccomp profile">{c.SeccompProfileType}</Term>
        <Term term="AppArmor profile">{c.AppArmorProfile || 'not set'}</Term>
        <Term term="CPU request / limit">
          {formatCPU(c.CPURequest)} / {formatCPU(c.CPULimit)}
        </Term>
        <Term term="Memory request / limit">
          {formatMB(c.MemoryRequest)} / {formatMB(c.MemoryLimit)}
        </Term>
        <Term term="Liveness probe">{yesNo(c.LivenessProbe)}</Term>
        <Term term="Readiness probe">{yesNo(c.ReadinessProbe)}</Term>
      </DescriptionList>
      {mounts.length > 0 && (
        <Table aria-label={`Volumes of ${c.Name}`} variant="compact" className="pf-v6-u-mt-md">
          <Thead>
            <Tr>
              <Th>Volume</Th>
              <Th>Type</Th>
              <Th>Source</Th>
              <Th>Mounted at</Th>
              <Th>Access</Th>
            </Tr>
          </Thead>
          <Tbody>
            {mounts.map((m) => (
              <Tr key={`${m.Name}:${m.Destination}`}>
                <Td dataLabel="Volume">{m.Name}</Td>
                <Td dataLabel="Type">{m.Type || '—'}</Td>
                <Td dataLabel="Source" modifier="breakWord">
                  {m.Source || '—'}
                </Td>
                <Td dataLabel="Mounted at" modifier="breakWord">
                  <code>{m.Destination}</code>
                </Td>
                <Td dataLabel="Access">
                  {m.ReadOnly ? 'Read-only' : 'Read-write'}
                  {m.MountPropagation && m.MountPropagation !== 'NONE' ? `, propagation ${m.MountPropagation}` : ''}
                </Td>
              </Tr>
            ))}
          </Tbody>
        </Table>
      )}
    </Section>
  );
}

function DeploymentView({ d }: { d: DeploymentDetail }) {
  const w = d.deployment;
  const containers = w.Containers ?? [];
  const inCluster = withQuery('/deployments', { cluster: d.cluster });
  const inNamespace = withQuery('/deployments', { cluster: d.cluster, namespace: d.namespace });
  return (
    <>
      <PageSection>
        <Breadcrumb>
          <BreadcrumbItem render={() => <Link to="/deployments">Deployments</Link>} />
          <BreadcrumbItem isActive>{d.name}</BreadcrumbItem>
        </Breadcrumb>
        <Title headingLevel="h1" className="pf-v6-u-mt-md">
          {d.name}
        </Title>
        <Content component="p">
          {d.kind || 'Workload'} in{' '}
          {d.cluster ? (
            <Link to={inCluster} data-testid="deployment-cluster">
              {d.cluster}
            </Link>
          ) : (
            'no cluster'
          )}{' '}
          /{' '}
          <Link to={inNamespace} data-testid="deployment-namespace">
            {d.namespace || 'no namespace'}
          </Link>
        </Content>
        <ViolationCounts counts={d.violations} />
      </PageSection>
      <PageSection>
        <Grid hasGutter>
          <GridItem lg={6}>
            <Section id="deployment-overview" title="Overview">
              <DescriptionList isHorizontal isCompact>
                <Term term="Risk">
                  <RiskScore risk={d.risk} reason />
                </Term>
                <Term term="Kind">{d.kind}</Term>
                <Term term="Replicas">{String(w.Replicas)}</Term>
                <Term term="Service account">{w.ServiceAccount}</Term>
                <Term term="RBAC level">
                  <span data-testid="rbac-level">{rbacLabel(d.rbacLevel)}</span>
                </Term>
                <Term term="Mounts the account's token">{yesNo(w.AutomountServiceAccountToken)}</Term>
                <Term term="Host namespaces">
                  {[w.HostNetwork && 'network', w.HostPID && 'PID', w.HostIPC && 'IPC'].filter(Boolean).join(', ') || 'None'}
                </Term>
                <Term term="Network policies">
                  {`Ingress ${w.HasIngressNetworkPolicy ? 'restricted' : 'not restricted'}, egress ${
                    w.HasEgressNetworkPolicy ? 'restricted' : 'not restricted'
                  }`}
                </Term>
                <Term term="Reported by">{d.source === 'sensor' ? "the cluster's Sensor" : 'a deploy-time check (API)'}</Term>
                <Term term="First seen">
                  <time dateTime={d.createdAt}>{formatTime(d.createdAt)}</time>
                </Term>
                <Term term="Updated">
                  <time dateTime={d.updatedAt}>{formatTime(d.updatedAt)}</time>
                </Term>
              </DescriptionList>
            </Section>
          </GridItem>
          <GridItem lg={6}>
            <Section id="deployment-metadata" title="Labels and annotations">
              <DescriptionList isCompact>
                <Term term="Labels">
                  <Pairs values={pairs(w.Labels)} empty="None" />
                </Term>
                <Term term="Annotations">
                  <Pairs values={pairs(w.Annotations)} empty="None" />
                </Term>
              </DescriptionList>
            </Section>
          </GridItem>
          <GridItem span={12}>
            <Section id="deployment-violations-title" title="Open violations">
              <Violations d={d} />
            </Section>
          </GridItem>
          <GridItem span={12}>
            <Section id="deployment-images-title" title="Images and vulnerabilities">
              <Images d={d} />
            </Section>
          </GridItem>
          <GridItem span={12}>
            <Section id="deployment-ports-title" title="Ports and exposure">
              <Exposure containers={containers} />
            </Section>
          </GridItem>
          {containers.map((c) => (
            <GridItem span={12} key={`${c.Init ? 'init' : 'app'}/${c.Name}`}>
              <ContainerCard c={c} />
            </GridItem>
          ))}
        </Grid>
      </PageSection>
    </>
  );
}

/** One deployment: metadata, violations, images and their CVEs, exposure, containers. */
export function DeploymentDetailPage() {
  const { id = '' } = useParams();
  const api = useApi();
  const loaded = useFetch((signal) => getDeployment(api, id, signal), id);
  if (loaded.error !== undefined) {
    return (
      <PageSection>
        <ErrorState title="The deployment could not be loaded" error={loaded.error} onRetry={loaded.reload} />
      </PageSection>
    );
  }
  if (!loaded.data || loaded.data.id !== id) {
    return (
      <PageSection>
        <LoadingState label="Loading the deployment" />
      </PageSection>
    );
  }
  return <DeploymentView d={loaded.data} />;
}
