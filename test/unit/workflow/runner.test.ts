import { describe, expect, it } from 'vitest';
import { mapWithConcurrency } from '#aws/concurrency.js';
import type { DiscoveryState } from '#workflow/discovery-state.js';
import { runWorkflow, type WorkflowSteps } from '#workflow/runner.js';
import type { ClusterTask } from '#workflow/steps.js';

const task = (name: string): ClusterTask => ({
  runId: 'r',
  startedAt: '2026-11-30T00:00:00.000Z',
  account: 'a',
  region: 'r',
  name,
});
const state = (t: ClusterTask): DiscoveryState => ({
  ...t,
  kubernetesVersion: null,
  endpoint: null,
  addons: { vpcCni: null, kubeProxy: null },
  nodes: { expected: 0, pending: 0, unreachable: 0, unsupported: 0 },
  commandCount: 0,
  stored: { discoveryId: 'd', nodeItems: 0, commandItems: 0 },
  query: null,
  queryProblem: null,
  deadline: '2026-11-30T01:00:00.000Z',
});

const NODES = { expected: 3, reached: 2, unreachable: 1, failed: 0 };
const NO_NODES = { expected: 0, reached: 0, unreachable: 0, failed: 0 };

/** Steps that record what ran, when, and how many clusters were in flight. */
function recordingSteps(names: string[], pollsUntilDone: Record<string, number>, failing = new Set<string>()) {
  const events: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const polls = new Map<string, number>();
  const steps: WorkflowSteps = {
    plan: async () => {
      events.push('plan');
      return { runId: 'r', startedAt: '2026-11-30T00:00:00.000Z', clusters: names.map(task) };
    },
    discover: async (t) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      events.push(`discover ${t.name}`);
      if (failing.has(t.name)) {
        inFlight--;
        throw new Error(`${t.name} is broken`);
      }
      return state(t);
    },
    poll: async (s) => {
      const n = (polls.get(s.name) ?? 0) + 1;
      polls.set(s.name, n);
      events.push(`poll ${s.name} ${n}`);
      return { done: n >= (pollsUntilDone[s.name] ?? 1), commandsDone: true, queryDone: true };
    },
    assess: async (s) => {
      events.push(`assess ${s.name}`);
      inFlight--;
      return { account: 'a', region: 'r', name: s.name, status: 'COMPLETE', score: 100, nodes: NODES };
    },
    recordFailure: async (t, error) => {
      events.push(`failed ${t.name}: ${(error as Error).message}`);
      return { account: 'a', region: 'r', name: t.name, status: 'FAILED', score: null, nodes: NO_NODES };
    },
    report: async (plan) => {
      events.push('report');
      return {
        result: {
          runId: plan.runId,
          status: 'COMPLETE',
          startedAt: plan.startedAt,
          finishedAt: plan.startedAt,
          clusters: [],
        },
        alertMessageId: null,
        alertProblem: null,
      };
    },
  };
  return { steps, events, maxInFlight: () => maxInFlight };
}

describe('runWorkflow', () => {
  it('waits before every poll, polls until done, then assesses, and reports last', async () => {
    // Arrange
    const { steps, events } = recordingSteps(['one'], { one: 3 });
    const sleeps: number[] = [];

    // Act
    await runWorkflow(steps, {
      clusterConcurrency: 1,
      pollIntervalMs: 250,
      sleep: async (ms) => {
        sleeps.push(ms);
        events.push('wait');
      },
    });

    // Assert
    expect(events).toEqual([
      'plan',
      'discover one',
      'wait',
      'poll one 1',
      'wait',
      'poll one 2',
      'wait',
      'poll one 3',
      'assess one',
      'report',
    ]);
    expect(sleeps).toEqual([250, 250, 250]);
  });

  it('never has more clusters in flight than the concurrency cap', async () => {
    const names = Array.from({ length: 9 }, (_, i) => `c${i}`);
    const { steps, maxInFlight, events } = recordingSteps(names, { c0: 4, c3: 2, c5: 3 });

    await runWorkflow(steps, {
      clusterConcurrency: 3,
      pollIntervalMs: 1,
      sleep: () => new Promise((r) => setTimeout(r, 1)),
    });

    expect(maxInFlight()).toBe(3);
    expect(events.filter((e) => e.startsWith('assess')).length).toBe(9);
  });

  it('records a failing cluster as failed and goes on with the others', async () => {
    const { steps, events } = recordingSteps(['a', 'b', 'c'], {}, new Set(['b']));

    await runWorkflow(steps, { clusterConcurrency: 1, pollIntervalMs: 1, sleep: async () => {} });

    expect(events).toContain('failed b: b is broken');
    expect(events.filter((e) => e.startsWith('assess'))).toEqual(['assess a', 'assess c']);
    expect(events.at(-1)).toBe('report');
  });

  it('runs a cluster step again after a transient AWS failure, as the state machine’s Retry, and no more than three times', async () => {
    // Arrange: a's poll is throttled twice past the SDK's retries; b's Discover keeps failing on the server side
    const throttled = Object.assign(new Error('Rate exceeded'), {
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
    });
    const unavailable = Object.assign(new Error('Service unavailable'), { $metadata: { httpStatusCode: 503 } });
    const { steps, events } = recordingSteps(['a', 'b'], {});
    let aPolls = 0;
    const poll = steps.poll;
    steps.poll = async (s) => {
      if (s.name === 'a' && aPolls++ < 2) throw new Error('ssm:ListCommands failed', { cause: throttled });
      return poll(s);
    };
    const discover = steps.discover;
    let bDiscovers = 0;
    steps.discover = async (t) => {
      if (t.name !== 'b') return discover(t);
      bDiscovers++;
      throw unavailable;
    };
    const sleeps: number[] = [];

    // Act
    await runWorkflow(steps, {
      clusterConcurrency: 1,
      pollIntervalMs: 600,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });

    // Assert: a assessed after its Wait and two retried polls (100 ms, then 200 ms: a sixth of the poll interval,
    // doubling); b tried four times (waits of 100, 200, 400 ms), then recorded failed
    expect(events).toContain('assess a');
    expect(sleeps).toEqual([600, 100, 200, 100, 200, 400]);
    expect(bDiscovers).toBe(4);
    expect(events).toContain('failed b: Service unavailable');
  });

  it('does not run a step again after a failure that is not transient', async () => {
    const { steps, events } = recordingSteps(['b'], {}, new Set(['b']));

    await runWorkflow(steps, { clusterConcurrency: 1, pollIntervalMs: 1, sleep: async () => {} });

    expect(events.filter((e) => e === 'discover b')).toHaveLength(1);
  });

  it('tells its observer the plan, each discovery and poll, and each finished cluster, failed ones included', async () => {
    // Arrange
    const { steps } = recordingSteps(['a', 'b'], { a: 2 }, new Set(['b']));
    const seen: string[] = [];

    // Act
    await runWorkflow(steps, {
      clusterConcurrency: 1,
      pollIntervalMs: 1,
      sleep: async () => {},
      observer: {
        planned: (plan) => seen.push(`planned ${plan.clusters.length}`),
        discovered: (state) => seen.push(`discovered ${state.name}`),
        polled: (state, result) => seen.push(`polled ${state.name} ${result.done}`),
        clusterDone: (outcome) => seen.push(`done ${outcome.name} ${outcome.status} ${outcome.nodes.reached}`),
      },
    });

    // Assert
    expect(seen).toEqual([
      'planned 2',
      'discovered a',
      'polled a false',
      'polled a true',
      'done a COMPLETE 2',
      'done b FAILED 0',
    ]);
  });
});

describe('mapWithConcurrency', () => {
  it('keeps results in input order whatever order calls finish in', async () => {
    const out = await mapWithConcurrency(
      [30, 10, 20],
      2,
      (ms) => new Promise<number>((r) => setTimeout(() => r(ms), ms)),
    );
    expect(out).toEqual([30, 10, 20]);
  });

  it('refuses a limit below one', async () => {
    await expect(mapWithConcurrency([1], 0, async (x) => x)).rejects.toThrow(
      'concurrency limit must be a whole number ≥ 1, got 0',
    );
  });
});
