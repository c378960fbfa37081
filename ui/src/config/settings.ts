// The checks of the system configuration form, with the API's own rules
// (internal/central/sysconfig).
import type { SystemConfig } from '../api/config';

/** The problems of a configuration by field path, with the API's own rules. */
export function checkSystemConfig(cfg: SystemConfig): Record<string, string> {
  const errs: Record<string, string> = {};
  const { loginNotice, header } = cfg.publicConfig;
  if (loginNotice.enabled && loginNotice.text.trim() === '')
    errs['publicConfig.loginNotice.text'] = 'is required when the notice is enabled';
  if (loginNotice.text.length > 4000) errs['publicConfig.loginNotice.text'] = 'is longer than 4000 characters';
  if (header.enabled && header.text.trim() === '') errs['publicConfig.header.text'] = 'is required when the banner is enabled';
  if (header.text.length > 200) errs['publicConfig.header.text'] = 'is longer than 200 characters';
  for (const key of ['color', 'backgroundColor'] as const) {
    if (!/^#[0-9a-fA-F]{6}$/.test(header[key])) errs[`publicConfig.header.${key}`] = 'want a color as #rrggbb';
  }
  const ret = cfg.privateConfig?.alertRetention;
  for (const key of ['resolvedDays', 'deletedDeploymentDays'] as const) {
    const n = ret?.[key];
    if (n === undefined || !Number.isInteger(n) || n < 0 || n > 3650)
      errs[`privateConfig.alertRetention.${key}`] = 'want 0 (keep forever) to 3650 days';
  }
  const idle = cfg.privateConfig?.sessionIdleMinutes;
  if (idle === undefined || !Number.isInteger(idle) || idle < 5 || idle > 720)
    errs['privateConfig.sessionIdleMinutes'] = 'want 5 to 720 minutes';
  return errs;
}
