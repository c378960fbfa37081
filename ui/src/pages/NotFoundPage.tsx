import { Button, EmptyState, EmptyStateActions, EmptyStateBody, EmptyStateFooter, PageSection } from '@patternfly/react-core';
import { PathMissingIcon } from '@patternfly/react-icons';
import type { ComponentProps } from 'react';
import { Link, useLocation } from 'react-router';

function HomeLink(props: ComponentProps<'a'>) {
  return <Link {...props} to="/" />;
}

/** A path of the dashboard that names no page. */
export function NotFoundPage() {
  const { pathname } = useLocation();
  return (
    <PageSection>
      <EmptyState titleText="Page not found" headingLevel="h1" icon={PathMissingIcon}>
        <EmptyStateBody>
          The dashboard has no page at <code>{pathname}</code>.
        </EmptyStateBody>
        <EmptyStateFooter>
          <EmptyStateActions>
            <Button variant="primary" component={HomeLink}>
              Go to the dashboard
            </Button>
          </EmptyStateActions>
        </EmptyStateFooter>
      </EmptyState>
    </PageSection>
  );
}
