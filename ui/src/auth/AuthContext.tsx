import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { ApiError } from '../api/client';
import { useApi } from '../api/context';
import * as endpoints from '../api/endpoints';
import type { AuthStatus } from '../api/types';

/** Who is signed in: unknown while the first check runs. */
export type Session =
  | { state: 'checking' }
  | { state: 'signedOut'; reason?: string; deliberate?: boolean }
  | { state: 'signedIn'; user: AuthStatus }
  | { state: 'failed'; error: unknown };

interface AuthContextValue {
  session: Session;
  signIn: (creds: endpoints.Credentials) => Promise<AuthStatus>;
  signOut: () => Promise<void>;
  /** Checks the session again, after a failure to reach Central. */
  recheck: () => void;
}

const AuthContext = createContext<AuthContextValue | null>(null);

/** Tracks the dashboard session: checks it at start, signs in and out, and
 * notices when any API call finds it gone. */
export function AuthProvider({ children }: { children: ReactNode }) {
  const api = useApi();
  // Signed in from the start when the start-up prefetch of the session
  // check has already answered (boot.ts); checking otherwise.
  const [session, setSession] = useState<Session>(() => {
    const user = api.take<AuthStatus>(endpoints.AUTH_STATUS_PATH);
    return user ? { state: 'signedIn', user } : { state: 'checking' };
  });
  const known = useRef(session.state === 'signedIn');
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    if (known.current) {
      known.current = false;
      return;
    }
    const ctrl = new AbortController();
    endpoints.authStatus(api, ctrl.signal).then(
      (user) => setSession({ state: 'signedIn', user }),
      (error: unknown) => {
        if (ctrl.signal.aborted) return;
        if (error instanceof ApiError && error.status === 401) setSession({ state: 'signedOut' });
        else setSession({ state: 'failed', error });
      },
    );
    return () => ctrl.abort();
  }, [api, generation]);

  useEffect(
    () =>
      api.onUnauthorized(() =>
        setSession((s) => (s.state === 'signedIn' ? { state: 'signedOut', reason: 'Your session ended. Sign in again.' } : s)),
      ),
    [api],
  );

  const signIn = useCallback(
    async (creds: endpoints.Credentials) => {
      await endpoints.login(api, creds);
      const user = await endpoints.authStatus(api);
      setSession({ state: 'signedIn', user });
      return user;
    },
    [api],
  );

  const signOut = useCallback(async () => {
    try {
      await endpoints.logout(api);
    } catch (err) {
      // A session that is already gone is signed out all the same.
      if (!(err instanceof ApiError && err.status === 401)) throw err;
    }
    setSession({ state: 'signedOut', reason: 'You are signed out.', deliberate: true });
  }, [api]);

  const recheck = useCallback(() => {
    setSession({ state: 'checking' });
    setGeneration((g) => g + 1);
  }, []);

  const value = useMemo(() => ({ session, signIn, signOut, recheck }), [session, signIn, signOut, recheck]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

/** The session and the sign-in and sign-out actions. */
export function useAuth(): AuthContextValue {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error('useAuth outside AuthProvider');
  return ctx;
}

/** The signed-in user; only below RequireAuth. */
export function useUser(): AuthStatus {
  const { session } = useAuth();
  if (session.state !== 'signedIn') throw new Error('useUser without a signed-in user');
  return session.user;
}

/** Whether the user's role may change things (only Admin may). */
export function useCanWrite(): boolean {
  return useUser().role === 'Admin';
}
