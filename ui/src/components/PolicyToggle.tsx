import { Switch, Tooltip } from '@patternfly/react-core';
import { useState } from 'react';
import { errorMessage } from '../api/client';
import { useApi } from '../api/context';
import { setPolicyDisabled } from '../api/endpoints';
import { useCanWrite } from '../auth/AuthContext';

/**
 * The enabled switch of a policy. It turns at once and turns back, with
 * the reason, when Central refuses; roles that cannot change policies see
 * it read-only.
 */
export function PolicyToggle({
  id,
  name,
  disabled,
  onChanged,
}: {
  id: string;
  name: string;
  disabled: boolean;
  onChanged?: (disabled: boolean) => void;
}) {
  const api = useApi();
  const canWrite = useCanWrite();
  const [shown, setShown] = useState<{ for: boolean; value: boolean } | null>(null);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState('');
  // What the server said last wins over an optimistic value made before it.
  const enabled = shown && shown.for === disabled ? shown.value : !disabled;

  const toggle = async (on: boolean) => {
    setShown({ for: disabled, value: on });
    setBusy(true);
    setFailure('');
    try {
      const p = await setPolicyDisabled(api, id, !on);
      onChanged?.(Boolean(p.disabled));
    } catch (err) {
      setShown(null);
      setFailure(`Could not ${on ? 'enable' : 'disable'} the policy: ${errorMessage(err)}`);
    } finally {
      setBusy(false);
    }
  };

  const sw = (
    <Switch
      id={`policy-enabled-${id}`}
      aria-label={`${name} enabled`}
      isChecked={enabled}
      isDisabled={!canWrite || busy}
      onChange={(_e, on) => void toggle(on)}
      label={enabled ? 'Enabled' : 'Disabled'}
    />
  );
  return (
    <>
      {canWrite ? sw : <Tooltip content="Only the Admin role can enable or disable policies.">{sw}</Tooltip>}
      {failure && (
        <div role="alert" className="pf-v6-u-danger-color-100 pf-v6-u-font-size-sm">
          {failure}
        </div>
      )}
    </>
  );
}
