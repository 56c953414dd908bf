/**
 * One whole audit run in a process of its own, for the failpoint test (failpoints.test.ts), which SIGKILLs it.
 * The real steps, store and publisher, the store's DynamoDB client and the SNS publisher pointed at the failpoint
 * proxy's fronts, everything else at the simulator. Configuration is one JSON object in FAILPOINT_RUN; the run's
 * outcome is one JSON line on stdout.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import { createAlertPublisher, createTargetClientsFactory } from '#aws/clients.js';
import { AuditStore } from '#aws/store.js';
import { runAudit } from '#workflow/audit-run.js';
import { AuditSettingsSchema } from '#workflow/settings.js';

const ConfigSchema = z.object({
  dynamoEndpoint: z.string(),
  snsEndpoint: z.string(),
  simEndpoint: z.string(),
  table: z.string(),
  topicArn: z.string(),
  targets: z.array(z.object({ account: z.string(), region: z.string() })),
  /** the simulated clock's distance from the real one (the simulator is given the same) */
  clockOffsetMs: z.number(),
});

const config = ConfigSchema.parse(JSON.parse(process.env.FAILPOINT_RUN ?? ''));
const dynamo = new DynamoDBClient({
  endpoint: config.dynamoEndpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  maxAttempts: 3,
});
const now = () => new Date(Date.now() + config.clockOffsetMs);
const output = await runAudit({
  clientsFor: createTargetClientsFactory({ endpoint: config.simEndpoint }),
  store: new AuditStore({ tableName: config.table }, dynamo),
  publisher: createAlertPublisher({
    region: config.topicArn.split(':')[3] ?? '',
    topicArn: config.topicArn,
    endpoint: config.snsEndpoint,
  }),
  settings: AuditSettingsSchema.parse({
    targets: config.targets,
    pollIntervalSeconds: 0.02,
    clusterDeadlineSeconds: 10,
  }),
  now,
});
process.stdout.write(
  `${JSON.stringify({ runId: output.result.runId, alertMessageId: output.alertMessageId, alertProblem: output.alertProblem })}\n`,
);
dynamo.destroy();
