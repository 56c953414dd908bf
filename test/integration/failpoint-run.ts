/**
 * One audit run in a process of its own, for the failpoint test (failpoints.test.ts), which SIGKILLs it: the real
 * steps, store and publisher, with the store's DynamoDB client and the SNS publisher pointed at the failpoint
 * proxy's fronts and everything else at the simulator. Configuration is one JSON object in FAILPOINT_RUN.
 *
 * A whole run prints its plan as one JSON line on stdout as soon as it is made (a pipe is written synchronously on
 * Linux, https://nodejs.org/api/process.html#a-note-on-process-io, so the line is out before any kill); with
 * `retryPlan` the process is a retried report step of that plan instead, as the state machine would invoke it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import { createAlertPublisher, createTargetClientsFactory } from '#aws/clients.js';
import { AuditStore } from '#aws/store.js';
import { runAudit } from '#workflow/audit-run.js';
import { report } from '#workflow/report.js';
import { AuditSettingsSchema } from '#workflow/settings.js';
import type { StepDeps } from '#workflow/steps.js';

const ConfigSchema = z.object({
  dynamoEndpoint: z.string(),
  snsEndpoint: z.string(),
  simEndpoint: z.string(),
  table: z.string(),
  topicArn: z.string(),
  targets: z.array(z.object({ account: z.string(), region: z.string() })),
  /** the simulated clock's distance from the real one (the simulator is given the same) */
  clockOffsetMs: z.number(),
  /** StepDeps.digestLeaseMs (`run --local` sets its own) */
  digestLeaseMs: z.number().optional(),
  /** StepDeps.digestMessageMaxBytes: smaller than SNS's, to send a small fleet's digest in parts */
  digestMessageMaxBytes: z.number().optional(),
  retryPlan: z
    .object({
      runId: z.string(),
      startedAt: z.string(),
      clusters: z.array(
        z.object({
          runId: z.string(),
          startedAt: z.string(),
          account: z.string(),
          region: z.string(),
          name: z.string(),
        }),
      ),
    })
    .optional(),
});

const config = ConfigSchema.parse(JSON.parse(process.env.FAILPOINT_RUN ?? ''));
const dynamo = new DynamoDBClient({
  endpoint: config.dynamoEndpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  maxAttempts: 3,
});
const deps: StepDeps = {
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
  now: () => new Date(Date.now() + config.clockOffsetMs),
  ...(config.digestLeaseMs !== undefined && { digestLeaseMs: config.digestLeaseMs }),
  ...(config.digestMessageMaxBytes !== undefined && { digestMessageMaxBytes: config.digestMessageMaxBytes }),
};
const output = config.retryPlan
  ? await report(config.retryPlan, deps)
  : await runAudit(deps, { observer: { planned: (plan) => process.stdout.write(`${JSON.stringify({ plan })}\n`) } });
process.stdout.write(`${JSON.stringify({ runId: output.result.runId, alertProblem: output.alertProblem })}\n`);
dynamo.destroy();
