import { createHash } from 'node:crypto';
import { z } from 'zod';
import { COLLECTOR_MAX_BYTES, COLLECTOR_SCHEMA, type NodeReport, NodeReportSchema } from '#audit/node-report.js';
import { randomFor } from './random.js';
import type { Cluster, NodeGroup, ReportTemplate, Scenario, ScenarioProblem } from './scenario.js';

/**
 * Node groups of a scenario expanded into instances: stable ids, addresses and host names, SSM registration, and
 * the collector report each node prints. Expansion is deterministic: the same scenario gives the same nodes.
 */

export type NodeFault = NonNullable<NodeGroup['fault']>;

/** One simulated EC2 instance of a cluster. */
export interface SimNode {
  account: string;
  region: string;
  cluster: string;
  instanceId: string;
  /** node group or node pool name */
  nodegroup: string;
  provisioner: NodeGroup['provisioner'];
  /** the managed node group's AMI type, when declared */
  amiType: string | null;
  platform: 'linux' | 'windows';
  ssm: NodeGroup['ssm'];
  /** SSM PlatformType / PlatformName / PlatformVersion */
  platformType: 'Linux' | 'Windows';
  platformName: string;
  platformVersion: string;
  instanceType: string;
  privateIp: string;
  hostname: string;
  uptimeSeconds: number;
  fault: NodeFault | null;
  /**
   * `duplicateId`: the instance id this node's report names instead of its own (the group's first node's); null
   * for the first node and every other fault
   */
  answersAs: string | null;
  /** simulated collector run time; null: drawn from the scenario's timing */
  commandMs: number | null;
  /** the report the collector prints on this node, complete except `collectedAt` */
  report: NodeReport;
}

/** Report fields the simulator fills in itself. */
const FILLED_FIELDS = ['schema', 'collectedAt', 'node.instanceId', 'node.hostname'] as const;

/** A problem found while expanding, with the scenario path it belongs to. */
class NodeProblem extends Error {
  constructor(readonly problem: ScenarioProblem) {
    super(problem.message);
  }
}

/**
 * Expansions by scenario: parseScenario expands once to check the nodes, the Fleet again to serve them. Parsed
 * scenarios and their nodes are never mutated (sim/fleet.ts, sim/local-fleet.ts and bench/fleet.ts only read
 * them), so the second call reuses the first's nodes.
 */
const expanded = new WeakMap<Scenario, SimNode[]>();

/** Every node of the scenario, in file order. */
export function scenarioNodes(scenario: Scenario): SimNode[] {
  let nodes = expanded.get(scenario);
  if (!nodes) {
    nodes = expandScenario(scenario);
    expanded.set(scenario, nodes);
  }
  return [...nodes];
}

function expandScenario(scenario: Scenario): SimNode[] {
  const nodes: SimNode[] = [];
  let clusterOrdinal = 0;
  for (const [a, account] of scenario.accounts.entries()) {
    for (const [r, region] of account.regions.entries()) {
      for (const [c, cluster] of region.clusters.entries()) {
        const path = ['accounts', a, 'regions', r, 'clusters', c];
        nodes.push(...expandCluster(scenario, account.id, region.name, cluster, clusterOrdinal, path));
        clusterOrdinal++;
      }
    }
  }
  return nodes;
}

/** Expands every node group and checks the reports; the first problem found, or null. */
export function checkNodes(scenario: Scenario): ScenarioProblem | null {
  try {
    const nodes = scenarioNodes(scenario);
    const seen = new Map<string, SimNode>();
    for (const node of nodes) {
      const other = seen.get(node.instanceId);
      if (other) {
        return {
          path: ['accounts'],
          message: `instance id ${node.instanceId} is used twice (clusters ${other.cluster} and ${node.cluster}); change an idPrefix`,
        };
      }
      seen.set(node.instanceId, node);
    }
    return null;
  } catch (error) {
    if (error instanceof NodeProblem) return error.problem;
    throw error;
  }
}

function expandCluster(
  scenario: Scenario,
  account: string,
  region: string,
  cluster: Cluster,
  clusterOrdinal: number,
  clusterPath: ReadonlyArray<string | number>,
): SimNode[] {
  checkTemplate(cluster.report, [...clusterPath, 'report']);
  const amiTypes = new Map(cluster.nodegroups.map((n) => [n.name, n.amiType]));
  const nodes: SimNode[] = [];
  for (const [g, group] of cluster.nodes.entries()) {
    const groupPath = [...clusterPath, 'nodes', g];
    checkTemplate(group.report, [...groupPath, 'report']);
    for (const [index, override] of Object.entries(group.overrides)) {
      if (Number(index) >= group.count) {
        throw new NodeProblem({
          path: [...groupPath, 'overrides', index],
          message: `node ${index} does not exist (count is ${group.count})`,
        });
      }
      checkTemplate(override, [...groupPath, 'overrides', index]);
    }
    for (let i = 0; i < group.count; i++) {
      const ordinal = nodes.length;
      const ip = `10.${10 + (clusterOrdinal % 240)}.${16 + Math.floor(ordinal / 240)}.${10 + (ordinal % 240)}`;
      const instanceId = instanceIdOf(scenario.seed, [account, region, cluster.name, g, group.nodegroup, i], group, i);
      const template = mergeAll([cluster.report, group.report, group.overrides[String(i)] ?? {}]);
      const varied = applyVariation(template, group, [scenario.seed, instanceId], groupPath);
      const hostname = `ip-${ip.replaceAll('.', '-')}.${region === 'us-east-1' ? 'ec2.internal' : `${region}.compute.internal`}`;
      const report = completeReport(varied, instanceId, hostname, {
        cluster: cluster.report,
        group,
        index: i,
        groupPath,
        clusterPath,
      });
      const platform = describePlatform(group, report);
      nodes.push({
        account,
        region,
        cluster: cluster.name,
        instanceId,
        nodegroup: group.nodegroup,
        provisioner: group.provisioner,
        amiType: group.provisioner === 'managed' ? (amiTypes.get(group.nodegroup) ?? null) : null,
        platform: group.platform,
        ssm: group.ssm,
        ...platform,
        instanceType: group.instanceType,
        privateIp: ip,
        hostname,
        uptimeSeconds: report.node?.uptimeSeconds ?? 86_400,
        fault: group.fault ?? null,
        answersAs: group.fault === 'duplicateId' && i > 0 ? (nodes[nodes.length - i]?.instanceId ?? null) : null,
        commandMs: group.commandMs ?? null,
        report,
      });
    }
  }
  return nodes;
}

/** `i-0` and 16 hex digits of a hash of the node's place, or `i-<idPrefix><index>` padded to 17 hex digits. */
function instanceIdOf(seed: number, place: ReadonlyArray<string | number>, group: NodeGroup, index: number): string {
  if (group.idPrefix !== undefined) {
    return `i-${group.idPrefix}${index.toString(16).padStart(17 - group.idPrefix.length, '0')}`;
  }
  const hash = createHash('sha256')
    .update(JSON.stringify([seed, ...place]))
    .digest('hex');
  return `i-0${hash.slice(0, 16)}`;
}

interface ReportOrigin {
  cluster: ReportTemplate;
  group: NodeGroup;
  index: number;
  groupPath: ReadonlyArray<string | number>;
  clusterPath: ReadonlyArray<string | number>;
}

/** The template plus the fields the simulator fills in, validated by the collector schema. */
function completeReport(
  template: ReportTemplate,
  instanceId: string,
  hostname: string,
  origin: ReportOrigin,
): NodeReport {
  const node = isPlainObject(template.node) ? template.node : {};
  const full = {
    ...template,
    schema: COLLECTOR_SCHEMA,
    // a placeholder of the real length, so the size check below is exact; replaced when a command completes
    collectedAt: new Date(0).toISOString(),
    node: { ...node, instanceId, hostname },
  };
  const parsed = NodeReportSchema.safeParse(full);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const issuePath = issue?.path.map(String) ?? [];
    throw new NodeProblem({ path: originOf(issuePath, origin), message: issue?.message ?? 'invalid report' });
  }
  const bytes = Buffer.byteLength(collectorOutput(parsed.data, new Date(0).toISOString()));
  if (bytes >= COLLECTOR_MAX_BYTES) {
    throw new NodeProblem({
      path: [...origin.groupPath, 'report'],
      message: `node ${origin.index} prints ${bytes} bytes; the SSM agent keeps only outputs under ${COLLECTOR_MAX_BYTES} bytes whole`,
    });
  }
  return parsed.data;
}

/** Which part of the scenario set the field a problem is about: the node's override, its group, or the cluster. */
function originOf(field: ReadonlyArray<string>, origin: ReportOrigin): Array<string | number> {
  const override = origin.group.overrides[String(origin.index)];
  if (override && hasPath(override, field)) return [...origin.groupPath, 'overrides', origin.index, ...field];
  if (hasPath(origin.group.report, field)) return [...origin.groupPath, 'report', ...field];
  if (hasPath(origin.cluster, field)) return [...origin.clusterPath, 'report', ...field];
  return [...origin.groupPath, 'report', ...field];
}

/** The collector's stdout for a report: one compact JSON object and a newline, as collect.sh prints it. */
export function collectorOutput(report: NodeReport, collectedAt: string): string {
  return `${JSON.stringify({ ...report, collectedAt })}\n`;
}

/** Rejects template fields the collector schema does not know (a typo would otherwise be silently dropped). */
function checkTemplate(template: ReportTemplate, path: ReadonlyArray<string | number>): void {
  for (const field of FILLED_FIELDS) {
    if (hasPath(template, field.split('.'))) {
      throw new NodeProblem({
        path: [...path, ...field.split('.')],
        message: 'filled in by the simulator; leave it out',
      });
    }
  }
  const unknown = unknownField(template, NodeReportSchema, []);
  if (unknown) throw new NodeProblem({ path: [...path, ...unknown], message: 'unknown field of the collector report' });
}

function unknownField(value: unknown, schema: z.ZodType, path: string[]): string[] | null {
  const object = objectSchemaOf(schema);
  if (!object || !isPlainObject(value)) return null;
  for (const [key, child] of Object.entries(value)) {
    const childSchema = object.shape[key];
    if (!childSchema) return [...path, key];
    const found = unknownField(child, childSchema as z.ZodType, [...path, key]);
    if (found) return found;
  }
  return null;
}

function objectSchemaOf(schema: z.ZodType): z.ZodObject | null {
  let current: z.ZodType = schema;
  while (current instanceof z.ZodDefault || current instanceof z.ZodNullable || current instanceof z.ZodOptional) {
    current = current.unwrap() as z.ZodType;
  }
  return current instanceof z.ZodObject ? current : null;
}

/** Scales each `vary` field by a seeded factor in [1 − f, 1 + f]; whole numbers stay whole, none goes below 0. */
function applyVariation(
  template: ReportTemplate,
  group: NodeGroup,
  key: ReadonlyArray<string | number>,
  groupPath: ReadonlyArray<string | number>,
): ReportTemplate {
  let result = template;
  for (const [field, fraction] of Object.entries(group.vary)) {
    const path = field.split('.');
    const value = getPath(result, path);
    if (typeof value !== 'number') {
      throw new NodeProblem({ path: [...groupPath, 'vary', field], message: 'the report has no number there to vary' });
    }
    const factor = 1 + (randomFor(...key, field)() * 2 - 1) * fraction;
    const scaled = Math.max(0, value * factor);
    result = setPath(result, path, Number.isInteger(value) ? Math.round(scaled) : Math.round(scaled * 1000) / 1000);
  }
  return result;
}

function describePlatform(
  group: NodeGroup,
  report: NodeReport,
): Pick<SimNode, 'platformType' | 'platformName' | 'platformVersion'> {
  if (group.platform === 'windows') {
    return {
      platformType: 'Windows',
      platformName: group.platformName ?? 'Microsoft Windows Server 2022 Datacenter',
      platformVersion: '10.0.20348',
    };
  }
  const os = report.node?.os ?? null;
  const [name, version] =
    os === 'bottlerocket'
      ? ['Bottlerocket', '1.42.0']
      : os === 'amzn2023'
        ? ['Amazon Linux', '2023']
        : os === 'amzn2'
          ? ['Amazon Linux', '2']
          : ['Linux', ''];
  return { platformType: 'Linux', platformName: group.platformName ?? name, platformVersion: version };
}

/** Deep merge of plain objects, later ones winning; arrays and nulls replace. */
function mergeAll(templates: ReadonlyArray<ReportTemplate>): ReportTemplate {
  return templates.reduce<ReportTemplate>((merged, next) => merge(merged, next), {});
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const existing = result[key];
    result[key] = isPlainObject(existing) && isPlainObject(value) ? merge(existing, value) : value;
  }
  return result;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function hasPath(value: unknown, path: ReadonlyArray<string>): boolean {
  let current = value;
  for (const key of path) {
    if (!isPlainObject(current) || !(key in current)) return false;
    current = current[key];
  }
  return true;
}

function getPath(value: unknown, path: ReadonlyArray<string>): unknown {
  let current = value;
  for (const key of path) {
    if (!isPlainObject(current)) return undefined;
    current = current[key];
  }
  return current;
}

function setPath(value: ReportTemplate, path: ReadonlyArray<string>, leaf: unknown): ReportTemplate {
  const [head, ...rest] = path;
  if (head === undefined) return value;
  const child = value[head];
  return { ...value, [head]: rest.length === 0 ? leaf : setPath(isPlainObject(child) ? child : {}, rest, leaf) };
}
