import { Button } from '@patternfly/react-core';
import { DownloadIcon } from '@patternfly/react-icons';
import { csvHref } from '../vulnFormat';

/**
 * Downloads a list as CSV with the filters and sort it shows: Central
 * streams every matching row (not only the page), with a header row and
 * formula-like cells made inert. The link is a plain GET with the session
 * cookie, so the browser saves the file itself.
 */
export function ExportCsv({
  path,
  filters,
  sort,
  what,
}: {
  /** The list endpoint, "/v1/cves". */
  path: string;
  filters: Record<string, string | undefined>;
  sort?: string;
  /** What the list holds, "CVEs": the button's accessible name. */
  what: string;
}) {
  return (
    <Button
      component="a"
      variant="secondary"
      icon={<DownloadIcon />}
      href={csvHref(path, filters, sort)}
      download
      aria-label={`Export ${what} as CSV`}
    >
      Export CSV
    </Button>
  );
}
