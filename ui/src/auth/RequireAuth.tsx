import { Navigate, useLocation } from 'react-router';
import type { ReactNode } from 'react';
import { ErrorState, LoadingState } from '../components/StateViews';
import { useAuth } from './AuthContext';

/** Shows children to a signed-in user and sends anyone else to the
 * sign-in page, which brings them back here afterwards. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const { session, recheck } = useAuth();
  const location = useLocation();
  switch (session.state) {
    case 'checking':
      return <LoadingState label="Checking your session" fullPage />;
    case 'failed':
      return <ErrorState title="Central could not be reached" error={session.error} onRetry={recheck} fullPage />;
    case 'signedOut': {
      // A lost session brings the user back where they were; signing out
      // on purpose starts afresh.
      const next = location.pathname + location.search;
      const to = next === '/' || session.deliberate ? '/login' : `/login?next=${encodeURIComponent(next)}`;
      return <Navigate to={to} replace state={{ reason: session.reason }} />;
    }
  }
  return <>{children}</>;
}

/** Where to go after signing in: a path of this dashboard, never another site. */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  return next;
}
