import type { Template } from 'aws-cdk-lib/assertions';
import { HUB_STACK_ID } from '#lib/fleet-auditor-app.js';
import { buildFleet, type SynthOptions, synthTemplates } from '#sim/states/synth.js';

// moved to sim/states/synth.ts, where bench/ reaches them too
export {
  buildFleet,
  COLLECTOR_CONTENT,
  renderDefinition,
  type SynthOptions,
  synthTemplates,
} from '#sim/states/synth.js';
export const HUB = { account: '111111111111', region: 'eu-west-1' } as const;

/** `targets` naming an organization: its OU ou-ab12-workload in two regions, the management account excluded. */
export const ORGANIZATION = {
  id: 'o-a1b2c3d4e5',
  managementAccount: '999999999999',
  regions: ['eu-west-1', 'us-east-1'],
  organizationalUnits: ['ou-ab12-workload'],
  excludeAccounts: ['999999999999'],
};

/** A hub audited from a fixed environment across two accounts and four account/regions. */
export const MULTI_ACCOUNT = {
  targets: [
    { account: HUB.account, regions: [HUB.region, 'us-east-1'] },
    { account: '222222222222', regions: ['eu-west-1', 'eu-central-1'] },
  ],
  alertEmail: 'platform@example.com',
  schedule: { cron: 'cron(30 1 * * ? *)', timeZone: 'Europe/Berlin' },
  clusterConcurrency: 12,
  pollIntervalSeconds: 20,
};

/** The hub template of an app built with `options`. */
export function hubTemplate(options: SynthOptions = {}): Template {
  const template = synthTemplates(buildFleet(options).app).get(HUB_STACK_ID);
  if (!template) throw new Error('no hub stack');
  return template;
}

/** The hub template of the default app (no context, no environment). */
export function defaultHubTemplate(): Template {
  return hubTemplate();
}
