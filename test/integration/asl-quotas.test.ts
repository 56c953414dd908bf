import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FleetSession, openLocalFleet } from '#sim/local-fleet.js';
import { instantClock } from '#sim/states/clock.js';
import { DefinitionError } from '#sim/states/errors.js';
import { runExecution } from '#sim/states/execution.js';
import { type LambdaHandler, LocalLambdaService } from '#sim/states/lambda-service.js';
import { MAX_HISTORY_EVENTS, MAX_LAMBDA_RESPONSE_BYTES, MAX_PAYLOAD_BYTES } from '#sim/states/quotas.js';
import { type DeployedWorkflow, deployedWorkflow, executeAuditRun } from './asl-support.js';

const FN = 'arn:aws:lambda:eu-west-1:111111111111:function:Step';

/** One Task calling `handler`, caught by `catchErrors` into a Pass state named Caught. */
function oneTask(catchErrors: string[]) {
  return {
    StartAt: 'Step',
    States: {
      Step: { Type: 'Task', Resource: FN, End: true, Catch: [{ ErrorEquals: catchErrors, Next: 'Caught' }] },
      Caught: { Type: 'Pass', End: true },
    },
  };
}

function serviceWith(handler: LambdaHandler, timeoutSeconds = 60, msPerSecond = 1000) {
  const lambda = new LocalLambdaService({ msPerSecond });
  lambda.deploy(FN, { handler, timeoutSeconds });
  return lambda;
}

const run = (definition: unknown, lambda: LocalLambdaService) =>
  runExecution({ definition, lambda, clock: instantClock(), name: 'quota-test', random: () => 1 });

describe('Step Functions: 256 KiB state input/output (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html)', () => {
  it('a task result one byte over 256 KiB fails with States.DataLimitExceeded, which States.ALL does not catch', async () => {
    // a JSON string of n characters is n + 2 bytes
    const lambda = serviceWith(async () => 'x'.repeat(MAX_PAYLOAD_BYTES - 1));

    const result = await run(oneTask(['States.ALL']), lambda);

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('States.DataLimitExceeded');
    expect(result.cause).toBe(
      "The state/task 'Step' returned a result with a size exceeding the maximum number of bytes service limit (262145 > 262144).",
    );
    expect(result.history.events.map((e) => e.type)).not.toContain('PassStateEntered');
  });

  it('a result of exactly 256 KiB passes', async () => {
    const lambda = serviceWith(async () => 'x'.repeat(MAX_PAYLOAD_BYTES - 2));
    expect((await run(oneTask(['States.ALL']), lambda)).status).toBe('SUCCEEDED');
  });

  it('reports each state’s largest input, output or result in the quota’s bytes', async () => {
    const lambda = serviceWith(async () => 'x'.repeat(100));

    const result = await run(oneTask(['States.ALL']), lambda);

    // the input {} is 2 bytes; the result, a JSON string of 100 characters, 102
    expect([...result.payloads.byState]).toEqual([
      ['execution input', 2],
      ['Step', 102],
    ]);
    expect(result.payloads.maxBytes).toBe(102);
  });

  it('a Catch that names States.DataLimitExceeded itself does catch it', async () => {
    const lambda = serviceWith(async () => 'x'.repeat(MAX_PAYLOAD_BYTES));

    const result = await run(oneTask(['States.DataLimitExceeded']), lambda);

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ Error: 'States.DataLimitExceeded' });
  });
});

describe('Step Functions: 25,000 events of execution history (same page)', () => {
  it('a loop that never ends fails the execution with event 25,000, ExecutionFailed', async () => {
    const loop = { StartAt: 'Again', States: { Again: { Type: 'Pass', Next: 'Again' } } };

    const result = await run(loop, new LocalLambdaService());

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('States.Runtime');
    expect(result.history.events).toHaveLength(MAX_HISTORY_EVENTS);
    expect(result.history.events.at(-1)?.type).toBe('ExecutionFailed');
  });
});

describe('Lambda: 6 MB response and 15-minute timeout (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html)', () => {
  it('a response over 6 MB is the function error Function.ResponseSizeTooLarge, which the task can catch', async () => {
    const lambda = serviceWith(async () => 'x'.repeat(MAX_LAMBDA_RESPONSE_BYTES));

    const result = await run(oneTask(['States.ALL']), lambda);

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ Error: 'Function.ResponseSizeTooLarge' });
    expect(lambda.invocations.map((i) => i.outcome)).toEqual(['function-error']);
  });

  it('a function running past its timeout is Sandbox.Timedout, recorded as LambdaFunctionTimedOut', async () => {
    let release = () => {};
    const stuck = new Promise<void>((resolve) => {
      release = resolve;
    });
    // 2 s timeout at 10 ms per function second
    const lambda = serviceWith(() => stuck.then(() => 'late'), 2, 10);

    const result = await run(oneTask(['Sandbox.Timedout']), lambda);
    release();

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ Error: 'Sandbox.Timedout' });
    expect(JSON.parse((result.output as { Cause: string }).Cause).errorMessage).toMatch(
      /^RequestId: [0-9a-f-]{36} Error: Task timed out after 2\.00 seconds$/,
    );
    expect(result.history.counts().LambdaFunctionTimedOut).toBe(1);
  });

  it('a function configured with more than 900 seconds is refused, as CreateFunction refuses it', () => {
    const lambda = new LocalLambdaService();
    expect(() => lambda.deploy(FN, { handler: async () => null, timeoutSeconds: 901 })).toThrow(
      `${FN}: Timeout 901 s is outside Lambda's 1–900 s (15 minutes)`,
    );
  });
});

describe('the interpreter refuses what it does not model', () => {
  it('names the state and the field', async () => {
    const definition = {
      StartAt: 'Step',
      States: { Step: { Type: 'Task', Resource: FN, End: true, HeartbeatSeconds: 60 } },
    };
    await expect(run(definition, new LocalLambdaService())).rejects.toThrow(
      new DefinitionError(
        'state machine definition: States.Step: field HeartbeatSeconds is not modelled by the local interpreter',
      ),
    );
  });
});

describe('the deployed AuditRun under the quotas', () => {
  let deployed: DeployedWorkflow;
  let fleet: FleetSession;
  let stateDir: string;

  beforeAll(async () => {
    deployed = deployedWorkflow();
    stateDir = await mkdtemp(join(tmpdir(), 'fleet-audit-asl-quota-'));
    fleet = await openLocalFleet({ stateDir, fresh: true, clusters: [], scenario: 'default' });
  }, 120_000);
  afterAll(async () => {
    await fleet.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('one cluster whose discovery exceeds 256 KiB fails the whole run: the iteration’s States.ALL Catch cannot catch it', async () => {
    const huge = async () => ({ padding: 'x'.repeat(MAX_PAYLOAD_BYTES) });

    const result = await executeAuditRun(deployed, {
      deps: fleet.deps,
      name: 'quota-discover',
      override: { discover: huge },
    });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('States.DataLimitExceeded');
    expect(result.cause).toContain("'Discover'");
  }, 60_000);

  it('costs 9 history events per poll cycle (Wait 2, Poll task 5, Choice 2)', async () => {
    let polls = 0;
    const notDone = async () => {
      polls += 1;
      return { done: polls > 50, commandsDone: false, queryDone: false };
    };
    const one = { ...fleet.deps, settings: { ...fleet.deps.settings, clusters: ['catalog-prod'] } };

    const slow = await executeAuditRun(deployed, {
      deps: one,
      name: 'quota-polls',
      override: { poll: notDone },
      clock: instantClock(),
    });
    polls = 0;
    const fast = await executeAuditRun(deployed, {
      deps: one,
      name: 'quota-polls-2',
      override: { poll: async () => ({ done: polls++ >= 0, commandsDone: true, queryDone: true }) },
      clock: instantClock(),
    });

    expect(slow.status).toBe('SUCCEEDED');
    expect(fast.status).toBe('SUCCEEDED');
    expect(slow.history.events.length - fast.history.events.length).toBe(50 * 9);
  }, 120_000);
});
