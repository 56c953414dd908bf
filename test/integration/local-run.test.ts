import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClusterResult, RULE_IDS, RunResultSchema, severityRank } from '#audit/model.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '../../bin/fleet-audit.js');

async function fleetAudit(args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { maxBuffer: 32 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const byName = (clusters: ClusterResult[], name: string) => {
  const cluster = clusters.find((c) => c.name === name);
  if (!cluster) throw new Error(`no cluster ${name} in ${clusters.map((c) => c.name).join(', ')}`);
  return cluster;
};

describe('fleet-audit run --local, end to end against the simulated fleet', () => {
  let stateDir: string;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'fleet-audit-e2e-'));
  });
  afterAll(async () => rm(stateDir, { recursive: true, force: true }));

  it('audits every cluster of the default scenario and prints one JSON object of the documented shape', async () => {
    // Act
    const out = await fleetAudit(['run', '--local', '--fresh', '--json', '--state-dir', stateDir]);

    // Assert
    expect(out.code).toBe(0);
    expect(out.stdout.trim().split('\n')).toHaveLength(1);
    const result = RunResultSchema.parse(JSON.parse(out.stdout));
    expect(result.status).toBe('PARTIAL');
    expect(result.clusters.map((c) => `${c.account}/${c.region}/${c.name}`).sort()).toEqual([
      '111111111111/eu-west-1/catalog-prod',
      '111111111111/eu-west-1/checkout-prod',
      '111111111111/us-east-1/ledger-prod',
      '111111111111/us-east-1/search-staging',
      '222222222222/eu-west-1/edge-gateway',
      '222222222222/eu-west-1/ml-platform',
    ]);
    for (const finding of result.clusters.flatMap((c) => c.findings)) expect(finding.state).toBe('NEW');
    const fired = new Set(result.clusters.flatMap((c) => c.findings.map((f) => f.ruleId)));
    expect([...RULE_IDS].filter((id) => !fired.has(id))).toEqual([]);

    const healthy = byName(result.clusters, 'catalog-prod');
    expect(healthy.status).toBe('COMPLETE');
    expect(healthy.nodes).toEqual({ expected: 14, reached: 14, unreachable: 0, failed: 0 });
    expect(healthy.findings.filter((f) => severityRank(f.severity) >= severityRank('MEDIUM'))).toEqual([]);
    // Amazon Linux 2023: iptables-nft never takes the xtables lock, though the lock file exists
    expect(healthy.notEvaluated).toContainEqual({
      ruleId: 'XT-LOCK-CONTENTION',
      reason: 'iptables-nft does not use the xtables lock',
    });

    // quiet: no Service change for 45 minutes, so no sync either, and nothing queued: healthy, not stuck
    const quiet = byName(result.clusters, 'ledger-prod');
    expect(quiet.score).toBe(100);
    expect(quiet.findings).toEqual([]);
    expect(quiet.notEvaluated.map((n) => n.ruleId)).not.toContain('KP-SYNC-FAILING');

    const trouble = byName(result.clusters, 'checkout-prod');
    expect(trouble.findings.find((f) => f.ruleId === 'KP-IPTABLES-SCALE')?.severity).toBe('HIGH');
    expect(trouble.score).not.toBeNull();
    expect(trouble.score ?? 100).toBeLessThan(50);

    const between = byName(result.clusters, 'search-staging');
    expect(between.status).toBe('PARTIAL');
    expect(between.nodes.unreachable).toBe(2);
    expect(between.findings.find((f) => f.ruleId === 'KP-IPTABLES-SCALE')?.severity).toBe('MEDIUM');
    expect(between.findings.map((f) => f.ruleId)).toContain('IPT-MIXED-BACKEND');
    // the scenario's seeded history (180 → 500 Services over four weeks) projects past 1,000 within 30 days
    expect(between.findings.find((f) => f.ruleId === 'SCALE-GROWTH')?.severity).toBe('MEDIUM');

    const unaudited = byName(result.clusters, 'edge-gateway');
    expect(unaudited.status).toBe('FAILED');
    expect(unaudited.score).toBeNull();
    expect(unaudited.findings.map((f) => f.ruleId)).toEqual(['AUDIT-FAILED']);
  });

  it('sends one digest to the outbox with the alert attributes and an AWS Chatbot notification', async () => {
    const lines = (await readFile(join(stateDir, 'outbox.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(1);
    const message = JSON.parse(lines[0] ?? '{}');
    expect(message.subject).toMatch(/^EKS fleet audit: \d+ new \(\d clusters\)$/);
    expect(message.messageStructure).toBe('json');
    const chatbot = JSON.parse(JSON.parse(message.message).default);
    expect(chatbot).toMatchObject({ version: '1.0', source: 'custom', content: { textType: 'client-markdown' } });
    expect(chatbot.content.description).toContain('checkout-prod');
  });

  it('remembers the first run: the second sees the same findings as ONGOING and alerts about nothing new', async () => {
    const out = await fleetAudit(['run', '--local', '--json', '--state-dir', stateDir]);

    expect(out.code).toBe(0);
    const result = RunResultSchema.parse(JSON.parse(out.stdout));
    const trouble = byName(result.clusters, 'checkout-prod');
    expect(trouble.findings.find((f) => f.ruleId === 'KP-IPTABLES-SCALE')?.state).toBe('ONGOING');
    expect(result.clusters.flatMap((c) => c.findings).filter((f) => f.state === 'NEW')).toEqual([]);
  });

  it('prints the stored run again with fleet-audit report', async () => {
    const out = await fleetAudit(['report', '--local', '--state-dir', stateDir, '--format', 'markdown']);

    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^# Fleet audit /);
    expect(out.stdout).toContain('| 111111111111/eu-west-1/checkout-prod |');
  });

  it('exports the stored run as an HTML page and as Security Hub (ASFF) findings', async () => {
    const html = await fleetAudit(['report', '--local', '--state-dir', stateDir, '--format', 'html']);
    const asff = await fleetAudit(['report', '--local', '--state-dir', stateDir, '--format', 'asff']);

    expect(html.code).toBe(0);
    expect(html.stdout).toMatch(/^<!DOCTYPE html>/i);
    expect(html.stdout).toContain('checkout-prod');
    expect(asff.code).toBe(0);
    const findings = JSON.parse(asff.stdout) as Array<{
      Id: string;
      AwsAccountId: string;
      Severity: { Label: string };
    }>;
    expect(findings.length).toBeGreaterThan(10);
    expect(findings.map((f) => f.Id)).toContain(
      'eks-fleet-auditor/111111111111/eu-west-1/checkout-prod/KP-IPTABLES-SCALE',
    );
  });

  it('prints a readable report with every cluster, its score and its top findings', async () => {
    const out = await fleetAudit(['run', '--local', '--fresh', '--state-dir', stateDir]);

    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^Fleet audit \S+ — PARTIAL: 6 clusters in 2 regions\n/);
    expect(out.stdout).toMatch(
      /\nFleet score \d+ \(node-weighted over 5 audited clusters; worst\n {2}111111111111\/eu-west-1\/checkout-prod at 0; 1 not audited\)\n/,
    );
    expect(out.stdout).toMatch(/111111111111\/eu-west-1\/checkout-prod\s+\d+\s+PARTIAL\s+17\/18/);
    expect(out.stdout).toMatch(/222222222222\/eu-west-1\/edge-gateway\s+—\s+FAILED\s+0\/3/);
    // the quiet cluster: no sync for 45 minutes and nothing queued is healthy, not a stuck kube-proxy
    expect(out.stdout).toMatch(/111111111111\/us-east-1\/ledger-prod\s+100\s+COMPLETE\s+6\/6/);
    expect(out.stdout).toContain('HIGH     KP-IPTABLES-SCALE [NEW]');
  });

  it('exits 1 when --fail-on finds a finding at or above the severity', async () => {
    const out = await fleetAudit(['run', '--local', '--fresh', '--json', '--state-dir', stateDir, '--fail-on', 'HIGH']);
    expect(out.code).toBe(1);
  });

  it('refuses a bad scenario file with one line naming the file and the field, and exit 2', async () => {
    // Arrange
    const file = join(stateDir, 'bad-scenario.json');
    await writeFile(file, JSON.stringify({ accounts: [{ id: '111111111111', regions: [{ name: 42 }] }] }));

    // Act
    const out = await fleetAudit(['run', '--local', '--scenario', file, '--state-dir', stateDir]);

    // Assert
    expect(out.code).toBe(2);
    expect(out.stdout).toBe('');
    const lines = out.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^fleet-audit: scenario .*bad-scenario\.json: field accounts\.0\.regions\.0\.name: /);
  });
});
