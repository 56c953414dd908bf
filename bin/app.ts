import { App } from 'aws-cdk-lib';
import { buildCollectorDocument } from '../collector/ssm-document.js';
import { ConfigError } from '../lib/config.js';
import { addFleetAuditor } from '../lib/fleet-auditor-app.js';

/**
 * The CDK app (cdk.json: `npx tsx bin/app.ts`): the FleetAuditorHub stack, a member stack per other audited
 * account and region, and cdk-nag's AwsSolutions checks, all from the `fleetAudit` context. With no context at
 * all it audits the hub's own account and region.
 */
const app = new App();
try {
  addFleetAuditor(app, {
    collectorDocumentContent: buildCollectorDocument(),
    defaultAccount: process.env.CDK_DEFAULT_ACCOUNT,
    defaultRegion: process.env.CDK_DEFAULT_REGION,
  });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(2);
}
