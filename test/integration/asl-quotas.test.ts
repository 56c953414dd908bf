import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunListStore } from '#aws/run-lists.js';
import { openLocalFleet } from '#sim/local-fleet.js';
import { instantClock } from '#sim/states/clock.js';
import { DefinitionError } from '#sim/states/errors.js';
import { runExecution } from '#sim/states/execution.js';
import { type LambdaHandler, LocalLambdaService } from '#sim/states/lambda-service.js';
import { MAX_HISTORY_EVENTS, MAX_LAMBDA_RESPONSE_BYTES, MAX_PAYLOAD_BYTES } from '#sim/states/quotas.js';
import {
  type DeployedWorkflow,
  deployedWorkflow,
  executeAuditRun,
  realHandler,
  runListsFor,
  type StepName,
} from './asl-support.js';

// after asl-support.js, which sets the functions' environment their modules read at import
const { storeRunList } = await import('#handlers/plan.js');

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
  let fleet: SimulatedFleet;
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

  /** Discover's real handler, except for the clusters named: their discovery is over 256 KiB. */
  const hugeDiscoveryOf = (...names: string[]): LambdaHandler => {
    const real = realHandler('discover', fleet.deps, deployed, fleet.simulator);
    return async (event, context) =>
      names.includes((event as { cluster: { name: string } }).cluster.name)
        ? { padding: 'x'.repeat(MAX_PAYLOAD_BYTES) }
        : real(event, context);
  };

  it('one cluster whose discovery exceeds 256 KiB fails only its own child execution; the run reports it AUDIT-FAILED', async () => {
    // Act
    const result = await executeAuditRun(deployed, {
      deps: fleet.deps,
      simulator: fleet.simulator,
      name: 'quota-discover',
      override: { discover: hugeDiscoveryOf('catalog-prod') },
    });

    // Assert: States.DataLimitExceeded escapes the child's States.ALL Catch, so that child fails; 1 of 6 is within
    // the tolerated 20 %, and the report step records the cluster that stored nothing as AUDIT-FAILED.
    expect(result.status).toBe('SUCCEEDED');
    const failed = result.children.filter((c) => c.status === 'FAILED');
    expect(failed.map((c) => c.error)).toEqual(['States.DataLimitExceeded']);
    expect(failed[0]?.history.events.at(-1)?.cause).toContain("'Discover'");
    const stored = await fleet.deps.store.getRun('quota-discover');
    const catalog = stored?.result?.clusters.find((c) => c.name === 'catalog-prod');
    expect(catalog?.status).toBe('FAILED');
    expect(catalog?.findings.map((f) => f.ruleId)).toEqual(['AUDIT-FAILED']);
    expect(stored?.result?.clusters.filter((c) => c.status !== 'FAILED').length).toBeGreaterThan(0);
  }, 120_000);

  it('more failed children than ToleratedFailurePercentage allows fail the Map with States.ExceedToleratedFailureThreshold, and the run is stored FAILED', async () => {
    // Act: 2 of 6 clusters (33 %) fail beyond their Catch, above the default 20 %
    const result = await executeAuditRun(deployed, {
      deps: fleet.deps,
      simulator: fleet.simulator,
      name: 'quota-tolerance',
      override: { discover: hugeDiscoveryOf('catalog-prod', 'checkout-prod') },
    });

    // Assert
    expect(definitionOf(deployed).States.AuditClusters.ToleratedFailurePercentage).toBe(20);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('RunFailed');
    expect(result.history.events.find((e) => e.type === 'MapRunFailed')?.error).toBe(
      'States.ExceedToleratedFailureThreshold',
    );
    expect(result.children.filter((c) => c.status === 'FAILED')).toHaveLength(2);
    const stored = await fleet.deps.store.getRun('quota-tolerance');
    expect(stored?.status).toBe('FAILED');
    expect(stored?.failure).toMatch(
      /^cluster audits failed beyond the tolerated share: The specified tolerated failure threshold was exceeded: 2 of 6 child executions failed/,
    );
  }, 120_000);

  it('costs 9 history events per poll cycle (Wait 2, Poll task 5, Choice 2), in the cluster’s own child execution', async () => {
    let polls = 0;
    const notDone = async () => {
      polls += 1;
      return { done: polls > 50, commandsDone: false, queryDone: false };
    };
    const one = { ...fleet.deps, settings: { ...fleet.deps.settings, clusters: ['catalog-prod'] } };

    const slow = await executeAuditRun(deployed, {
      deps: one,
      simulator: fleet.simulator,
      name: 'quota-polls',
      override: { poll: notDone },
      clock: instantClock(),
    });
    polls = 0;
    const fast = await executeAuditRun(deployed, {
      deps: one,
      simulator: fleet.simulator,
      name: 'quota-polls-2',
      override: { poll: async () => ({ done: polls++ >= 0, commandsDone: true, queryDone: true }) },
      clock: instantClock(),
    });

    expect(slow.status).toBe('SUCCEEDED');
    expect(fast.status).toBe('SUCCEEDED');
    const [slowChild, fastChild] = [slow.children[0], fast.children[0]];
    expect((slowChild?.history.events.length ?? 0) - (fastChild?.history.events.length ?? 0)).toBe(50 * 9);
    expect(slow.history.events.length).toBe(fast.history.events.length);
  }, 120_000);

  describe('a fleet of 1,000 clusters, three polls each', () => {
    /** Quick steps for a large fleet: what is measured is the state machine, not the audit. */
    const fleetOf = (count: number, runLists: RunListStore): Partial<Record<StepName, LambdaHandler>> => {
      const clusters = Array.from({ length: count }, (_, i) => ({
        account: '111111111111',
        region: 'eu-west-1',
        name: `cluster-${String(i).padStart(4, '0')}`,
      }));
      const polls = new Map<string, number>();
      return {
        plan: async (event) => {
          const runId = (event as { runId: string }).runId;
          const startedAt = '2026-11-30T02:00:00.000Z';
          // the inline Map of the definition before the Distributed Map read `$.clusters` from the plan itself
          return {
            ...(await storeRunList(
              { runId, startedAt, clusters: clusters.map((c) => ({ runId, startedAt, ...c })) },
              runLists,
            )),
            clusters,
          };
        },
        discover: async (event) => ({ name: (event as { cluster: { name: string } }).cluster.name }),
        poll: async (event) => {
          const name = (event as { name: string }).name;
          const n = (polls.get(name) ?? 0) + 1;
          polls.set(name, n);
          return { done: n >= 3, commandsDone: n >= 3, queryDone: true };
        },
        assess: async () => ({ assessed: true }),
        report: async () => ({ reported: true }),
      };
    };
    // The instant clock adds up the waits of concurrent children (1,000 × 3 × 30 s is more than the run's 6 h), so
    // these runs go without the execution time-out; the quotas measured here are events, not time.
    const run = (name: string, count: number, definition: Record<string, unknown> = deployed.definition) => {
      const { TimeoutSeconds: _, ...untimed } = definition;
      return executeAuditRun(deployed, {
        deps: fleet.deps,
        simulator: fleet.simulator,
        name,
        override: fleetOf(count, runListsFor(deployed, fleet.simulator, 'plan')),
        clock: instantClock(),
        definition: untimed,
      });
    };

    it('would have failed the whole run as an inline Map: one history cannot hold 25,000 events', async () => {
      const result = await run('quota-inline-1000', 1000, asInlineMap(deployed.definition));

      expect(result.status).toBe('FAILED');
      expect(result.error).toBe('States.Runtime');
      expect(result.cause).toBe(`The execution reached the maximum number of history events (${MAX_HISTORY_EVENTS}).`);
      expect(result.history.events).toHaveLength(MAX_HISTORY_EVENTS);
    }, 120_000);

    it('completes as a Distributed Map: each child’s history is small, the parent’s is that of a 10-cluster fleet', async () => {
      const started = Date.now();
      const large = await run('quota-dmap-1000', 1000);
      const small = await run('quota-dmap-10', 10);

      expect(large.status).toBe('SUCCEEDED');
      expect(large.children).toHaveLength(1000);
      expect(new Set(large.children.map((c) => c.status))).toEqual(new Set(['SUCCEEDED']));
      const sizes = large.children.map((c) => c.history.events.length);
      // ExecutionStarted, Parallel 4, Discover 5, 3 × (Wait 2, Poll 5, Choice 2), Assess 5, ExecutionSucceeded
      expect(new Set(sizes)).toEqual(new Set([2 + 4 + 5 + 3 * 9 + 5]));
      expect(large.maxHistoryEvents).toBeLessThanOrEqual(5_000);
      // what the inline Map put into one history: every child's events, less its two execution events plus the
      // iteration's two
      expect(sizes.reduce((a, b) => a + b, 0)).toBeGreaterThan(MAX_HISTORY_EVENTS);
      expect(large.history.events.length).toBe(small.history.events.length);
      expect(large.history.events.map((e) => e.type)).toEqual(small.history.events.map((e) => e.type));
      console.log(
        `1,000 clusters: parent history ${large.history.events.length} events, largest child ${Math.max(...sizes)}, ${Date.now() - started} ms`,
      );
    }, 120_000);
  });
});

type SimulatedFleet = Awaited<ReturnType<typeof openLocalFleet>>;

interface MapDefinition {
  States: Record<string, Record<string, unknown>> & {
    AuditClusters: { ToleratedFailurePercentage?: number; ItemProcessor: { ProcessorConfig?: unknown } } & Record<
      string,
      unknown
    >;
  };
}

function definitionOf(deployed: DeployedWorkflow): MapDefinition {
  return deployed.definition as unknown as MapDefinition;
}

/** The definition as it was before the Distributed Map: the same Map inline, over the plan's `$.clusters`. */
function asInlineMap(definition: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(definition) as unknown as MapDefinition;
  const map = copy.States.AuditClusters;
  delete map.ItemReader;
  delete map.ToleratedFailurePercentage;
  map.ItemsPath = '$.clusters';
  map.ItemProcessor.ProcessorConfig = { Mode: 'INLINE' };
  return copy as unknown as Record<string, unknown>;
}
