import { Bullseye, Button, EmptyState, EmptyStateActions, EmptyStateBody, EmptyStateFooter, Spinner } from '@patternfly/react-core';
import { ExclamationCircleIcon, SearchIcon } from '@patternfly/react-icons';
import type { ReactNode } from 'react';
import { ApiError, errorMessage } from '../api/client';

/** A spinner while something loads. */
export function LoadingState({ label, fullPage = false }: { label: string; fullPage?: boolean }) {
  return (
    <Bullseye className={fullPage ? 'stk-full-page' : 'pf-v6-u-p-xl'}>
      <Spinner aria-label={label} aria-valuetext={label} />
    </Bullseye>
  );
}

/** What failed, why, and a way to try again. */
export function ErrorState({
  title,
  error,
  onRetry,
  fullPage = false,
}: {
  title: string;
  error: unknown;
  onRetry?: () => void;
  fullPage?: boolean;
}) {
  const notFound = error instanceof ApiError && error.status === 404;
  return (
    <Bullseye className={fullPage ? 'stk-full-page' : undefined}>
      <EmptyState titleText={notFound ? 'Not found' : title} headingLevel="h2" icon={ExclamationCircleIcon} status="danger" role="alert">
        <EmptyStateBody>{errorMessage(error)}</EmptyStateBody>
        {onRetry && !notFound && (
          <EmptyStateFooter>
            <EmptyStateActions>
              <Button variant="primary" onClick={onRetry}>
                Try again
              </Button>
            </EmptyStateActions>
          </EmptyStateFooter>
        )}
      </EmptyState>
    </Bullseye>
  );
}

/** A list with nothing to show: why, and a way out when filters hide everything. */
export function EmptyListState({
  title,
  children,
  filtered,
  onClearFilters,
}: {
  title: string;
  children?: ReactNode;
  filtered: boolean;
  onClearFilters?: () => void;
}) {
  return (
    <EmptyState titleText={filtered ? 'No results match the filters' : title} headingLevel="h2" icon={SearchIcon}>
      <EmptyStateBody>{filtered ? 'Change or clear the filters to see more.' : children}</EmptyStateBody>
      {filtered && onClearFilters && (
        <EmptyStateFooter>
          <EmptyStateActions>
            <Button variant="link" onClick={onClearFilters}>
              Clear all filters
            </Button>
          </EmptyStateActions>
        </EmptyStateFooter>
      )}
    </EmptyState>
  );
}
