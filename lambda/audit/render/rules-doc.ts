import { ADVISORIES, type VersionRange } from '../advisories.js';
import { SEVERITIES } from '../model.js';
import { CATALOGUE } from '../rules/catalogue.js';
import type { Rule } from '../rules/rule.js';
import { FREE_STATES, SEVERITY_CEILING, SEVERITY_COST } from '../scoring.js';
import {
  DEFAULT_THRESHOLDS,
  THRESHOLD_SOURCES,
  type ThresholdName,
  type Thresholds,
  ThresholdsSchema,
} from '../thresholds.js';

/** A rule as `rules --json` prints it: its documentation and the thresholds it reads with their values. */
export interface RuleDoc {
  id: string;
  title: string;
  severities: ReadonlyArray<string>;
  why: string;
  judges: string;
  thresholds: Record<string, number>;
  notEvaluatedWhen: string;
  remediation: string;
  links: ReadonlyArray<string>;
}

export function ruleDoc(rule: Rule, thresholds: Thresholds = DEFAULT_THRESHOLDS): RuleDoc {
  return {
    id: rule.id,
    title: rule.title,
    severities: rule.severities,
    why: rule.why,
    judges: rule.judges,
    thresholds: Object.fromEntries(rule.thresholds.map((name) => [name, thresholds[name]])),
    notEvaluatedWhen: rule.notEvaluatedWhen,
    remediation: rule.remediation,
    links: rule.links,
  };
}

function thresholdDescription(name: ThresholdName): string {
  return ThresholdsSchema.shape[name].description ?? '';
}

function thresholdList(rule: Rule, thresholds: Thresholds): string {
  return rule.thresholds.length === 0 ? 'none' : rule.thresholds.map((n) => `\`${n}\` = ${thresholds[n]}`).join(', ');
}

function range(r: VersionRange | null): string {
  if (!r) return 'any';
  return [r.atLeast ? `≥ ${r.atLeast}` : null, r.below ? `< ${r.below}` : null].filter(Boolean).join(', ');
}

/** A markdown table with padded columns, as Biome formats it, so the generated file is already formatted. */
function table(header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string[] {
  const widths = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: ReadonlyArray<string>) => `| ${widths.map((w, i) => (cells[i] ?? '').padEnd(w)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

/** One rule in plain text, for `fleet-audit explain`. */
export function renderRuleText(rule: Rule, thresholds: Thresholds = DEFAULT_THRESHOLDS): string {
  const lines = [
    `${rule.id} — ${rule.title}`,
    `Severities: ${rule.severities.join(', ')}`,
    '',
    `Why: ${rule.why}`,
    '',
    `Judges: ${rule.judges}`,
    `Thresholds: ${thresholdList(rule, thresholds)}`,
    `Not evaluated when: ${rule.notEvaluatedWhen}`,
    '',
    `Remediation: ${rule.remediation}`,
    '',
    'Links:',
    ...rule.links.map((l) => `  ${l}`),
  ];
  if (rule.id === 'ADDON-VERSION-RISK') {
    lines.push('', 'Advisories:');
    for (const a of ADVISORIES) {
      lines.push(`  ${a.id} (${a.severity}): ${a.title}. ${a.source}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const SCORING = `## Scoring

Each cluster gets a health score from 0 to 100 (100 = healthy), computed in \`lambda/audit/scoring.ts\`:

1. Each finding costs points by severity. A rule counts once, at its worst severity, so no rule costs more than ${SEVERITY_COST.CRITICAL} points.
2. The worst finding caps the score: with a HIGH finding the score is at most ${SEVERITY_CEILING.HIGH}, whatever else holds.
3. \`score = max(0, min(cap of the worst finding, 100 − sum of costs))\`.
4. Findings in state ${FREE_STATES.join(', ')} cost nothing. Resolved and suppressed findings are not health problems. An UNKNOWN finding (found before, evidence missing now) is reported, not guessed. Rules that could not be evaluated cost nothing and are listed in \`notEvaluated\`.
5. Coverage counts through AUDIT-COVERAGE like any other rule. Unseen nodes are not assumed healthy, so a PARTIAL audit scores at most ${SEVERITY_CEILING.LOW} (LOW), or ${SEVERITY_CEILING.MEDIUM} when ${Math.round(DEFAULT_THRESHOLDS.uncoveredShareMedium * 100)} % or more of the nodes are uncovered (MEDIUM).
6. A cluster that could not be audited (AUDIT-FAILED) has score \`null\`, not a number.

${table(
  ['Severity', 'Cost', 'Cap'],
  SEVERITIES.map((s) => [s, String(SEVERITY_COST[s]), String(SEVERITY_CEILING[s])]),
).join('\n')}

A worse signal never raises the score: it can only raise a finding's severity or add a finding, and both cost and cap move one way with severity. With no findings the score is 100. Property tests check both.

**Fleet roll-up** (\`scoreFleet\`): the fleet score is the mean of the audited clusters' scores, weighted by each cluster's expected node count (at least 1), rounded down. The fleet shows 100 only when every audited cluster does. The roll-up also names the worst cluster and counts clusters by status, findings by severity, and UNKNOWN and SUPPRESSED findings. Unaudited clusters are counted but do not enter the mean.
`;

/** docs/rules.md: the catalogue, thresholds, scoring and advisories, generated from the code. */
export function renderRulesMarkdown(): string {
  const t = DEFAULT_THRESHOLDS;
  const out: string[] = [
    '# Rule catalogue',
    '',
    '<!-- Generated from lambda/audit/rules by `npm run docs:rules`; edit the rules, not this file. -->',
    '',
    'Each rule is a pure function of one cluster’s evidence: node reports, the CloudWatch Logs Insights counts, the EKS add-ons and versions, coverage and earlier runs. It yields at most one finding per cluster, with severity, evidence (the numbers judged; up to 10 affected nodes named plus a count) and a remediation chosen from that evidence (the exact add-on `configurationValues`, merged with the add-on’s current ones, and the `aws eks update-addon` command where one applies).',
    '',
    'Conventions:',
    '',
    '- A null (unknown) field is never read as zero. A rule with none of its evidence yields no finding and appears in the cluster’s `notEvaluated` with the reason.',
    '- Aggregates across nodes use the nearest-rank method over the nodes that reported a value: the p-th percentile of n sorted values is the value at rank ⌈p/100 × n⌉. Each rule says which aggregate it judges. p50/p95/max of every node metric, per cluster and per node group, are in the assessment’s `metrics`.',
    '- Every comparison is strict (`>`), except the thresholds marked “inclusive” (≥).',
    '- AUDIT-FAILED replaces every other rule for its cluster.',
    '',
    ...table(
      ['Rule', 'Severities', 'Title'],
      CATALOGUE.map((r) => [`[${r.id}](#${r.id.toLowerCase()})`, r.severities.join(' / '), r.title]),
    ),
    '',
    SCORING,
    '## Thresholds',
    '',
    'Set them as a JSON object: in a file for `fleet-audit score --thresholds FILE`, or as `fleetAudit.thresholds` in cdk.json context for the deployed audit. Keys you leave out keep their defaults. An unknown key or a bad value is rejected with one line naming the field.',
    '',
    ...table(
      ['Threshold', 'Default', 'Meaning', 'Source'],
      (Object.keys(t) as ThresholdName[]).map((n) => [
        `\`${n}\``,
        String(t[n]),
        thresholdDescription(n),
        THRESHOLD_SOURCES[n],
      ]),
    ),
    '',
    '## Rules',
    '',
  ];
  for (const rule of CATALOGUE) {
    out.push(
      `### ${rule.id}`,
      '',
      `**${rule.title}** — ${rule.severities.join(' / ')}`,
      '',
      rule.why,
      '',
      `- **Judges:** ${rule.judges}`,
      `- **Thresholds:** ${thresholdList(rule, t)}`,
      `- **Not evaluated when:** ${rule.notEvaluatedWhen}`,
      `- **Remediation:** ${rule.remediation}`,
      `- **Links:** ${rule.links.map((l) => `<${l}>`).join(', ')}`,
      '',
    );
  }
  out.push(
    '## Advisories (ADDON-VERSION-RISK)',
    '',
    'The table lives in `lambda/audit/advisories.ts`. An advisory applies when every condition it sets holds. It is not judged when a condition reads a fact the audit does not know.',
    '',
    ...table(
      ['Advisory', 'Severity', 'VPC CNI / add-on versions', 'Kubernetes', 'kube-proxy mode', 'What', 'Source'],
      ADVISORIES.map((a) => [
        a.id,
        a.severity,
        a.addon ? `${a.addon} ${range(a.versions)}` : 'any',
        range(a.kubernetes),
        a.proxyMode ?? 'any',
        a.text,
        `<${a.source}>`,
      ]),
    ),
    '',
    '## Unverified assumptions',
    '',
    'These facts come from the project’s research notes, where they are marked unverified [U] or only partly verified [P]. Remediations that depend on them say so.',
    '',
    '- [U] Whether the EKS kube-proxy add-on schema exposes `iptables.minSyncPeriod` (and `ipvs.`/`nftables.minSyncPeriod`). IPT-SLOW-SYNC’s remediation gives the `describe-addon-configuration` check and the ConfigMap fallback.',
    '- [P] The vpc-cni add-on accepting `env.CLUSTER_ENDPOINT`: the Helm chart and README have it, and the add-on schema is expected to mirror the chart. Raising the probes’ `timeoutSeconds` is not suggested: the probe command has its own 5 s limits (`grpc-health-probe -connect-timeout=5s -rpc-timeout=5s`, aws/amazon-vpc-cni-k8s config/master/aws-k8s-cni.yaml). Whether the add-on accepts `initialDelaySeconds`/`failureThreshold` for the probes is unverified; CNI-RESTARTS says how to check.',
    '- [P] `update-addon --configuration-values` sets an add-on’s configuration as a whole rather than merging it (eksctl’s docs say all options are passed together). Remediations therefore merge their change into the current values from DescribeAddon. When the audit did not see the add-on, as with `fleet-audit score`, the remediation says to merge by hand.',
    '- [U] A kube-proxy v1.29.3-specific lock-wait problem: no source was found, so there is no advisory for it.',
    '- [U] Collecting on Bottlerocket nodes through SSM: AUDIT-COVERAGE counts them as unreachable unless their reports arrive.',
    '- IPVS is recommended where nftables mode is not possible, as a bridge only: it is deprecated from Kubernetes 1.35.',
    '',
  );
  return out.join('\n');
}
