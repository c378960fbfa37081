// The policies' file and delete actions, shared by the list and the detail
// page: import JSON files with per-policy results, export as a download,
// and delete with a confirmation.
import {
  Alert as PFAlert,
  Button,
  FormGroup,
  Label,
  List,
  ListItem,
  Modal,
  ModalBody,
  ModalFooter,
  ModalHeader,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useState } from 'react';
import { errorMessage } from '../api/client';
import { useApi } from '../api/context';
import { deletePolicy, exportPolicies, importPolicies, type ImportResult } from '../api/policies';
import { exportFileName, gatherImport, type ImportFile } from './criteria';

/** Offers data to the browser as a downloaded JSON file. */
export function downloadJSON(fileName: string, data: unknown) {
  const blob = new Blob([JSON.stringify(data, null, 2) + '\n'], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Exports the policies with ids and downloads them; returns the file name. */
export async function exportAndDownload(api: ReturnType<typeof useApi>, ids: string[]): Promise<string> {
  const doc = await exportPolicies(api, ids);
  const name = exportFileName(doc.policies);
  downloadJSON(name, doc);
  return name;
}

function readFile(f: File): Promise<ImportFile> {
  return f.text().then((text) => ({ name: f.name, text }));
}

const conflictTypes = new Set(['duplicate_name', 'duplicate_id']);

/** Imports policies from JSON files and shows what happened to each. */
export function ImportModal({ onClose, onImported }: { onClose: () => void; onImported: () => void }) {
  const api = useApi();
  const [files, setFiles] = useState<ImportFile[]>([]);
  const [problems, setProblems] = useState<string[]>([]);
  const [result, setResult] = useState<ImportResult | null>(null);
  const [failure, setFailure] = useState('');
  const [busy, setBusy] = useState(false);

  const choose = async (list: File[]) => {
    setResult(null);
    setFailure('');
    const read = await Promise.all(list.map(readFile));
    setFiles(read);
    setProblems(gatherImport(read).problems);
  };
  const run = async (overwrite: boolean) => {
    const { policies, problems: bad } = gatherImport(files);
    setProblems(bad);
    if (policies.length === 0) return;
    setBusy(true);
    setFailure('');
    try {
      const res = await importPolicies(api, policies, overwrite);
      setResult(res);
      if (res.allSucceeded) onImported();
    } catch (err) {
      setFailure(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  const conflicts = result?.responses.some((r) => r.errors.some((e) => conflictTypes.has(e.type))) ?? false;
  const invalid = result?.responses.some((r) => r.errors.some((e) => e.type === 'invalid_policy')) ?? false;
  return (
    <Modal isOpen onClose={onClose} variant="medium" aria-labelledby="import-title">
      <ModalHeader title="Import policies" labelId="import-title" />
      <ModalBody>
        <p className="pf-v6-u-mb-md">
          JSON files holding one policy, a list of policies, or an export (<code>{'{"policies": […]}'}</code>). An import is all or nothing.
        </p>
        <FormGroup label="Policy files" fieldId="import-files">
          <input
            id="import-files"
            type="file"
            multiple
            accept=".json,application/json"
            onChange={(e) => void choose(Array.from(e.target.files ?? []))}
          />
        </FormGroup>
        {problems.length > 0 && (
          <PFAlert isInline variant="danger" title="Some files hold no policies" className="pf-v6-u-mt-md">
            <List>
              {problems.map((p) => (
                <ListItem key={p}>{p}</ListItem>
              ))}
            </List>
          </PFAlert>
        )}
        {failure && <PFAlert isInline variant="danger" title={`The import failed: ${failure}`} className="pf-v6-u-mt-md" />}
        {result && (
          <>
            <PFAlert
              isInline
              className="pf-v6-u-mt-md"
              variant={result.allSucceeded ? 'success' : 'warning'}
              title={
                result.allSucceeded
                  ? `Imported ${result.responses.length} ${result.responses.length === 1 ? 'policy' : 'policies'}.`
                  : conflicts && !invalid
                    ? 'Nothing was imported: some policies clash with stored ones. Overwrite them, or cancel.'
                    : 'Nothing was imported: fix the problems below and import again.'
              }
            />
            <Table aria-label="Import results" variant="compact" data-testid="import-results">
              <Thead>
                <Tr>
                  <Th>Policy</Th>
                  <Th>Result</Th>
                  <Th>Details</Th>
                </Tr>
              </Thead>
              <Tbody>
                {result.responses.map((r, i) => (
                  <Tr key={i}>
                    <Td dataLabel="Policy">{r.policy?.name || `Policy ${i + 1}`}</Td>
                    <Td dataLabel="Result">
                      {r.succeeded ? (
                        <Label color="green">Created</Label>
                      ) : r.errors.some((e) => e.type === 'invalid_policy') ? (
                        <Label color="red">Invalid</Label>
                      ) : r.errors.some((e) => conflictTypes.has(e.type)) ? (
                        <Label color="orange">Name or id conflict</Label>
                      ) : (
                        <Label color="grey">Not imported</Label>
                      )}
                    </Td>
                    <Td dataLabel="Details">
                      {r.errors.map((e, j) => (
                        <div key={j}>
                          {e.type === 'invalid_policy' && e.details && e.details.length > 0 ? (
                            <List isPlain>
                              {e.details.map((d, k) => (
                                <ListItem key={k}>
                                  <code>{d.path}</code>: {d.message}
                                </ListItem>
                              ))}
                            </List>
                          ) : (
                            e.message
                          )}
                        </div>
                      ))}
                    </Td>
                  </Tr>
                ))}
              </Tbody>
            </Table>
          </>
        )}
      </ModalBody>
      <ModalFooter>
        {result?.allSucceeded ? (
          <Button variant="primary" onClick={onClose}>
            Done
          </Button>
        ) : (
          <>
            {conflicts && !invalid ? (
              <Button variant="danger" onClick={() => void run(true)} isLoading={busy} isDisabled={busy}>
                Overwrite and import
              </Button>
            ) : (
              <Button variant="primary" onClick={() => void run(false)} isLoading={busy} isDisabled={busy || files.length === 0}>
                Import
              </Button>
            )}
            <Button variant="link" onClick={onClose}>
              Cancel
            </Button>
          </>
        )}
      </ModalFooter>
    </Modal>
  );
}

/** Asks before deleting a policy, and deletes it. */
export function DeletePolicyModal({
  id,
  name,
  onClose,
  onDeleted,
}: {
  id: string;
  name: string;
  onClose: () => void;
  onDeleted: () => void;
}) {
  const api = useApi();
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState('');
  const remove = async () => {
    setBusy(true);
    setFailure('');
    try {
      await deletePolicy(api, id);
      onDeleted();
    } catch (err) {
      setFailure(errorMessage(err));
      setBusy(false);
    }
  };
  return (
    <Modal isOpen onClose={onClose} variant="small" aria-labelledby="delete-title">
      <ModalHeader title={`Delete ${name}?`} labelId="delete-title" titleIconVariant="warning" />
      <ModalBody>
        The policy is deleted for good; its violations stay in the history.
        {failure && <PFAlert isInline variant="danger" title={`The policy could not be deleted: ${failure}`} className="pf-v6-u-mt-md" />}
      </ModalBody>
      <ModalFooter>
        <Button variant="danger" onClick={() => void remove()} isLoading={busy} isDisabled={busy}>
          Delete
        </Button>
        <Button variant="link" onClick={onClose}>
          Cancel
        </Button>
      </ModalFooter>
    </Modal>
  );
}
