import {
  Alert as PFAlert,
  Breadcrumb,
  Button,
  BreadcrumbItem,
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
  List,
  ListItem,
  PageSection,
  Title,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useState, type ReactNode } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { errorMessage, withQuery } from '../api/client';
import { useApi } from '../api/context';
import { getPolicy } from '../api/endpoints';
import type { Exclusion, Policy, Scope } from '../api/types';
import { useCanWrite } from '../auth/AuthContext';
import { SeverityLabel, StageLabels } from '../components/Labels';
import { DeletePolicyModal, exportAndDownload } from '../policy/PolicyActions';
import { PolicyToggle } from '../components/PolicyToggle';
import { ErrorState, LoadingState } from '../components/StateViews';
import { activeEnforcements, enforcementLabel, formatTime } from '../format';
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

function scopeText(s: Scope): string {
  const parts: string[] = [];
  if (s.cluster) parts.push(`cluster ${s.cluster}`);
  if (s.namespace) parts.push(`namespace matching ${s.namespace}`);
  if (s.label) parts.push(`label ${s.label.key}${s.label.value ? `=${s.label.value}` : ''}`);
  return parts.join(', ') || 'everywhere';
}

function exclusionText(e: Exclusion): string {
  const parts: string[] = [];
  if (e.deployment?.name) parts.push(`deployment ${e.deployment.name}`);
  if (e.deployment?.scope) parts.push(scopeText(e.deployment.scope));
  if (e.image?.name) parts.push(`image ${e.image.name}`);
  if (e.expiration) parts.push(`until ${formatTime(e.expiration)}`);
  return (e.name ? `${e.name}: ` : '') + (parts.join(', ') || 'everything');
}

/** The criteria: sections are OR'ed, groups within a section AND'ed. */
function Criteria({ policy }: { policy: Policy }) {
  if (policy.policySections.length === 0) return <p>The policy has no criteria.</p>;
  return (
    <>
      {policy.policySections.map((section, si) => (
        <div key={si} className="pf-v6-u-mb-md">
          {si > 0 && (
            <p className="pf-v6-u-font-weight-bold pf-v6-u-my-sm" aria-hidden="true">
              OR
            </p>
          )}
          <Table aria-label={section.sectionName || `Section ${si + 1}`} variant="compact">
            <caption>{section.sectionName || `Section ${si + 1}`}: every criterion must match</caption>
            <Thead>
              <Tr>
                <Th>Criterion</Th>
                <Th>Values</Th>
              </Tr>
            </Thead>
            <Tbody>
              {section.policyGroups.map((g, gi) => (
                <Tr key={gi}>
                  <Td dataLabel="Criterion">
                    {g.negate ? 'Not: ' : ''}
                    {g.fieldName}
                  </Td>
                  <Td dataLabel="Values">{g.values.map((v) => v.value).join(` ${g.booleanOperator ?? 'OR'} `) || '—'}</Td>
                </Tr>
              ))}
            </Tbody>
          </Table>
        </div>
      ))}
    </>
  );
}

/** Edit, clone, export and delete. */
function PolicyButtons({ policy }: { policy: Policy }) {
  const api = useApi();
  const navigate = useNavigate();
  const canWrite = useCanWrite();
  const [deleting, setDeleting] = useState(false);
  const [notice, setNotice] = useState<{ variant: 'success' | 'danger'; text: string } | null>(null);
  const id = encodeURIComponent(policy.id);
  return (
    <>
      {canWrite && (
        <FlexItem>
          <Button variant="primary" onClick={() => navigate(`/policies/${id}/edit`)}>
            Edit
          </Button>
        </FlexItem>
      )}
      {canWrite && (
        <FlexItem>
          <Button variant="secondary" onClick={() => navigate(`/policies/new?clone=${id}`)}>
            Clone
          </Button>
        </FlexItem>
      )}
      <FlexItem>
        <Button
          variant="secondary"
          onClick={() =>
            void exportAndDownload(api, [policy.id]).then(
              (name) => setNotice({ variant: 'success', text: `Exported to ${name}.` }),
              (err: unknown) => setNotice({ variant: 'danger', text: `The export failed: ${errorMessage(err)}` }),
            )
          }
        >
          Export
        </Button>
      </FlexItem>
      {canWrite && !policy.isDefault && (
        <FlexItem>
          <Button variant="danger" onClick={() => setDeleting(true)}>
            Delete
          </Button>
        </FlexItem>
      )}
      {notice && (
        <FlexItem>
          <PFAlert isInline isPlain variant={notice.variant} title={notice.text} data-testid="policy-notice" />
        </FlexItem>
      )}
      {deleting && (
        <DeletePolicyModal id={policy.id} name={policy.name} onClose={() => setDeleting(false)} onDeleted={() => navigate('/policies')} />
      )}
    </>
  );
}

function PolicyDetail({ policy, onToggled }: { policy: Policy; onToggled: (disabled: boolean) => void }) {
  const actions = activeEnforcements(policy.enforcementActions);
  return (
    <>
      <PageSection>
        <Breadcrumb>
          <BreadcrumbItem render={() => <Link to="/policies">Policies</Link>} />
          <BreadcrumbItem isActive>{policy.name}</BreadcrumbItem>
        </Breadcrumb>
        <Flex
          className="pf-v6-u-mt-md"
          alignItems={{ default: 'alignItemsCenter' }}
          justifyContent={{ default: 'justifyContentSpaceBetween' }}
        >
          <FlexItem>
            <Title headingLevel="h1">{policy.name}</Title>
            <LabelGroup className="pf-v6-u-mt-sm">
              <SeverityLabel severity={policy.severity} />
              {policy.isDefault && <Label variant="outline">Built-in</Label>}
            </LabelGroup>
          </FlexItem>
          <FlexItem>
            <Flex alignItems={{ default: 'alignItemsCenter' }}>
              <FlexItem>
                <PolicyToggle id={policy.id} name={policy.name} disabled={Boolean(policy.disabled)} onChanged={onToggled} />
              </FlexItem>
              <PolicyButtons policy={policy} />
            </Flex>
          </FlexItem>
        </Flex>
        <Content component="p" className="pf-v6-u-mt-sm">
          <Link to={withQuery('/violations', { policyId: policy.id })}>View the violations of this policy</Link>
        </Content>
      </PageSection>
      <PageSection>
        <Grid hasGutter>
          <GridItem lg={7}>
            <Section id="policy-details" title="Details">
              <DescriptionList isCompact>
                <Term term="Description">{policy.description}</Term>
                <Term term="Rationale">{policy.rationale}</Term>
                <Term term="Remediation">{policy.remediation}</Term>
                <Term term="Categories">
                  {policy.categories && policy.categories.length > 0 && (
                    <LabelGroup>
                      {policy.categories.map((c) => (
                        <Label key={c} variant="outline">
                          <Link to={withQuery('/policies', { category: c })}>{c}</Link>
                        </Label>
                      ))}
                    </LabelGroup>
                  )}
                </Term>
              </DescriptionList>
            </Section>
          </GridItem>
          <GridItem lg={5}>
            <Section id="policy-behavior" title="Behavior">
              <DescriptionList isCompact>
                <Term term="Lifecycle stages">
                  <StageLabels stages={policy.lifecycleStages} />
                </Term>
                {policy.eventSource && policy.eventSource !== 'NOT_APPLICABLE' && <Term term="Event source">{policy.eventSource}</Term>}
                <Term term="Enforcement">{actions.length === 0 ? 'Inform only' : actions.map(enforcementLabel).join(', ')}</Term>
                <Term term="Scope">
                  {policy.scope && policy.scope.length > 0 ? (
                    <List>
                      {policy.scope.map((s, i) => (
                        <ListItem key={i}>{scopeText(s)}</ListItem>
                      ))}
                    </List>
                  ) : (
                    'Every cluster and namespace'
                  )}
                </Term>
                <Term term="Exclusions">
                  {policy.exclusions && policy.exclusions.length > 0 ? (
                    <List>
                      {policy.exclusions.map((e, i) => (
                        <ListItem key={i}>{exclusionText(e)}</ListItem>
                      ))}
                    </List>
                  ) : (
                    'None'
                  )}
                </Term>
              </DescriptionList>
            </Section>
          </GridItem>
          <GridItem span={12}>
            <Section id="policy-criteria" title="Criteria">
              <Criteria policy={policy} />
            </Section>
          </GridItem>
        </Grid>
      </PageSection>
    </>
  );
}

/** One policy, with its enabled switch, edit, clone, export and delete. */
export function PolicyDetailPage() {
  const { id = '' } = useParams();
  const api = useApi();
  const loaded = useFetch((signal) => getPolicy(api, id, signal), id);
  const [disabled, setDisabled] = useState<{ id: string; value: boolean } | null>(null);
  if (loaded.error !== undefined) {
    return (
      <PageSection>
        <ErrorState title="The policy could not be loaded" error={loaded.error} onRetry={loaded.reload} />
      </PageSection>
    );
  }
  if (!loaded.data || loaded.data.id !== id) {
    return (
      <PageSection>
        <LoadingState label="Loading the policy" />
      </PageSection>
    );
  }
  const policy = disabled && disabled.id === id ? { ...loaded.data, disabled: disabled.value } : loaded.data;
  return <PolicyDetail policy={policy} onToggled={(value) => setDisabled({ id, value })} />;
}
