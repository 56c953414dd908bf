import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClusterResult, type Finding, RunResultSchema } from '#audit/model.js';
import { createAlertPublisher, createTargetClientsFactory } from '#aws/clients.js';
import { AuditStore } from '#aws/store.js';
import { type LocalDynamo, startDynalite } from '#sim/dynalite.js';
import { openLocalStore } from '#sim/local-fleet.js';
import { loadScenario, type Scenario, type ScenarioInput, ScenarioSchema } from '#sim/scenario.js';
import { startSimulator } from '#sim/server.js';
import { runAudit } from '#workflow/audit-run.js';
import { AuditSettingsSchema } from '#workflow/settings.js';

/**
 * The simulator's fault kinds (docs/simulator-faults.md), each from a scenario, against the real product: the real
 * adapters through the real SDK, dynalite as the store. What the user sees is asserted: the broken part's findings
 * UNKNOWN with the reason (never RESOLVED), one clear warning line, every other cluster audited as before, and the
 * run and its snapshots stored.
 */

const CLI = join(import.meta.dirname, '../../bin/fleet-audit.js');

/** The CLI as a user runs it: exit code, stdout and stderr. */
async function fleetAudit(args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { maxBuffer: 32 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const DAY1 = '2026-11-01T02:00:00.000Z';
const DAY2 = '2026-11-02T02:00:00.000Z';

type ClusterSpec = Scenario['accounts'][number]['regions'][number]['clusters'][number];

/** checkout-prod (findings) and catalog-prod (healthy) of 111111111111/eu-west-1, without the default's faults. */
function baseScenario(change: Partial<ScenarioInput> = {}, cluster: (c: ClusterSpec) => ClusterSpec = (c) => c) {
  const scenario = structuredClone(loadScenario('default'));
  const account = scenario.accounts.find((a) => a.id === '111111111111');
  const region = account?.regions.find((r) => r.name === 'eu-west-1');
  if (!account || !region) throw new Error('the default scenario lost 111111111111/eu-west-1');
  return ScenarioSchema.parse({
    ...scenario,
    timeScale: 0.005,
    faults: [],
    clock: { at: DAY1 },
    accounts: [{ ...account, regions: [{ ...region, clusters: region.clusters.map(cluster) }] }],
    ...change,
  });
}

const byName = (clusters: ReadonlyArray<ClusterResult>, name: string) => {
  const cluster = clusters.find((c) => c.name === name);
  if (!cluster) throw new Error(`no cluster ${name} in ${clusters.map((c) => c.name).join(', ')}`);
  return cluster;
};
const statesOf = (findings: ReadonlyArray<Finding>) => findings.map((f) => `${f.ruleId} ${f.state}`).sort();

describe('simulator faults against the real product', () => {
  let dynamo: LocalDynamo;
  let tables = 0;

  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => dynamo.close());

  /** One run of `scenario` against `table`, on the scenario's clock; the warning lines the CLI would print. */
  async function runOnce(scenario: Scenario, table: string, runId: string) {
    const sim = await startSimulator(scenario);
    const warnings: string[] = [];
    try {
      const store = new AuditStore({ tableName: table }, dynamo.client);
      await store.ensureTable();
      const deps = {
        clientsFor: createTargetClientsFactory({ endpoint: sim.endpoint }),
        store,
        publisher: createAlertPublisher({
          region: 'eu-west-1',
          topicArn: sim.topicArns[0] ?? '',
          endpoint: sim.endpoint,
        }),
        settings: AuditSettingsSchema.parse({
          targets: sim.targets,
          pollIntervalSeconds: 0.05,
          clusterDeadlineSeconds: 5,
        }),
        now: sim.auditorNow,
      };
      const output = await runAudit(deps, { runId, warn: (line) => warnings.push(line) });
      return { output, warnings, calls: sim.calls, outbox: sim.outbox, store };
    } finally {
      await sim.close();
    }
  }

  /** Day 1 healthy, day 2 with `day2`: the day-2 run, its warnings, and day 1's findings of checkout-prod. */
  async function dayTwo(day2: Scenario) {
    const table = `faults-${tables++}`;
    const first = await runOnce(baseScenario(), table, 'day1');
    const second = await runOnce(day2, table, 'day2');
    const opened = byName(first.output.result.clusters, 'checkout-prod').findings;
    const neighbourBefore = byName(first.output.result.clusters, 'catalog-prod');
    return { ...second, opened, neighbourBefore };
  }

  /** Every day-1 finding of checkout-prod is still there on day 2: seen again, or UNKNOWN with a reason. */
  function expectNothingResolved(opened: ReadonlyArray<Finding>, now: ReadonlyArray<Finding>) {
    expect(now.filter((f) => f.state === 'RESOLVED').map((f) => f.ruleId)).toEqual([]);
    for (const before of opened) {
      const after = now.find((f) => f.fingerprint === before.fingerprint);
      expect(after?.state, before.ruleId).toMatch(/^(ONGOING|WORSENED|UNKNOWN)$/);
      if (after?.state === 'UNKNOWN') expect(after.stateReason, before.ruleId).toMatch(/\S/);
    }
  }

  /** catalog-prod, in the same account and region, is audited on day 2 exactly as on day 1. */
  function expectNeighbourUnharmed(before: ClusterResult, clusters: ReadonlyArray<ClusterResult>) {
    const after = byName(clusters, 'catalog-prod');
    expect(after.status).toBe('COMPLETE');
    expect(after.nodes).toEqual(before.nodes);
    expect(statesOf(after.findings)).toEqual(statesOf(before.findings).map((s) => s.replace(/ NEW$/, ' ONGOING')));
  }

  describe('a fault on one cluster by name', () => {
    const NOT_AUDITED = /^cluster 111111111111\/eu-west-1\/checkout-prod not audited: AwsCallError: /;
    it.each([
      ['eks:DescribeCluster', NOT_AUDITED],
      ['eks:ListAddons', /^cluster 111111111111\/eu-west-1\/checkout-prod: add-ons could not be read: /],
      ['ec2:DescribeInstances', NOT_AUDITED],
      ['ssm:SendCommand', NOT_AUDITED],
      ['ssm:ListCommandInvocations', NOT_AUDITED],
      ['logs:StartQuery', /^log query on \/aws\/containerinsights\/checkout-prod\/dataplane could not start: /],
    ])(
      '%s failing for checkout-prod breaks checkout-prod only',
      async (api, warning) => {
        const { output, warnings, opened, neighbourBefore, store } = await dayTwo(
          baseScenario({ clock: { at: DAY2 }, faults: [{ api, cluster: 'checkout-prod', serverError: 1 }] }),
        );

        const clusters = output.result.clusters;
        expectNothingResolved(opened, byName(clusters, 'checkout-prod').findings);
        expectNeighbourUnharmed(neighbourBefore, clusters);
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toMatch(warning);
        expect(warnings[0]).not.toContain('\n');
        const stored = await store.getRun('day2');
        expect(stored?.result?.clusters.map((c) => `${c.name} ${c.status}`).sort()).toEqual(
          clusters.map((c) => `${c.name} ${c.status}`).sort(),
        );
      },
      120_000,
    );
  });

  it.each([
    ['serverError', 'ServerException: We encountered an internal error. Please try again.'],
    ['reset', 'ECONNRESET: the connection was reset before the answer was complete (aborted, 6 attempts)'],
    [
      'garbage',
      "SyntaxError: HTTP 200 answer that is not the service's JSON or XML (Unexpected token '<', \"<html><hea\"... " +
        'is not valid JSON); is a proxy answering for the endpoint?',
    ],
  ])(
    'prints one warning line on stderr for the cluster %s breaks, and audits the rest (the CLI)',
    async (kind, why) => {
      const dir = await mkdtemp(join(tmpdir(), 'fleet-audit-cluster-fault-'));
      try {
        const file = join(dir, 'scenario.json');
        const faults = [{ api: 'eks:DescribeCluster', cluster: 'checkout-prod', [kind]: 1 }];
        await writeFile(file, JSON.stringify(baseScenario({ faults })));

        const out = await fleetAudit([
          'run',
          '--local',
          '--fresh',
          '--json',
          '--scenario',
          file,
          '--state-dir',
          join(dir, 's'),
        ]);

        expect(out.code).toBe(0);
        expect(out.stderr).toBe(
          'fleet-audit: cluster 111111111111/eu-west-1/checkout-prod not audited: AwsCallError: eks:DescribeCluster ' +
            `cluster checkout-prod failed: ${why}\n`,
        );
        const result = RunResultSchema.parse(JSON.parse(out.stdout));
        expect(result.clusters.map((c) => `${c.name} ${c.status}`).sort()).toEqual([
          'catalog-prod COMPLETE',
          'checkout-prod FAILED',
        ]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );

  describe('malformed collector output delivered through SSM', () => {
    /** checkout-prod with two more nodes in its general group whose collector output is spoiled by `fault`. */
    const spoiled = (fault: string) =>
      baseScenario({ clock: { at: DAY2 } }, (c) =>
        c.name !== 'checkout-prod'
          ? c
          : {
              ...c,
              nodes: [
                ...c.nodes,
                { ...c.nodes[0], overrides: {}, count: 2, idPrefix: 'bad', fault } as ClusterSpec['nodes'][number],
              ],
            },
      );

    it.each([
      ['wrongTypes', 2, /\(i-bad0{13}0: collector output unreadable: field iptables\.kubeServiceChains: .*number.*\)$/],
      [
        'oversized',
        2,
        /\(i-bad0{13}0: collector output unreadable: 2,500 bytes, over the collector's limit of 2,400 bytes \(not the collector's output, or a damaged one\)\)$/,
      ],
      ['notJson', 2, /\(i-bad0{13}0: collector output unreadable: not JSON \(expected one collector JSON object\)\)$/],
      ['duplicateId', 1, /\(i-bad0{13}1: collector output names instance i-bad0{13}0, not this node\)$/],
    ])(
      "%s output is that node's failed collection: UNKNOWN evidence and one line",
      async (fault, failed, reason) => {
        const { output, warnings, opened, neighbourBefore } = await dayTwo(spoiled(fault));

        const clusters = output.result.clusters;
        const checkout = byName(clusters, 'checkout-prod');
        expectNothingResolved(opened, checkout.findings);
        expectNeighbourUnharmed(neighbourBefore, clusters);
        // 18 nodes of the default scenario (one of them times out) and the two spoiled ones
        expect(checkout.nodes).toEqual({ expected: 20, reached: 19 - failed, unreachable: 0, failed: 1 + failed });
        expect(checkout.status).toBe('PARTIAL');
        expect(warnings).toHaveLength(1);
        const nodes = failed === 1 ? '1 node' : `${failed} nodes`;
        expect(warnings[0]).toMatch(
          new RegExp(
            `^cluster 111111111111/eu-west-1/checkout-prod: ${nodes} answered with output that is not a collector report, their evidence is unknown `,
          ),
        );
        expect(warnings[0]).toMatch(reason);
        const coverage = checkout.findings.find((f) => f.ruleId === 'AUDIT-COVERAGE');
        expect(JSON.stringify(coverage?.evidence)).toContain('i-bad');
      },
      120_000,
    );
  });

  describe('connection resets and garbage bodies', () => {
    const RESET = 'failed: ECONNRESET: the connection was reset before the answer was complete (aborted, 6 attempts)';
    const HTML_JSON =
      "failed: SyntaxError: HTTP 200 answer that is not the service's JSON or XML (Unexpected token '<', " +
      '"<html><hea"... is not valid JSON); is a proxy answering for the endpoint?';
    const NOT_AUDITED = 'cluster 111111111111/eu-west-1/checkout-prod not audited: AwsCallError: ';
    it.each([
      ['eks:DescribeCluster', 'reset', `${NOT_AUDITED}eks:DescribeCluster cluster checkout-prod ${RESET}`],
      [
        'ec2:DescribeInstances',
        'reset',
        `${NOT_AUDITED}ec2:DescribeInstances instances of cluster checkout-prod ${RESET}`,
      ],
      [
        'logs:GetQueryResults',
        'reset',
        /^cluster 111111111111\/eu-west-1\/checkout-prod not audited: AwsCallError: logs:GetQueryResults query [0-9a-f-]+ failed: ECONNRESET: /,
      ],
      ['eks:DescribeCluster', 'garbage', `${NOT_AUDITED}eks:DescribeCluster cluster checkout-prod ${HTML_JSON}`],
      [
        'ec2:DescribeInstances',
        'garbage',
        `${NOT_AUDITED}ec2:DescribeInstances instances of cluster checkout-prod failed: Error: the answer has no reservationSet: not a DescribeInstancesResponse (is a proxy answering?)`,
      ],
      [
        'ssm:DescribeInstanceInformation',
        'garbage',
        `${NOT_AUDITED}ssm:DescribeInstanceInformation 18 instances ${HTML_JSON}`,
      ],
      [
        'ssm:ListCommandInvocations',
        'garbage',
        /^cluster .*checkout-prod not audited: AwsCallError: ssm:ListCommandInvocations command [0-9a-f-]+ failed: SyntaxError: HTTP 200 answer that is not/,
      ],
      [
        'logs:StartQuery',
        'garbage',
        `log query on /aws/containerinsights/checkout-prod/dataplane could not start: AwsCallError: logs:StartQuery log group /aws/containerinsights/checkout-prod/dataplane ${HTML_JSON}`,
      ],
    ])(
      '%s answering with %s every time: one clear line, checkout-prod UNKNOWN, the rest audited',
      async (api, kind, line) => {
        const { output, warnings, opened, neighbourBefore } = await dayTwo(
          baseScenario({ clock: { at: DAY2 }, faults: [{ api, cluster: 'checkout-prod', [kind]: 1 }] }),
        );
        const clusters = output.result.clusters;
        expectNothingResolved(opened, byName(clusters, 'checkout-prod').findings);
        expectNeighbourUnharmed(neighbourBefore, clusters);
        expect(warnings).toHaveLength(1);
        if (typeof line === 'string') expect(warnings[0]).toBe(line);
        else expect(warnings[0]).toMatch(line);
      },
      120_000,
    );

    it.each([
      ['garbage', 'failed: Error: Publish returned no MessageId'],
      ['reset', 'failed: ECONNRESET: the connection was reset before the answer was complete (aborted, 6 attempts)'],
    ])(
      'sns:Publish answering with %s: one line, and the next run delivers the changes',
      async (kind, why) => {
        const table = `faults-${tables++}`;
        const first = await runOnce(baseScenario({ faults: [{ api: 'sns:Publish', [kind]: 1 }] }), table, 'day1');
        expect(first.output.alertProblem).toBe(
          `digest not sent: AwsCallError: sns:Publish to arn:aws:sns:eu-west-1:111111111111:fleet-audit-alerts ${why}`,
        );
        // a garbage answer came from something other than SNS; a reset came after SNS took the message, on every
        // attempt: at-least-once delivery, so those copies are out and the changes stay pending all the same
        const published = first.calls.filter((c) => c.action === 'Publish' && c.fault === 'reset').length;
        expect(first.outbox).toHaveLength(published);

        const second = await runOnce(baseScenario({ clock: { at: DAY2 } }), table, 'day2');
        expect(second.output.alertProblem).toBeNull();
        expect(second.outbox.map((m) => m.subject)).toEqual(['EKS fleet audit: 7 new (1 cluster)']);
      },
      120_000,
    );

    it('rides out a reset of the first answer of every API: the SDK retries, the run is as without it', async () => {
      const apis = [
        'eks:ListClusters',
        'eks:DescribeCluster',
        'eks:ListAddons',
        'ec2:DescribeInstances',
        'ssm:DescribeInstanceInformation',
        'ssm:SendCommand',
        'ssm:ListCommands',
        'ssm:ListCommandInvocations',
        'logs:StartQuery',
        'logs:GetQueryResults',
      ];
      const faults = apis.map((api) => ({ api, resetFirst: 1 }));
      const { output, warnings, opened, neighbourBefore, calls } = await dayTwo(
        baseScenario({ clock: { at: DAY2 }, faults }),
      );
      expect(
        calls
          .filter((c) => c.fault === 'reset')
          .map((c) => `${c.service}:${c.action}`)
          .sort(),
      ).toEqual(apis.sort());
      expect(warnings).toEqual([]);
      expectNeighbourUnharmed(neighbourBefore, output.result.clusters);
      expect(statesOf(byName(output.result.clusters, 'checkout-prod').findings)).toEqual(
        statesOf(opened).map((s) => s.replace(/ NEW$/, ' ONGOING')),
      );
    }, 120_000);
  });

  describe('DynamoDB throttling and server errors from the fault front', () => {
    it('rides out throttled and failing store calls through the retries: the run and its snapshots are all stored', async () => {
      const faults = ScenarioSchema.shape.faults.parse([
        { api: 'dynamodb:PutItem', throttleFirst: 3 },
        { api: 'dynamodb:BatchWriteItem', serverErrorFirst: 2 },
        { api: 'dynamodb:Query', throttleFirst: 1 },
        // the report step's read of the clusters' snapshots and finding states
        { api: 'dynamodb:BatchGetItem', serverErrorFirst: 1 },
      ]);
      const faulty = await startDynalite({ faults, seed: 3 });
      try {
        const sim = await startSimulator(baseScenario());
        const store = new AuditStore({ tableName: 'dynamo-faults' }, faulty.client);
        await store.ensureTable();
        const warnings: string[] = [];
        const output = await runAudit(
          {
            clientsFor: createTargetClientsFactory({ endpoint: sim.endpoint }),
            store,
            publisher: null,
            settings: AuditSettingsSchema.parse({
              targets: sim.targets,
              pollIntervalSeconds: 0.05,
              clusterDeadlineSeconds: 5,
            }),
            now: sim.auditorNow,
          },
          { runId: 'throttled', warn: (line) => warnings.push(line) },
        );
        await sim.close();
        expect(faulty.injected).toHaveLength(7);
        const kinds = new Set(faulty.injected.map((c) => `${c.operation} ${c.fault}`));
        expect(kinds).toEqual(
          new Set(['PutItem throttle', 'BatchWriteItem serverError', 'Query throttle', 'BatchGetItem serverError']),
        );
        expect(warnings).toEqual([]);
        const stored = await store.getRun('throttled');
        expect(stored?.status).toBe(output.result.status);
        expect(stored?.result?.clusters.map((c) => c.name).sort()).toEqual(['catalog-prod', 'checkout-prod']);
      } finally {
        await faulty.close();
      }
    }, 120_000);

    it('says in one line which store write failed when DynamoDB keeps failing, and the next run loses nothing', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'fleet-audit-dynamo-faults-'));
      try {
        const failing = join(dir, 'failing.json');
        await writeFile(
          failing,
          JSON.stringify(baseScenario({ faults: [{ api: 'dynamodb:BatchWriteItem', serverError: 1 }] })),
        );
        const healthy = join(dir, 'healthy.json');
        await writeFile(healthy, JSON.stringify(baseScenario({ clock: { at: DAY2 } })));
        const state = join(dir, 'state');

        const broken = await fleetAudit([
          'run',
          '--local',
          '--fresh',
          '--json',
          '--scenario',
          failing,
          '--state-dir',
          state,
        ]);
        expect(broken.code).toBe(2);
        expect(broken.stdout).toBe('');
        expect(broken.stderr).toBe(
          'fleet-audit: dynamodb:BatchWriteItem on table fleet-audit failed: Internal server error (6 attempts)\n',
        );

        const next = await fleetAudit(['run', '--local', '--json', '--scenario', healthy, '--state-dir', state]);
        expect(next.stderr).toBe('');
        expect(next.code).toBe(0);
        const result = RunResultSchema.parse(JSON.parse(next.stdout));
        // the failed run's finding states were stored before its run record: day 2 sees them again, not NEW
        const checkout = byName(result.clusters, 'checkout-prod');
        expect(checkout.findings.filter((f) => f.state === 'NEW').map((f) => f.ruleId)).toEqual([]);
        expect(checkout.findings.map((f) => f.state)).toContain('ONGOING');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }, 120_000);
  });

  describe('a clock the scenario moves', () => {
    it('gives days between runs and a skewed clock one history point per cluster per day', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'fleet-audit-clock-'));
      try {
        const state = join(dir, 'state');
        const nights = [
          { offsetDays: 0, skewSeconds: 0 }, // day 1, 02:00
          { offsetDays: 0.5, skewSeconds: 0 }, // day 1, 14:00: a second run the same day
          { offsetDays: 1, skewSeconds: 0 }, // day 2, 02:00
          { offsetDays: 1, skewSeconds: -3 * 3600 }, // day 2 by AWS, day 1 23:00 by the auditor's skewed clock
          { offsetDays: 1, skewSeconds: 600 }, // day 2, the auditor 10 minutes ahead
        ];
        const started: string[] = [];
        for (const [i, clock] of nights.entries()) {
          const file = join(dir, `night-${i}.json`);
          // checkout-prod without its timing-out node: only fully read clusters make history points
          const scenario = baseScenario({ clock: { at: DAY1, ...clock } }, (c) => ({
            ...c,
            nodes: c.nodes.filter((group) => group.fault === undefined),
          }));
          await writeFile(file, JSON.stringify(scenario));
          const out = await fleetAudit(['run', '--local', '--json', '--scenario', file, '--state-dir', state]);
          expect(out.stderr).toBe('');
          expect(out.code).toBe(0);
          started.push(RunResultSchema.parse(JSON.parse(out.stdout)).startedAt);
        }
        // each run is stamped with the auditor's clock the scenario set
        expect(started.map((at) => at.slice(0, 13))).toEqual([
          '2026-11-01T02',
          '2026-11-01T14',
          '2026-11-02T02',
          '2026-11-01T23',
          '2026-11-02T02',
        ]);

        const { store, close } = await openLocalStore(state);
        try {
          for (const name of ['checkout-prod', 'catalog-prod']) {
            const points = await store.history(
              { account: '111111111111', region: 'eu-west-1', name },
              '2026-11-03T00:00:00.000Z',
            );
            const days = points.filter((p) => p.at >= '2026-11-01').map((p) => p.at.slice(0, 13));
            // one a day, the day's last run by the auditor's clock: the skewed 23:00 run for day 1
            expect(days, name).toEqual(['2026-11-01T23', '2026-11-02T02']);
            expect(points.find((p) => p.at.startsWith('2026-11-02'))?.at, name).toBe(started[4]);
          }
        } finally {
          await close();
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }, 180_000);
  });
});
