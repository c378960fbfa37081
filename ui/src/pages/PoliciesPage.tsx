import {
  Alert as PFAlert,
  AlertActionCloseButton,
  Button,
  Content,
  LabelGroup,
  Label,
  PageSection,
  Title,
  Toolbar,
  ToolbarContent,
  ToolbarGroup,
  ToolbarItem,
} from '@patternfly/react-core';
import { ActionsColumn, Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { errorMessage } from '../api/client';
import { useApi } from '../api/context';
import { useCanWrite } from '../auth/AuthContext';
import { DeletePolicyModal, ImportModal, exportAndDownload } from '../policy/PolicyActions';
import { listPolicies } from '../api/endpoints';
import { FilterSelect, LinkedFilter, SearchFilter } from '../components/Filters';
import { SeverityLabel, StageLabels } from '../components/Labels';
import { ListBody, ListCount, ListPagination, sortProps, type SortColumn } from '../components/ListTable';
import { PolicyToggle } from '../components/PolicyToggle';
import { EmptyListState } from '../components/StateViews';
import { SEVERITIES, STAGES, activeEnforcements, enforcementLabel, plural, severityLabel, stageLabel } from '../format';
import { useFetch } from '../hooks/useFetch';
import { useListParams } from '../hooks/useListParams';

const FILTERS = ['query', 'severity', 'stage', 'disabled', 'enforcement', 'category'] as const;

const COLUMNS: readonly { title: string; sort?: SortColumn }[] = [
  { title: 'Policy', sort: { asc: 'name', desc: '-name', first: 'asc' } },
  { title: 'Status', sort: { asc: 'disabled', desc: '-disabled', first: 'asc' } },
  { title: 'Severity', sort: { asc: '-severity', desc: 'severity', first: 'desc' } },
  { title: 'Lifecycle stages' },
  { title: 'Enforcement', sort: { asc: '-enforcement', desc: 'enforcement', first: 'desc' } },
];

/** Every policy, filtered, sorted and paged by Central, with its switch. */
export function PoliciesPage() {
  const api = useApi();
  const navigate = useNavigate();
  const canWrite = useCanWrite();
  const [selected, setSelected] = useState<Set<string>>(() => new Set());
  const [importing, setImporting] = useState(false);
  const [deleting, setDeleting] = useState<{ id: string; name: string } | null>(null);
  const [notice, setNotice] = useState<{ variant: 'success' | 'danger'; text: string } | null>(null);
  const toggle = (id: string, on: boolean) =>
    setSelected((prev) => {
      const next = new Set(prev);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  const exportSelected = async () => {
    setNotice(null);
    try {
      const name = await exportAndDownload(api, [...selected]);
      setNotice({ variant: 'success', text: `Exported ${plural(selected.size, 'policy', 'policies')} to ${name}.` });
    } catch (err) {
      setNotice({ variant: 'danger', text: `The export failed: ${errorMessage(err)}` });
    }
  };
  const list = useListParams(FILTERS, 'name');
  const { filters } = list;
  const policies = useFetch(
    (signal) => listPolicies(api, { ...filters, sort: list.sort, offset: list.offset, limit: list.perPage }, signal),
    list.key,
  );
  const filtered = FILTERS.some((f) => filters[f] !== '');
  const sortColumns = COLUMNS.map((c) => c.sort);

  const toolbar = (
    <Toolbar aria-label="Policy filters" clearAllFilters={list.clearFilters} collapseListedFiltersBreakpoint="xl">
      <ToolbarContent>
        <ToolbarGroup variant="filter-group">
          <SearchFilter
            key={filters.query}
            value={filters.query}
            placeholder="Search name, description or category"
            onSearch={(query) => list.setFilters({ query })}
          />
          <FilterSelect
            name="Severity"
            value={filters.severity}
            options={SEVERITIES.map((s) => ({ value: s, label: severityLabel(s) }))}
            onChange={(severity) => list.setFilters({ severity })}
          />
          <FilterSelect
            name="Stage"
            value={filters.stage}
            options={STAGES.map((s) => ({ value: s, label: stageLabel(s) }))}
            onChange={(stage) => list.setFilters({ stage })}
          />
          <FilterSelect
            name="Status"
            value={filters.disabled}
            options={[
              { value: 'false', label: 'Enabled' },
              { value: 'true', label: 'Disabled' },
            ]}
            onChange={(disabled) => list.setFilters({ disabled })}
          />
          <FilterSelect
            name="Enforcement"
            value={filters.enforcement}
            options={[
              { value: 'true', label: 'Enforced' },
              { value: 'false', label: 'Inform only' },
            ]}
            onChange={(enforcement) => list.setFilters({ enforcement })}
          />
          <LinkedFilter name="Category" value={filters.category} onClear={() => list.setFilters({ category: '' })} />
        </ToolbarGroup>
        <ToolbarGroup variant="action-group">
          {canWrite && (
            <ToolbarItem>
              <Button variant="primary" onClick={() => navigate('/policies/new')}>
                Create policy
              </Button>
            </ToolbarItem>
          )}
          {canWrite && (
            <ToolbarItem>
              <Button variant="secondary" onClick={() => setImporting(true)}>
                Import
              </Button>
            </ToolbarItem>
          )}
          <ToolbarItem>
            <Button variant="secondary" isDisabled={selected.size === 0} onClick={() => void exportSelected()}>
              Export selected ({selected.size})
            </Button>
          </ToolbarItem>
        </ToolbarGroup>
        <ToolbarItem variant="pagination" align={{ default: 'alignEnd' }}>
          <ListPagination what="policies" variant="top" total={policies.data?.total ?? 0} list={list} />
        </ToolbarItem>
      </ToolbarContent>
    </Toolbar>
  );

  const body = (
    <ListBody
      state={policies}
      rows={(d) => d.policies}
      what="policies"
      one="policy"
      list={list}
      empty={
        <EmptyListState title="No policies" filtered={filtered} onClearFilters={list.clearFilters}>
          Central has no policies. Create one, or import some here or with <code>stockade policy import</code>.
        </EmptyListState>
      }
    >
      {(data) => (
        <>
          <Table aria-label="Policies" variant="compact" data-testid="policies-table">
            <Thead>
              <Tr>
                <Th screenReaderText="Select" />
                {COLUMNS.map((c, i) => (
                  <Th key={c.title} modifier="wrap" sort={sortProps(sortColumns, i, list.sort, list.setSort)}>
                    {c.title}
                  </Th>
                ))}
                <Th screenReaderText="Actions" />
              </Tr>
            </Thead>
            <Tbody>
              {data.policies.map((p, rowIndex) => {
                const actions = activeEnforcements(p.enforcementActions);
                const rowActions = [
                  { title: 'Edit', onClick: () => navigate(`/policies/${encodeURIComponent(p.id)}/edit`), isDisabled: !canWrite },
                  { title: 'Clone', onClick: () => navigate(`/policies/new?clone=${encodeURIComponent(p.id)}`), isDisabled: !canWrite },
                  {
                    title: 'Export',
                    onClick: () =>
                      void exportAndDownload(api, [p.id]).then(
                        (name) => setNotice({ variant: 'success', text: `Exported ${p.name} to ${name}.` }),
                        (err: unknown) => setNotice({ variant: 'danger', text: `The export failed: ${errorMessage(err)}` }),
                      ),
                  },
                  {
                    title: 'Delete',
                    onClick: () => setDeleting({ id: p.id, name: p.name }),
                    isDisabled: !canWrite || p.isDefault,
                    description: p.isDefault ? 'Built-in policies can be disabled, not deleted.' : undefined,
                  },
                ];
                return (
                  <Tr key={p.id}>
                    <Td
                      select={{ rowIndex, isSelected: selected.has(p.id), onSelect: (_e, on) => toggle(p.id, on) }}
                      aria-label={`Select ${p.name}`}
                    />
                    <Td dataLabel="Policy">
                      <Link to={`/policies/${encodeURIComponent(p.id)}`}>{p.name}</Link>
                      {p.description && (
                        <Content component="small" className="stk-clamp">
                          {' '}
                          {p.description}
                        </Content>
                      )}
                    </Td>
                    <Td dataLabel="Status">
                      <PolicyToggle id={p.id} name={p.name} disabled={p.disabled} onChanged={policies.reload} />
                    </Td>
                    <Td dataLabel="Severity">
                      <SeverityLabel severity={p.severity} />
                    </Td>
                    <Td dataLabel="Lifecycle stages">
                      <StageLabels stages={p.lifecycleStages} />
                    </Td>
                    <Td dataLabel="Enforcement">
                      {actions.length === 0 ? (
                        'Inform only'
                      ) : (
                        <LabelGroup>
                          {actions.map((a) => (
                            <Label key={a} color="purple" variant="outline">
                              {enforcementLabel(a)}
                            </Label>
                          ))}
                        </LabelGroup>
                      )}
                    </Td>
                    <Td isActionCell>
                      <ActionsColumn items={rowActions} popperProps={{ position: 'right' }} aria-label={`Actions of ${p.name}`} />
                    </Td>
                  </Tr>
                );
              })}
            </Tbody>
          </Table>
        </>
      )}
    </ListBody>
  );
  return (
    <>
      <PageSection>
        <Title headingLevel="h1">Policies</Title>
        <ListCount testId="policies-count" total={policies.data?.total} one="policy" many="policies" filtered={filtered} />
      </PageSection>
      <PageSection aria-busy={policies.loading}>
        {notice && (
          <PFAlert
            className="pf-v6-u-mb-md"
            isInline
            variant={notice.variant}
            title={notice.text}
            data-testid="policies-notice"
            actionClose={<AlertActionCloseButton onClose={() => setNotice(null)} />}
          />
        )}
        {toolbar}
        {body}
      </PageSection>
      {importing && (
        <ImportModal
          onClose={() => setImporting(false)}
          onImported={() => {
            policies.reload();
          }}
        />
      )}
      {deleting && (
        <DeletePolicyModal
          id={deleting.id}
          name={deleting.name}
          onClose={() => setDeleting(null)}
          onDeleted={() => {
            setNotice({ variant: 'success', text: `Deleted ${deleting.name}.` });
            toggle(deleting.id, false);
            setDeleting(null);
            policies.reload();
          }}
        />
      )}
    </>
  );
}
