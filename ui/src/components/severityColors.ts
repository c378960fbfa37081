import {
  t_chart_color_orange_200,
  t_chart_color_red_orange_300,
  t_chart_color_red_orange_400,
  t_chart_color_yellow_100,
} from '@patternfly/react-tokens';
import type { Severity } from '../api/types';

/** The chart color of each severity, darkest for the most severe. */
export const SEVERITY_CHART_COLORS: Record<Severity, string> = {
  CRITICAL_SEVERITY: t_chart_color_red_orange_400.value,
  HIGH_SEVERITY: t_chart_color_red_orange_300.value,
  MEDIUM_SEVERITY: t_chart_color_orange_200.value,
  LOW_SEVERITY: t_chart_color_yellow_100.value,
};
