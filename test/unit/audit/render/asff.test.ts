import { describe, expect, it } from 'vitest';
import type { FindingState, RunResult, Severity } from '#audit/model.js';
import { type AsffFinding, AsffFindingSchema, AsffOptionsError, renderRunAsff } from '#audit/render/asff.js';
import { truncate } from '#audit/render/escape.js';
import { finding, HOSTILE_COMMAND, HOSTILE_EVIDENCE, HOSTILE_NAME, runFixture, TWELVE_NODES } from './run-fixture.js';

const NETWORKING = 'Software and Configuration Checks/AWS Security Best Practices/EKS Networking';
const SSM_TROUBLESHOOTING =
  'https://docs.aws.amazon.com/systems-manager/latest/userguide/troubleshooting-managed-nodes.html';

/** A run with one cluster in eu-west-1 of 111111111111 holding exactly these findings. */
function oneClusterRun(findings: RunResult['clusters'][number]['findings'], patch: Partial<RunResult> = {}) {
  const run = runFixture(patch);
  const [first] = run.clusters;
  if (!first) throw new Error('fixture has no cluster');
  return { ...run, clusters: [{ ...first, findings }] };
}

const place = { account: '111111111111', region: 'eu-west-1', name: 'checkout-prod' };

function only(findings: AsffFinding[]): AsffFinding {
  expect(findings).toHaveLength(1);
  const [first] = findings;
  if (!first) throw new Error('no finding');
  return first;
}

describe('renderRunAsff', () => {
  const findings = renderRunAsff(runFixture());

  it('writes a NEW finding as an ACTIVE Security Hub finding with every required field', () => {
    expect(findings[0]).toEqual({
      SchemaVersion: '2018-10-08',
      Id: `eks-fleet-auditor/111111111111/eu-west-1/${HOSTILE_NAME}/XT-LOCK-CONTENTION`,
      ProductArn: 'arn:aws:securityhub:eu-west-1:111111111111:product/111111111111/default',
      GeneratorId: 'eks-fleet-auditor/XT-LOCK-CONTENTION',
      AwsAccountId: '111111111111',
      Types: [NETWORKING, 'Effects/Resource Consumption'],
      CreatedAt: '2026-11-30T02:04:12.500Z',
      UpdatedAt: '2026-11-30T02:04:12.500Z',
      Severity: { Label: 'HIGH', Original: 'HIGH' },
      Title: 'The xtables lock is contended',
      Description: `${HOSTILE_EVIDENCE}. Affected nodes: ${TWELVE_NODES.slice(0, 10).join(', ')} and 2 more.`,
      Remediation: {
        Recommendation: {
          Text: 'Switch kube-proxy to IPVS, then run `kubectl -n kube-system rollout restart ds/kube-proxy`.',
          Url: 'https://docs.aws.amazon.com/eks/latest/best-practices/ipvs.html',
        },
      },
      ProductFields: {
        ProviderName: 'eks-fleet-auditor',
        'eks-fleet-auditor/ruleId': 'XT-LOCK-CONTENTION',
        'eks-fleet-auditor/state': 'NEW',
        'eks-fleet-auditor/severity': 'HIGH',
        'eks-fleet-auditor/score': '37',
        'eks-fleet-auditor/auditStatus': 'PARTIAL',
        'eks-fleet-auditor/cluster': HOSTILE_NAME,
        'eks-fleet-auditor/fingerprint': `111111111111/eu-west-1/${HOSTILE_NAME}/XT-LOCK-CONTENTION`,
        'eks-fleet-auditor/runId': '20261130T020000-abcdef12',
        'eks-fleet-auditor/affectedNodes': '12',
        'eks-fleet-auditor/command': HOSTILE_COMMAND,
        'eks-fleet-auditor/configurationValues': '{"mode":"ipvs","ipvs":{"scheduler":"rr"}}',
      },
      Resources: [
        {
          Type: 'AwsEksCluster',
          Id: `arn:aws:eks:eu-west-1:111111111111:cluster/${HOSTILE_NAME}`,
          Partition: 'aws',
          Region: 'eu-west-1',
        },
      ],
      Compliance: { Status: 'FAILED' },
      Workflow: { Status: 'NEW' },
      RecordState: 'ACTIVE',
      FindingProviderFields: {
        Severity: { Label: 'HIGH', Original: 'HIGH' },
        Types: [NETWORKING, 'Effects/Resource Consumption'],
      },
    });
  });

  it('exports every finding of clusters with an account and region, in run order, and skips ad-hoc clusters', () => {
    expect(findings.map((f) => f.Id)).toEqual([
      `eks-fleet-auditor/111111111111/eu-west-1/${HOSTILE_NAME}/XT-LOCK-CONTENTION`,
      `eks-fleet-auditor/111111111111/eu-west-1/${HOSTILE_NAME}/AUDIT-COVERAGE`,
      `eks-fleet-auditor/111111111111/eu-west-1/${HOSTILE_NAME}/KP-SYNC-FAILING`,
      `eks-fleet-auditor/111111111111/eu-west-1/${HOSTILE_NAME}/CNI-RESTARTS`,
      `eks-fleet-auditor/111111111111/eu-west-1/${HOSTILE_NAME}/IPT-SLOW-SYNC`,
      `eks-fleet-auditor/111111111111/eu-west-1/${HOSTILE_NAME}/ADDON-VERSION-RISK`,
      'eks-fleet-auditor/222222222222/eu-west-1/edge/AUDIT-FAILED',
    ]);
  });

  it('also skips a cluster that has an account but no region', () => {
    const run = runFixture();
    run.clusters = run.clusters.map((c) => ({ ...c, region: null }));
    expect(renderRunAsff(run)).toEqual([]);
  });

  it('passes its own schema for every finding', () => {
    for (const f of findings) expect(AsffFindingSchema.safeParse(f).error).toBeUndefined();
  });

  it.each([
    ['CRITICAL', 'CRITICAL'],
    ['HIGH', 'HIGH'],
    ['MEDIUM', 'MEDIUM'],
    ['LOW', 'LOW'],
    ['INFO', 'INFORMATIONAL'],
  ] as const)('maps severity %s to the ASFF label %s, top level and in FindingProviderFields', (severity, label) => {
    const asff = only(renderRunAsff(oneClusterRun([finding(place, 'AUDIT-COVERAGE', { severity })])));
    expect(asff.Severity).toEqual({ Label: label, Original: severity });
    expect(asff.FindingProviderFields.Severity).toEqual({ Label: label, Original: severity });
  });

  it.each([
    ['NEW', 'ACTIVE', 'NEW', 'FAILED', 'AUDIT-COVERAGE evidence.'],
    ['ONGOING', 'ACTIVE', 'NEW', 'FAILED', 'AUDIT-COVERAGE evidence.'],
    ['WORSENED', 'ACTIVE', 'NEW', 'FAILED', 'AUDIT-COVERAGE evidence.'],
    [
      'UNKNOWN',
      'ACTIVE',
      'NEW',
      'NOT_AVAILABLE',
      'Not re-checked in this run (its evidence was not collected). Last evidence: AUDIT-COVERAGE evidence.',
    ],
    ['SUPPRESSED', 'ACTIVE', 'SUPPRESSED', 'FAILED', 'Suppressed in eks-fleet-auditor. AUDIT-COVERAGE evidence.'],
    [
      'RESOLVED',
      'ARCHIVED',
      'RESOLVED',
      'PASSED',
      'Resolved: not seen in this run. Last evidence: AUDIT-COVERAGE evidence.',
    ],
  ] as const)(
    'writes state %s as RecordState %s, Workflow %s, Compliance %s',
    (state, record, workflow, compliance, text) => {
      const asff = only(renderRunAsff(oneClusterRun([finding(place, 'AUDIT-COVERAGE', { state })])));
      expect([asff.RecordState, asff.Workflow.Status, asff.Compliance.Status]).toEqual([record, workflow, compliance]);
      expect(asff.Description).toBe(text);
      expect(asff.ProductFields['eks-fleet-auditor/state']).toBe(state);
    },
  );

  it('keeps the same Id for the same account/region/cluster/rule across runs, whatever changed', () => {
    // Arrange: a later run with another id and times, other states and severities
    const later = runFixture({
      runId: '20261201T020000-99999999',
      startedAt: '2026-12-01T02:00:00.000Z',
      finishedAt: '2026-12-01T02:03:00.000Z',
    });
    for (const c of later.clusters) {
      c.findings = c.findings.map((f) => ({
        ...f,
        state: 'ONGOING' as FindingState,
        severity: 'CRITICAL' as Severity,
      }));
      c.score = 5;
    }

    // Act
    const second = renderRunAsff(later);

    // Assert
    expect(second.map((f) => f.Id)).toEqual(findings.map((f) => f.Id));
    expect(second.map((f) => f.UpdatedAt)).toEqual(Array(7).fill('2026-12-01T02:03:00.000Z'));
    expect(second[0]?.ProductFields['eks-fleet-auditor/runId']).toBe('20261201T020000-99999999');
    expect(renderRunAsff(runFixture())).toEqual(findings);
  });

  it('gives the same cluster name and rule in another region or account another Id', () => {
    const run = runFixture();
    const places = [place, { ...place, region: 'us-west-2' }, { ...place, account: '333333333333' }];
    const [first] = run.clusters;
    if (!first) throw new Error('fixture has no cluster');
    run.clusters = places.map((p) => ({ ...first, ...p, findings: [finding(p, 'KP-IPTABLES-SCALE')] }));
    expect(renderRunAsff(run).map((f) => f.Id)).toEqual([
      'eks-fleet-auditor/111111111111/eu-west-1/checkout-prod/KP-IPTABLES-SCALE',
      'eks-fleet-auditor/111111111111/us-west-2/checkout-prod/KP-IPTABLES-SCALE',
      'eks-fleet-auditor/333333333333/eu-west-1/checkout-prod/KP-IPTABLES-SCALE',
    ]);
  });

  it('cuts Description to 1,024, the recommendation to 512 and the title to 256 characters, ending with …', () => {
    // Arrange
    const long = finding(place, 'KP-IPTABLES-SCALE', {
      title: 't'.repeat(300),
      evidence: { summary: 'x'.repeat(2000), values: {}, nodes: [], moreNodes: 0 },
      remediation: { summary: 'y'.repeat(600), configurationValues: null, command: null, links: [] },
    });
    const wordy = finding(place, 'IPT-SLOW-SYNC', {
      evidence: { summary: 'lock '.repeat(300), values: {}, nodes: [], moreNodes: 0 },
    });

    // Act
    const [cut, atSpace] = renderRunAsff(oneClusterRun([long, wordy]));

    // Assert
    expect(cut?.Description).toBe(`${'x'.repeat(1023)}…`);
    expect(cut?.Remediation.Recommendation.Text).toBe(`${'y'.repeat(511)}…`);
    expect(cut?.Title).toBe(`${'t'.repeat(255)}…`);
    expect(atSpace?.Description).toBe(`${'lock '.repeat(203)}lock…`);
    for (const f of [cut, atSpace]) expect(AsffFindingSchema.safeParse(f).error).toBeUndefined();
  });

  it('links the first http(s) remediation link, else the rule’s first link, never another scheme', () => {
    const asff = renderRunAsff(
      oneClusterRun([
        finding(place, 'AUDIT-COVERAGE', {
          remediation: {
            summary: 'Fix SSM.',
            configurationValues: null,
            command: null,
            links: ['javascript:alert(1)'],
          },
        }),
      ]),
    );
    expect(only(asff).Remediation.Recommendation).toEqual({ Text: 'Fix SSM.', Url: SSM_TROUBLESHOOTING });
  });

  it('says "not audited" for the score of a cluster that could not be audited', () => {
    const edge = findings.find((f) => f.GeneratorId === 'eks-fleet-auditor/AUDIT-FAILED');
    expect(edge?.ProductFields['eks-fleet-auditor/score']).toBe('not audited');
    expect(edge?.Types).toEqual(['Software and Configuration Checks/AWS Security Best Practices/Audit Coverage']);
  });

  it('exports only the clusters of awsAccountId, the account that imports them', () => {
    const asff = only(renderRunAsff(runFixture(), { awsAccountId: '222222222222' }));
    expect([asff.Id, asff.AwsAccountId, asff.ProductArn]).toEqual([
      'eks-fleet-auditor/222222222222/eu-west-1/edge/AUDIT-FAILED',
      '222222222222',
      'arn:aws:securityhub:eu-west-1:222222222222:product/222222222222/default',
    ]);
  });

  it('uses productArn and generatedAt when given', () => {
    const productArn = 'arn:aws:securityhub:eu-west-1:123456789012:product/acme/fleet-audit';
    const asff = renderRunAsff(runFixture(), { productArn, generatedAt: '2026-11-30T03:00:00Z' });
    expect(new Set(asff.map((f) => f.ProductArn))).toEqual(new Set([productArn]));
    expect(new Set(asff.flatMap((f) => [f.CreatedAt, f.UpdatedAt]))).toEqual(new Set(['2026-11-30T03:00:00Z']));
  });

  it.each([
    ['cn-north-1', 'aws-cn'],
    ['us-gov-west-1', 'aws-us-gov'],
  ])('names the partition of %s (%s) in the ARNs', (region, partition) => {
    const run = runFixture();
    run.clusters = run.clusters.slice(2, 3).map((c) => ({ ...c, region }));
    const asff = only(renderRunAsff(run));
    expect(asff.ProductArn).toBe(`arn:${partition}:securityhub:${region}:222222222222:product/222222222222/default`);
    expect(asff.Resources).toEqual([
      {
        Type: 'AwsEksCluster',
        Id: `arn:${partition}:eks:${region}:222222222222:cluster/edge`,
        Partition: partition,
        Region: region,
      },
    ]);
  });

  it.each([
    [{ awsAccountId: '1234' }, 'awsAccountId "1234" is not a 12-digit AWS account id'],
    [{ generatedAt: 'yesterday' }, 'generatedAt "yesterday" is not an ISO 8601 timestamp'],
    [
      { productArn: 'arn:aws:s3:::bucket' },
      'productArn "arn:aws:s3:::bucket" is not a Security Hub product ARN (arn:aws:securityhub:REGION:ACCOUNT:product/COMPANY/PRODUCT)',
    ],
  ])('rejects the options %o with one clear line', (options, message) => {
    expect(() => renderRunAsff(runFixture(), options)).toThrow(new AsffOptionsError(message));
  });
});

describe('AsffFindingSchema', () => {
  const valid = renderRunAsff(runFixture())[0];

  it.each([
    ['a Description over 1,024 characters', { Description: 'd'.repeat(1025) }],
    ['a blank Title', { Title: '   ' }],
    ['our INFO label instead of INFORMATIONAL', { Severity: { Label: 'INFO', Original: 'INFO' } }],
    ['a timestamp without a zone', { UpdatedAt: '2026-11-30 02:04:12' }],
    ['an account id that is not 12 digits', { AwsAccountId: '1111' }],
    ['a type outside the ASFF namespaces', { Types: ['Reliability/EKS'] }],
    ['a field ASFF does not have', { Colour: 'red' }],
  ])('rejects %s', (_case, patch) => {
    expect(AsffFindingSchema.safeParse({ ...valid, ...patch }).success).toBe(false);
  });

  it('rejects a finding without Resources', () => {
    expect(AsffFindingSchema.safeParse({ ...valid, Resources: [] }).success).toBe(false);
  });
});

describe('truncate', () => {
  it('never cuts a surrogate pair in half', () => {
    expect(truncate(`${'a'.repeat(9)}😀b`, 11)).toBe(`${'a'.repeat(9)}…`);
  });

  it('leaves text that fits alone', () => {
    expect(truncate('fits', 4)).toBe('fits');
  });
});
