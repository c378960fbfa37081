import { PageSection } from '@patternfly/react-core';
import { useRouteError } from 'react-router';
import { ErrorState } from '../components/StateViews';

/**
 * What a page that crashed, or whose code could not be loaded (an upgrade
 * replaced it), shows instead of a blank screen.
 */
export function RouteErrorPage() {
  const error = useRouteError();
  return (
    <PageSection>
      <ErrorState title="This page failed" error={error} onRetry={() => window.location.reload()} />
    </PageSection>
  );
}
