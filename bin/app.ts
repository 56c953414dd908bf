import { App } from 'aws-cdk-lib';
import { buildCollectorDocument } from '../collector/ssm-document.js';
import { loadThresholds, ThresholdsError } from '../lambda/audit/thresholds.js';
import { ConfigError } from '../lib/config.js';
import { addFleetAuditor } from '../lib/fleet-auditor-app.js';

/**
 * The CDK app (cdk.json: `npx tsx bin/app.ts`): the FleetAuditorHub stack, a member stack per other audited
 * account and region, and cdk-nag's AwsSolutions checks, all from the `fleetAudit` context. With no context at
 * all it audits the hub's own account and region.
 *
 * The thresholds are validated here too (the functions validate them again at cold start), so a misspelt or
 * out-of-range threshold fails synth instead of every audit after a deploy.
 */
const app = new App();
try {
  const { config } = addFleetAuditor(app, {
    collectorDocumentContent: buildCollectorDocument(),
    defaultAccount: process.env.CDK_DEFAULT_ACCOUNT,
    defaultRegion: process.env.CDK_DEFAULT_REGION,
  });
  loadThresholds(config.thresholds);
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  if (error instanceof ThresholdsError) {
    console.error(`fleet-audit: cdk.json context fleetAudit.thresholds: ${error.message}`);
    process.exit(2);
  }
  throw error;
}
