import {
  ActionGroup,
  Alert,
  Button,
  Checkbox,
  Content,
  Form,
  FormGroup,
  FormHelperText,
  FormSection,
  HelperText,
  HelperTextItem,
  PageSection,
  TextArea,
  TextInput,
  Title,
} from '@patternfly/react-core';
import { useState, type FormEvent } from 'react';
import { ApiError, errorMessage } from '../../api/client';
import { getSystemConfig, saveSystemConfig, type SystemConfig } from '../../api/config';
import { useApi } from '../../api/context';
import { useUser } from '../../auth/AuthContext';
import { ErrorState, LoadingState } from '../../components/StateViews';
import { checkSystemConfig } from '../../config/settings';
import { useFetch } from '../../hooks/useFetch';
import { useBanner } from '../../layout/Banner';

function Help({ error, help }: { error?: string; help?: string }) {
  if (!error && !help) return null;
  return (
    <FormHelperText>
      <HelperText>
        <HelperTextItem variant={error ? 'error' : 'default'}>{error ?? help}</HelperTextItem>
      </HelperText>
    </FormHelperText>
  );
}

function SettingsForm({ initial, canEdit }: { initial: SystemConfig; canEdit: boolean }) {
  const api = useApi();
  const banner = useBanner();
  const [cfg, setCfg] = useState<SystemConfig>(initial);
  const [days, setDays] = useState({
    resolvedDays: String(initial.privateConfig?.alertRetention.resolvedDays ?? ''),
    deletedDeploymentDays: String(initial.privateConfig?.alertRetention.deletedDeploymentDays ?? ''),
    sessionIdleMinutes: String(initial.privateConfig?.sessionIdleMinutes ?? ''),
  });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string }>();
  const [busy, setBusy] = useState(false);

  const notice = cfg.publicConfig.loginNotice;
  const header = cfg.publicConfig.header;
  const setNotice = (n: Partial<typeof notice>) =>
    setCfg({ ...cfg, publicConfig: { ...cfg.publicConfig, loginNotice: { ...notice, ...n } } });
  const setHeader = (h: Partial<typeof header>) => setCfg({ ...cfg, publicConfig: { ...cfg.publicConfig, header: { ...header, ...h } } });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const toSend: SystemConfig = {
      ...cfg,
      privateConfig: {
        alertRetention: {
          resolvedDays: days.resolvedDays.trim() === '' ? NaN : Number(days.resolvedDays),
          deletedDeploymentDays: days.deletedDeploymentDays.trim() === '' ? NaN : Number(days.deletedDeploymentDays),
        },
        sessionIdleMinutes: days.sessionIdleMinutes.trim() === '' ? NaN : Number(days.sessionIdleMinutes),
      },
    };
    const errs = checkSystemConfig(toSend);
    setErrors(errs);
    if (Object.keys(errs).length > 0) {
      setOutcome({ ok: false, text: 'Fix the fields marked below.' });
      return;
    }
    setBusy(true);
    setOutcome(undefined);
    try {
      const saved = await saveSystemConfig(api, toSend);
      setCfg(saved);
      banner.set(saved.publicConfig.header);
      setOutcome({ ok: true, text: 'Settings saved. They apply at once.' });
    } catch (err) {
      if (err instanceof ApiError) setErrors(Object.fromEntries(err.details.map((d) => [d.path, d.message])));
      setOutcome({ ok: false, text: `Not saved: ${errorMessage(err)}` });
    } finally {
      setBusy(false);
    }
  };

  const dayField = (key: 'resolvedDays' | 'deletedDeploymentDays' | 'sessionIdleMinutes', label: string, help: string) => {
    const path = key === 'sessionIdleMinutes' ? `privateConfig.${key}` : `privateConfig.alertRetention.${key}`;
    return (
      <FormGroup label={label} fieldId={`settings-${key}`} isRequired>
        <TextInput
          id={`settings-${key}`}
          type="number"
          min={key === 'sessionIdleMinutes' ? 5 : 0}
          max={key === 'sessionIdleMinutes' ? 720 : 3650}
          value={days[key]}
          isDisabled={!canEdit}
          validated={errors[path] ? 'error' : 'default'}
          onChange={(_e, v) => setDays({ ...days, [key]: v })}
        />
        <Help error={errors[path]} help={help} />
      </FormGroup>
    );
  };

  return (
    <Form onSubmit={(e) => void submit(e)} noValidate aria-label="System settings" className="stk-settings-form">
      <div aria-live="polite">{outcome && <Alert isInline variant={outcome.ok ? 'success' : 'danger'} title={outcome.text} />}</div>
      {!canEdit && <Alert isInline variant="info" title="Only an Admin can change these settings." />}
      <FormSection title="Sign-in page notice" titleElement="h2">
        <FormGroup fieldId="settings-notice-enabled">
          <Checkbox
            id="settings-notice-enabled"
            label="Show a notice on the sign-in page"
            isChecked={notice.enabled}
            isDisabled={!canEdit}
            onChange={(_e, enabled) => setNotice({ enabled })}
          />
        </FormGroup>
        <FormGroup label="Notice text" fieldId="settings-notice-text">
          <TextArea
            id="settings-notice-text"
            value={notice.text}
            isDisabled={!canEdit}
            resizeOrientation="vertical"
            validated={errors['publicConfig.loginNotice.text'] ? 'error' : 'default'}
            onChange={(_e, text) => setNotice({ text })}
          />
          <Help
            error={errors['publicConfig.loginNotice.text']}
            help="Shown to everyone before they sign in: terms of use, a monitoring warning."
          />
        </FormGroup>
      </FormSection>
      <FormSection title="Banner" titleElement="h2">
        <FormGroup fieldId="settings-banner-enabled">
          <Checkbox
            id="settings-banner-enabled"
            label="Show a banner above every page"
            isChecked={header.enabled}
            isDisabled={!canEdit}
            onChange={(_e, enabled) => setHeader({ enabled })}
          />
        </FormGroup>
        <FormGroup label="Banner text" fieldId="settings-banner-text">
          <TextInput
            id="settings-banner-text"
            value={header.text}
            isDisabled={!canEdit}
            validated={errors['publicConfig.header.text'] ? 'error' : 'default'}
            onChange={(_e, text) => setHeader({ text })}
          />
          <Help error={errors['publicConfig.header.text']} help="One line, such as the environment's name or classification." />
        </FormGroup>
        <FormGroup label="Text color" fieldId="settings-banner-color">
          <TextInput
            id="settings-banner-color"
            value={header.color}
            isDisabled={!canEdit}
            validated={errors['publicConfig.header.color'] ? 'error' : 'default'}
            onChange={(_e, color) => setHeader({ color })}
          />
          <Help error={errors['publicConfig.header.color']} help="#rrggbb" />
        </FormGroup>
        <FormGroup label="Background color" fieldId="settings-banner-background">
          <TextInput
            id="settings-banner-background"
            value={header.backgroundColor}
            isDisabled={!canEdit}
            validated={errors['publicConfig.header.backgroundColor'] ? 'error' : 'default'}
            onChange={(_e, backgroundColor) => setHeader({ backgroundColor })}
          />
          <Help error={errors['publicConfig.header.backgroundColor']} help="#rrggbb" />
        </FormGroup>
        {header.text && /^#[0-9a-fA-F]{6}$/.test(header.color) && /^#[0-9a-fA-F]{6}$/.test(header.backgroundColor) && (
          <div className="stk-banner" style={{ color: header.color, backgroundColor: header.backgroundColor }} aria-label="Banner preview">
            {header.text}
          </div>
        )}
      </FormSection>
      {cfg.privateConfig && (
        <FormSection title="Violation retention" titleElement="h2">
          {dayField(
            'resolvedDays',
            'Keep resolved violations (days)',
            'Resolved violations older than this are deleted; 0 keeps them forever.',
          )}
          {dayField(
            'deletedDeploymentDays',
            'Keep violations of deleted deployments (days)',
            'Violations of deployments removed from their cluster are deleted after this; 0 keeps them forever.',
          )}
        </FormSection>
      )}
      {cfg.privateConfig && (
        <FormSection title="Sessions" titleElement="h2">
          {dayField(
            'sessionIdleMinutes',
            'Sign out idle sessions after (minutes)',
            'A dashboard session without a request for this long ends; every session ends 12 hours after sign-in. 5 to 720.',
          )}
        </FormSection>
      )}
      {canEdit && (
        <ActionGroup>
          <Button type="submit" variant="primary" isLoading={busy} isDisabled={busy}>
            Save
          </Button>
        </ActionGroup>
      )}
    </Form>
  );
}

/** Central's system configuration: sign-in notice, banner, alert retention. */
export function SettingsPage() {
  const api = useApi();
  const user = useUser();
  const fetched = useFetch((signal) => getSystemConfig(api, signal), 'config');
  let body;
  if (fetched.error !== undefined && !fetched.data) {
    body = <ErrorState title="The settings could not be loaded" error={fetched.error} onRetry={fetched.reload} />;
  } else if (!fetched.data) {
    body = <LoadingState label="Loading settings" />;
  } else {
    body = <SettingsForm initial={fetched.data} canEdit={user.role === 'Admin'} />;
  }
  return (
    <>
      <PageSection>
        <Title headingLevel="h1">System settings</Title>
        <Content component="p">What every page shows, and how long violations are kept. Changes apply at once, without a restart.</Content>
      </PageSection>
      <PageSection>{body}</PageSection>
    </>
  );
}
