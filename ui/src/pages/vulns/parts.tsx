import {
  Card,
  CardBody,
  CardTitle,
  DescriptionListDescription,
  DescriptionListGroup,
  DescriptionListTerm,
  PageSection,
  Title,
} from '@patternfly/react-core';
import type { ReactNode } from 'react';
import { ErrorState, LoadingState } from '../../components/StateViews';
import type { FetchState } from '../../hooks/useFetch';

/** A term of a description list; "—" when there is nothing to say. */
export function Term({ term, children }: { term: string; children: ReactNode }) {
  return (
    <DescriptionListGroup>
      <DescriptionListTerm>{term}</DescriptionListTerm>
      <DescriptionListDescription>{children || '—'}</DescriptionListDescription>
    </DescriptionListGroup>
  );
}

/** A titled card of a detail page, labelled by its heading. */
export function Section({ id, title, children }: { id: string; title: string; children: ReactNode }) {
  return (
    <Card component="section" aria-labelledby={id} isFullHeight>
      <CardTitle>
        <Title headingLevel="h2" size="lg" id={id}>
          {title}
        </Title>
      </CardTitle>
      <CardBody>{children}</CardBody>
    </Card>
  );
}

/** The loading or error state of a detail page's main load, or null once loaded. */
export function DetailState<T>({ state, what }: { state: FetchState<T>; what: string }) {
  if (state.error !== undefined) {
    return (
      <PageSection>
        <ErrorState title={`The ${what} could not be loaded`} error={state.error} onRetry={state.reload} />
      </PageSection>
    );
  }
  return (
    <PageSection>
      <LoadingState label={`Loading the ${what}`} />
    </PageSection>
  );
}
