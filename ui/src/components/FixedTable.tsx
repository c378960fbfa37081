import { css } from '@patternfly/react-styles';
import styles from '@patternfly/react-styles/css/components/Table/table';
import gridStyles from '@patternfly/react-styles/css/components/Table/table-grid';
import type { ComponentProps } from 'react';

/**
 * PatternFly's compact table, drawn with its markup and classes, for the
 * read-only tables of a few rows on the dashboard's tiles. PatternFly's
 * Table components make every cell a component with decorators, a
 * generated OUIA id and a keyboard-grid role, and bring react-table and
 * lodash into the dashboard's first bundle; these tables need none of
 * that. Like PatternFly's, they stack into label and value pairs below the
 * md breakpoint, from each cell's dataLabel.
 */
export function FixedTable({ className, ...props }: ComponentProps<'table'> & { 'aria-label': string }) {
  return <table {...props} className={css(styles.table, gridStyles.modifiers.gridMd, styles.modifiers.compact, className)} />;
}

export function FixedThead({ className, ...props }: ComponentProps<'thead'>) {
  return <thead {...props} className={css(styles.tableThead, className)} />;
}

export function FixedTbody({ className, ...props }: ComponentProps<'tbody'>) {
  return <tbody {...props} className={css(styles.tableTbody, className)} />;
}

export function FixedTr({ className, ...props }: ComponentProps<'tr'>) {
  return <tr {...props} className={css(styles.tableTr, className)} />;
}

/** A column header; long headers wrap. */
export function FixedTh({ className, ...props }: ComponentProps<'th'>) {
  return <th scope="col" {...props} className={css(styles.tableTh, styles.modifiers.wrap, className)} />;
}

/** A cell; dataLabel names its column when the table stacks. */
export function FixedTd({
  dataLabel,
  breakWord = false,
  className,
  ...props
}: ComponentProps<'td'> & { dataLabel: string; breakWord?: boolean }) {
  return <td {...props} data-label={dataLabel} className={css(styles.tableTd, breakWord && styles.modifiers.breakWord, className)} />;
}
