import {
  Alert as PFAlert,
  AlertActionCloseButton,
  Breadcrumb,
  BreadcrumbItem,
  Button,
  Card,
  CardBody,
  CardTitle,
  Content,
  DescriptionList,
  DescriptionListDescription,
  DescriptionListGroup,
  DescriptionListTerm,
  Flex,
  FlexItem,
  Grid,
  GridItem,
  Label,
  LabelGroup,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
  PageSection,
  Title,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useState, type ReactNode } from 'react';
import { Link, useParams } from 'react-router';
import { errorMessage } from '../api/client';
import { useApi } from '../api/context';
import { getAlert, setAlertState } from '../api/endpoints';
import { excludeAlertDeployment } from '../api/policies';
import type { Alert } from '../api/types';
import { useCanWrite } from '../auth/AuthContext';
import { SeverityLabel, StageLabels, StateLabel } from '../components/Labels';
import { ErrorState, LoadingState } from '../components/StateViews';
import { activeEnforcements, enforcementLabel, formatTime, stageLabel } from '../format';
import { useFetch } from '../hooks/useFetch';

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

/** What the enforcement did, in words. */
function enforcementText(a: Alert): string {
  const actions = activeEnforcements(a.policy.enforcementActions);
  if (a.enforced) return `Enforced: ${actions.map(enforcementLabel).join(', ') || 'the request was denied'}.`;
  if (a.breakGlass) return 'Not enforced: the deployment carries the break-glass annotation, so admission control let it in.';
  if (a.failingCheck)
    return `The policy enforces at the ${stageLabel(a.lifecycleStage).toLowerCase()} stage (${actions.map(enforcementLabel).join(', ')}); this violation was recorded without being blocked.`;
  if (actions.length > 0) return `The policy enforces at other stages (${actions.map(enforcementLabel).join(', ')}), not at this one.`;
  return 'None: the policy only informs.';
}

function ViolationDetail({ alert, onChange }: { alert: Alert; onChange: (a: Alert) => void }) {
  const api = useApi();
  const canWrite = useCanWrite();
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<{ variant: 'success' | 'danger'; text: string } | null>(null);
  const [confirmExclude, setConfirmExclude] = useState(false);
  const place = [alert.deployment.clusterName, alert.deployment.namespace].filter(Boolean).join(' / ');
  const images = new Map(alert.deployment.containers.map((c) => [c.name, c.image]));

  const resolve = async () => {
    setBusy(true);
    setNotice(null);
    try {
      const updated = await setAlertState(api, alert.id, 'RESOLVED');
      onChange(updated);
      setNotice({ variant: 'success', text: 'The violation is resolved.' });
    } catch (err) {
      setNotice({ variant: 'danger', text: `The violation could not be resolved: ${errorMessage(err)}` });
    } finally {
      setBusy(false);
    }
  };

  const exclude = async () => {
    setBusy(true);
    setNotice(null);
    try {
      const res = await excludeAlertDeployment(api, alert.id);
      setConfirmExclude(false);
      onChange(await getAlert(api, alert.id));
      const resolved = res.resolved.length === 1 ? 'Its violation is resolved.' : `${res.resolved.length} violations are resolved.`;
      setNotice({
        variant: 'success',
        text: res.added
          ? `${alert.deployment.name} is excluded from ${res.policy.name}. ${resolved}`
          : `${res.policy.name} already excluded ${alert.deployment.name}. ${resolved}`,
      });
    } catch (err) {
      setConfirmExclude(false);
      setNotice({ variant: 'danger', text: `The deployment could not be excluded: ${errorMessage(err)}` });
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <PageSection>
        <Breadcrumb>
          <BreadcrumbItem render={() => <Link to="/violations">Violations</Link>} />
          <BreadcrumbItem isActive>{alert.policy.name}</BreadcrumbItem>
        </Breadcrumb>
        <Flex
          className="pf-v6-u-mt-md"
          alignItems={{ default: 'alignItemsCenter' }}
          justifyContent={{ default: 'justifyContentSpaceBetween' }}
        >
          <FlexItem>
            <Title headingLevel="h1">{alert.policy.name}</Title>
            <Content component="p">
              in <strong>{alert.deployment.name}</strong> (
              {[alert.deployment.clusterName, alert.deployment.namespace].filter(Boolean).join(' / ')})
            </Content>
            <LabelGroup>
              <SeverityLabel severity={alert.policy.severity} />
              <StateLabel state={alert.state} />
              <Label variant="outline">{stageLabel(alert.lifecycleStage)}</Label>
            </LabelGroup>
          </FlexItem>
          <FlexItem>
            <Flex>
              {canWrite && alert.state !== 'RESOLVED' && (
                <FlexItem>
                  <Button variant="primary" onClick={resolve} isLoading={busy} isDisabled={busy}>
                    Resolve
                  </Button>
                </FlexItem>
              )}
              {canWrite && alert.deployment.name && (
                <FlexItem>
                  <Button variant="secondary" onClick={() => setConfirmExclude(true)} isDisabled={busy}>
                    Exclude this deployment
                  </Button>
                </FlexItem>
              )}
            </Flex>
          </FlexItem>
        </Flex>
        {notice && (
          <PFAlert
            className="pf-v6-u-mt-md"
            isInline
            variant={notice.variant}
            title={notice.text}
            actionClose={<AlertActionCloseButton onClose={() => setNotice(null)} />}
          />
        )}
        {confirmExclude && (
          <Modal isOpen variant="small" onClose={() => setConfirmExclude(false)} aria-labelledby="exclude-title">
            <ModalHeader title="Exclude this deployment from the policy?" labelId="exclude-title" titleIconVariant="warning" />
            <ModalBody>
              <p>
                <strong>{alert.policy.name}</strong> will no longer apply to the deployment <strong>{alert.deployment.name}</strong>
                {place ? ` in ${place}` : ''}: an exclusion is added to the policy, and the open violations of this policy on this
                deployment are resolved.
              </p>
            </ModalBody>
            <ModalFooter>
              <Button variant="primary" onClick={() => void exclude()} isLoading={busy} isDisabled={busy}>
                Exclude
              </Button>
              <Button variant="link" onClick={() => setConfirmExclude(false)}>
                Cancel
              </Button>
            </ModalFooter>
          </Modal>
        )}
      </PageSection>
      <PageSection>
        <Grid hasGutter>
          <GridItem lg={6}>
            <Section id="violation-overview" title="Overview">
              <DescriptionList isHorizontal isCompact>
                <Term term="Policy">
                  <Link to={`/policies/${encodeURIComponent(alert.policy.id)}`}>{alert.policy.name}</Link>
                </Term>
                <Term term="Deployment">
                  {alert.deployment.id ? (
                    <Link to={`/deployments/${encodeURIComponent(alert.deployment.id)}`}>{alert.deployment.name}</Link>
                  ) : (
                    alert.deployment.name
                  )}
                  {alert.deployment.type ? ` (${alert.deployment.type})` : ''}
                </Term>
                <Term term="Cluster">
                  {alert.deployment.clusterName && (
                    <Link to={`/deployments?cluster=${encodeURIComponent(alert.deployment.clusterName)}`}>
                      {alert.deployment.clusterName}
                    </Link>
                  )}
                </Term>
                <Term term="Namespace">
                  {alert.deployment.namespace && (
                    <Link
                      to={`/deployments?${new URLSearchParams({ cluster: alert.deployment.clusterName, namespace: alert.deployment.namespace }).toString()}`}
                    >
                      {alert.deployment.namespace}
                    </Link>
                  )}
                </Term>
                <Term term="Lifecycle stage">{stageLabel(alert.lifecycleStage)}</Term>
                <Term term="First seen">
                  <time dateTime={alert.time}>{formatTime(alert.time)}</time>
                </Term>
                <Term term="Last updated">
                  <time dateTime={alert.lastUpdated}>{formatTime(alert.lastUpdated)}</time>
                </Term>
                <Term term="Enforcement">{enforcementText(alert)}</Term>
              </DescriptionList>
            </Section>
          </GridItem>
          <GridItem lg={6}>
            <Section id="violation-policy" title="Policy">
              <DescriptionList isCompact>
                <Term term="Description">{alert.policy.description}</Term>
                <Term term="Rationale">{alert.policy.rationale}</Term>
                <Term term="Remediation">{alert.policy.remediation}</Term>
                <Term term="Categories">
                  {alert.policy.categories && alert.policy.categories.length > 0 && (
                    <LabelGroup>
                      {alert.policy.categories.map((c) => (
                        <Label key={c} variant="outline">
                          {c}
                        </Label>
                      ))}
                    </LabelGroup>
                  )}
                </Term>
                <Term term="Stages">
                  <StageLabels stages={alert.policy.lifecycleStages} />
                </Term>
              </DescriptionList>
            </Section>
          </GridItem>
          <GridItem span={12}>
            <Section id="violation-findings" title="What was found">
              {alert.violations.length === 0 ? (
                <p>The alert carries no detail of its violations.</p>
              ) : (
                <Table aria-label="What was found" variant="compact" data-testid="findings-table">
                  <Thead>
                    <Tr>
                      <Th width={60}>Finding</Th>
                      <Th>Container</Th>
                      <Th>Image</Th>
                    </Tr>
                  </Thead>
                  <Tbody>
                    {alert.violations.map((v, i) => (
                      <Tr key={i}>
                        <Td dataLabel="Finding">{v.message}</Td>
                        <Td dataLabel="Container">{v.container || '—'}</Td>
                        <Td dataLabel="Image">{(v.container && images.get(v.container)) || '—'}</Td>
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

/** One violation: what was found, where, the policy's guidance, and resolve. */
export function ViolationDetailPage() {
  const { id = '' } = useParams();
  const api = useApi();
  const [updated, setUpdated] = useState<Alert | null>(null);
  const loaded = useFetch((signal) => getAlert(api, id, signal), id);
  const alert = updated && updated.id === id ? updated : loaded.data?.id === id ? loaded.data : undefined;
  if (loaded.error !== undefined) {
    return (
      <PageSection>
        <ErrorState title="The violation could not be loaded" error={loaded.error} onRetry={loaded.reload} />
      </PageSection>
    );
  }
  if (!alert) {
    return (
      <PageSection>
        <LoadingState label="Loading the violation" />
      </PageSection>
    );
  }
  return <ViolationDetail alert={alert} onChange={setUpdated} />;
}
