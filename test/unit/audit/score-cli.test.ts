import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { RunResultSchema } from '#audit/model.js';
import { COLLECTOR_SCHEMA } from '#audit/node-report.js';
import { reportInput } from './evidence-builders.js';

const ROOT = new URL('../../../', import.meta.url).pathname;

/** Runs the real CLI (each run starts Node and tsx, so the tests run concurrently). */
function cli(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/fleet-audit.js', ...args],
      { cwd: ROOT, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const status = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ status, stdout, stderr });
      },
    );
  });
}

/**
 * A node on a 1,200-Service iptables cluster: a writer queued for the lock, restore failures, an aws-node restart in
 * the window (four in its lifetime), no CLUSTER_ENDPOINT.
 */
const BUSY_NODE = {
  ...reportInput({
    durationMs: 1200,
    node: { instanceId: 'i-0aaa', uptimeSeconds: 3600 },
    iptables: {
      legacyRules: 40_000,
      rules: { total: 40_000, nat: 38_000, filter: 1800, mangle: 150, raw: 50 },
      chains: { nat: 4000 },
      kubeServiceChains: 1200,
      kubeEndpointChains: 2600,
      saveMs: 800,
    },
    lock: {
      busy: 2,
      waited: 1,
      waitersMax: 1,
      holders: ['kube-proxy/iptables-restor'],
      waiters: ['aws-k8s-agent/iptables'],
    },
    kubeProxy: {
      syncCount: 120,
      syncSecondsSum: 60,
      syncP99Seconds: 0.512,
      lastSyncAgeSeconds: 20,
      restoreFailures: 3,
    },
    awsNode: { clusterEndpointSet: false },
    restarts: { awsNode: 4, awsNodeInWindow: 1 },
    logs: { ipamdStarts: 2 },
  }),
  aFieldFromTheFuture: true,
};

let dir: string;
const file = (name: string, content: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fleet-audit-score-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.concurrent('fleet-audit score', () => {
  it('prints one §6 JSON object for the files, scored as one cluster', async ({ expect }) => {
    // Arrange: the second report has no instance id, and lacks most sections
    const a = file('a.json', BUSY_NODE);
    const b = file('node-b.json', {
      schema: COLLECTOR_SCHEMA,
      iptables: { backend: 'legacy', kubeServiceChains: 1190 },
      kubeProxy: { mode: 'iptables' },
      awsNode: { clusterEndpointSet: false },
    });

    // Act
    const { status, stdout, stderr } = await cli('score', a, b, '--json', '--name', 'payments');

    // Assert
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const run = RunResultSchema.parse(JSON.parse(stdout));
    expect(run.status).toBe('COMPLETE');
    const [cluster] = run.clusters;
    expect(cluster).toMatchObject({
      account: null,
      region: null,
      name: 'payments',
      status: 'COMPLETE',
      nodes: { expected: 2, reached: 2, unreachable: 0, failed: 0 },
    });
    expect(cluster?.findings.map((f) => [f.ruleId, f.severity, f.state])).toEqual([
      ['KP-IPTABLES-SCALE', 'HIGH', 'NEW'],
      ['XT-LOCK-CONTENTION', 'MEDIUM', 'NEW'],
      ['CNI-RESTARTS', 'MEDIUM', 'NEW'],
      ['CNI-API-DEPENDENCY', 'MEDIUM', 'NEW'],
    ]);
    // 100 − 20 − 8 − 8 − 8 = 56
    expect(cluster?.score).toBe(56);
    expect(cluster?.findings[0]?.evidence.nodes).toEqual(['i-0aaa', 'node-b.json']);
    expect(cluster?.findings[0]?.fingerprint).toBe('-/-/payments/KP-IPTABLES-SCALE');
    // node reports carry no kube-proxy version, so the kube-proxy advisories cannot be judged from them alone
    expect(cluster?.notEvaluated).toEqual([
      {
        ruleId: 'ADDON-VERSION-RISK',
        reason:
          'kube-proxy add-on version unknown (advisories not judged: KUBE-PROXY-FULL-RESTORE, ' +
          'KUBE-PROXY-PARTIAL-SYNC-BETA)',
      },
      { ruleId: 'SCALE-GROWTH', reason: '0 earlier runs with a Service count; 3 needed' },
    ]);
  });

  it('prints a readable block by default', async ({ expect }) => {
    const { status, stdout } = await cli('score', file('text.json', BUSY_NODE));
    expect(status).toBe(0);
    // CNI-API-DEPENDENCY is LOW here: VPC CNI v1.20.0 without pod ENIs or custom networking proceeds after 30 s
    expect(stdout.split('\n')[0]).toBe('adhoc: score 61/100, COMPLETE, 1 of 1 nodes read');
    expect(stdout).toContain(
      '  HIGH     KP-IPTABLES-SCALE [NEW] kube-proxy runs in iptables mode with many\n    Services\n',
    );
    expect(stdout).toContain(
      [
        '    Run:',
        '      aws eks update-addon --cluster-name adhoc --addon-name kube-proxy \\',
        `        --configuration-values '{"mode":"ipvs","ipvs":{"scheduler":"rr"}}' \\`,
        '        --resolve-conflicts PRESERVE',
      ].join('\n'),
    );
    expect(stdout).toContain('Not evaluated:\n  ADDON-VERSION-RISK: kube-proxy add-on version unknown');
    expect(stdout).toContain('\n  SCALE-GROWTH: 0 earlier runs with a Service count; 3 needed');
  });

  it('names every bad file on its own line, scores nothing and exits 2', async ({ expect }) => {
    // Arrange
    const good = file('good.json', BUSY_NODE);
    const notJson = file('truncated.json', '{"schema":"fleet-audit.collector/v1","iptab');
    const busy = file('busy.json', { schema: COLLECTOR_SCHEMA, lock: { samples: 2, busy: 3 } });
    const negative = file('negative.json', { schema: COLLECTOR_SCHEMA, restarts: { awsNode: -1 } });

    // Act
    const { status, stdout, stderr } = await cli('score', good, notJson, busy, negative, join(dir, 'missing.json'));

    // Assert
    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      [
        `fleet-audit: ${notJson}: not JSON (expected one collector JSON object)`,
        `fleet-audit: ${busy}: field lock.busy: busy (3) is more than samples (2)`,
        `fleet-audit: ${negative}: field restarts.awsNode: Too small: expected number to be >=0`,
        `fleet-audit: ${join(dir, 'missing.json')}: cannot read: no such file`,
        '',
      ].join('\n'),
    );
  });

  it('rejects a file of another schema', async ({ expect }) => {
    const other = file('other.json', { schema: 'something-else/v2' });
    const { status, stderr } = await cli('score', other);
    expect(status).toBe(2);
    expect(stderr).toBe(
      `fleet-audit: ${other}: schema is "something-else/v2", expected "fleet-audit.collector/v2" or "fleet-audit.collector/v1"\n`,
    );
  });

  it.for<[string, number]>([
    ['HIGH', 1],
    ['medium', 1],
    ['CRITICAL', 0],
  ])('with --fail-on %s exits %i', async ([severity, expected], { expect }) => {
    expect((await cli('score', file(`fail-on-${severity}.json`, BUSY_NODE), '--fail-on', severity)).status).toBe(
      expected,
    );
  });

  it('rejects an unknown --fail-on severity in one line', async ({ expect }) => {
    const { status, stderr } = await cli('score', file('x.json', BUSY_NODE), '--fail-on', 'SEVERE');
    expect(status).toBe(2);
    expect(stderr).toBe('fleet-audit: --fail-on "SEVERE": expected one of CRITICAL, HIGH, MEDIUM, LOW, INFO\n');
  });

  it('applies --thresholds, and names the bad field of a bad thresholds file', async ({ expect }) => {
    // Arrange
    const report = file('t.json', BUSY_NODE);
    const relaxed = file('relaxed.json', { servicesHigh: 2000 });
    const typo = file('typo.json', { servicesHihg: 2000 });

    // Act
    const ok = await cli('score', report, '--json', '--thresholds', relaxed);
    const bad = await cli('score', report, '--thresholds', typo);

    // Assert
    expect(JSON.parse(ok.stdout).clusters[0].findings[0]).toMatchObject({
      ruleId: 'KP-IPTABLES-SCALE',
      severity: 'MEDIUM',
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(
      new RegExp(`^fleet-audit: ${typo}: field servicesHihg: not a threshold \\(known: servicesMedium, .*\\)\\n$`),
    );
  });
});

describe.concurrent('fleet-audit rules and explain', () => {
  it('lists the catalogue as JSON', async ({ expect }) => {
    const { status, stdout } = await cli('rules', '--json');
    expect(status).toBe(0);
    const rules = JSON.parse(stdout) as Array<{ id: string; thresholds: Record<string, number> }>;
    expect(rules).toHaveLength(11);
    expect(rules[0]).toMatchObject({
      id: 'KP-IPTABLES-SCALE',
      thresholds: { servicesMedium: 500, servicesHigh: 1000 },
    });
  });

  it('prints docs/rules.md with --markdown', async ({ expect }) => {
    const { stdout } = await cli('rules', '--markdown');
    expect(stdout).toBe(readFileSync(join(ROOT, 'docs/rules.md'), 'utf8'));
  });

  it('explains a rule, whatever the case of its id', async ({ expect }) => {
    const { status, stdout } = await cli('explain', 'cni-api-dependency');
    expect(status).toBe(0);
    expect(stdout.split('\n')[0]).toBe(
      'CNI-API-DEPENDENCY — The VPC CNI depends on kube-proxy to reach the API server',
    );
  });

  it('rejects an unknown rule id in one line, exit 2', async ({ expect }) => {
    const { status, stdout, stderr } = await cli('explain', 'NO-SUCH-RULE');
    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^fleet-audit: unknown rule "NO-SUCH-RULE"; known: KP-IPTABLES-SCALE, /);
  });
});
