import {
  ActionGroup,
  Alert,
  Button,
  Form,
  FormGroup,
  LoginPage as PFLoginPage,
  TextInput,
  ToggleGroup,
  ToggleGroupItem,
} from '@patternfly/react-core';
import { useEffect, useState, type FormEvent } from 'react';
import { Navigate, useLocation, useNavigate, useSearchParams } from 'react-router';
import { ApiError, errorMessage } from '../api/client';
import { getLoginNotice, type LoginNotice } from '../api/config';
import { useApi } from '../api/context';
import { useAuth } from '../auth/AuthContext';
import { safeNext } from '../auth/RequireAuth';

type Method = 'password' | 'token';

function failureMessage(err: unknown, method: Method): string {
  if (err instanceof ApiError) {
    if (err.status === 401)
      return method === 'password' ? 'Wrong user name or password.' : 'This API token is not valid (unknown, revoked or expired).';
    if (err.status === 429) return 'Too many failed sign-ins from this address. Wait a minute and try again.';
  }
  return errorMessage(err);
}

/**
 * The notice of the system configuration, shown before signing in; none
 * while it loads, when it is disabled, or when it cannot be read (signing
 * in matters more).
 */
function useLoginNotice(): LoginNotice | undefined {
  const api = useApi();
  const [notice, setNotice] = useState<LoginNotice>();
  useEffect(() => {
    const ctrl = new AbortController();
    getLoginNotice(api, ctrl.signal).then(
      (n) => setNotice(n.enabled && n.text ? n : undefined),
      () => {},
    );
    return () => ctrl.abort();
  }, [api]);
  return notice;
}

/** Sign in with the admin password or an API token. */
export function LoginPage() {
  const { session, signIn } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const [params] = useSearchParams();
  const next = safeNext(params.get('next'));
  const reason = (location.state as { reason?: string } | null)?.reason;

  const [method, setMethod] = useState<Method>('password');
  const [username, setUsername] = useState('admin');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState('');
  const notice = useLoginNotice();

  if (session.state === 'signedIn') return <Navigate to={next} replace />;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setFailure('');
    try {
      await signIn(method === 'password' ? { username: username.trim(), password } : { token: token.trim() });
      navigate(next, { replace: true });
    } catch (err) {
      setFailure(failureMessage(err, method));
      setBusy(false);
    }
  };
  const ready = method === 'password' ? username.trim() !== '' && password !== '' : token.trim() !== '';

  return (
    <PFLoginPage
      loginTitle="Sign in to Stockade"
      loginSubtitle="Kubernetes security from build to runtime"
      textContent="The user name is admin; its password is in the admin-password file of Central's data directory. An API token signs you in with the token's role."
    >
      {notice && (
        <Alert variant="custom" isInline title="Notice" className="pf-v6-u-mb-md" data-testid="login-notice">
          <div className="stk-login-notice">{notice.text}</div>
        </Alert>
      )}
      <Form onSubmit={submit} aria-label="Sign in" noValidate>
        {reason && !failure && <Alert variant="info" isInline isPlain title={reason} />}
        {failure && <Alert variant="danger" isInline title={failure} aria-live="assertive" />}
        <FormGroup role="radiogroup" label="Sign in with" fieldId="login-method" isStack>
          <ToggleGroup aria-label="Sign in with">
            <ToggleGroupItem
              text="Password"
              buttonId="login-method"
              isSelected={method === 'password'}
              onChange={() => setMethod('password')}
            />
            <ToggleGroupItem
              text="API token"
              buttonId="login-method-token"
              isSelected={method === 'token'}
              onChange={() => setMethod('token')}
            />
          </ToggleGroup>
        </FormGroup>
        {method === 'password' ? (
          <>
            <FormGroup label="User name" isRequired fieldId="login-username">
              <TextInput
                id="login-username"
                name="username"
                autoComplete="username"
                isRequired
                value={username}
                onChange={(_e, v) => setUsername(v)}
              />
            </FormGroup>
            <FormGroup label="Password" isRequired fieldId="login-password">
              <TextInput
                id="login-password"
                name="password"
                type="password"
                autoComplete="current-password"
                isRequired
                value={password}
                onChange={(_e, v) => setPassword(v)}
                autoFocus
              />
            </FormGroup>
          </>
        ) : (
          <FormGroup label="API token" isRequired fieldId="login-token">
            <TextInput
              id="login-token"
              name="token"
              type="password"
              autoComplete="off"
              isRequired
              placeholder="stk_…"
              value={token}
              onChange={(_e, v) => setToken(v)}
              autoFocus
            />
          </FormGroup>
        )}
        <ActionGroup>
          <Button type="submit" variant="primary" isBlock isLoading={busy} isDisabled={busy || !ready}>
            Sign in
          </Button>
        </ActionGroup>
      </Form>
    </PFLoginPage>
  );
}
