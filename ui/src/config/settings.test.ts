import { describe, expect, it } from 'vitest';
import type { SystemConfig } from '../api/config';
import { checkSystemConfig } from './settings';

function config(): SystemConfig {
  return {
    publicConfig: {
      loginNotice: { enabled: false, text: '' },
      header: { enabled: false, text: '', color: '#ffffff', backgroundColor: '#0066cc' },
    },
    privateConfig: { alertRetention: { resolvedDays: 30, deletedDeploymentDays: 7 }, sessionIdleMinutes: 60 },
  };
}

describe('checkSystemConfig', () => {
  it('accepts the defaults', () => {
    expect(checkSystemConfig(config())).toEqual({});
  });

  it('names every bad field by its API path', () => {
    const c = config();
    c.publicConfig.loginNotice.enabled = true;
    c.publicConfig.header = { enabled: true, text: 'x'.repeat(201), color: 'red', backgroundColor: '#00f' };
    c.privateConfig = { alertRetention: { resolvedDays: -1, deletedDeploymentDays: 1.5 }, sessionIdleMinutes: 4 };
    expect(Object.keys(checkSystemConfig(c)).sort()).toEqual([
      'privateConfig.alertRetention.deletedDeploymentDays',
      'privateConfig.alertRetention.resolvedDays',
      'privateConfig.sessionIdleMinutes',
      'publicConfig.header.backgroundColor',
      'publicConfig.header.color',
      'publicConfig.header.text',
      'publicConfig.loginNotice.text',
    ]);
  });

  it('takes 0 as keep forever', () => {
    const c = config();
    c.privateConfig = { alertRetention: { resolvedDays: 0, deletedDeploymentDays: 0 }, sessionIdleMinutes: 5 };
    expect(checkSystemConfig(c)).toEqual({});
  });
});
