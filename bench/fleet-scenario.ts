/**
 * The fleet benchmark's fleet: the default scenario's clusters (with their faults) copied until there are exactly
 * `clusters` of them, each with its node groups scaled to about `nodes` nodes. The IAM proof audits one too, so the
 * calls a large fleet makes (more pages, more SendCommand batches) are proven, not only the default scenario's.
 */
import { parseScenario, type Scenario } from '#sim/scenario.js';

export function largeFleet(base: Scenario, clusters: number, nodes: number): Scenario {
  const templates = base.accounts.flatMap((a) => a.regions.flatMap((r) => r.clusters));
  const accountRegions = base.accounts.reduce((sum, a) => sum + a.regions.length, 0);
  // exactly `clusters`, dealt over the account-regions in order (the first ones get one more)
  let ordinal = 0;
  const share = () => {
    const k = ordinal++;
    return Math.floor(clusters / accountRegions) + (k < clusters % accountRegions ? 1 : 0);
  };
  const accounts = base.accounts.map((account, a) => ({
    ...account,
    regions: account.regions.map((region, r) => ({
      ...region,
      clusters: Array.from({ length: share() }, (_, i) => {
        const template = templates[(i + a + r) % templates.length] ?? templates[0];
        if (!template) throw new Error('the default scenario has no clusters');
        const groupCount = template.nodes.length;
        return {
          ...template,
          name: `${template.name}-${a}${r}-${i}`,
          nodes: template.nodes.map((group) => {
            const count = Math.max(1, Math.round(nodes / groupCount));
            return {
              ...group,
              count,
              overrides: scaledOverrides(group.overrides, group.count, count),
              idPrefix: undefined,
            };
          }),
        };
      }),
    })),
  }));
  return parseScenario({ ...base, accounts }, 'bench fleet');
}

/**
 * A group's single-node overrides when it is scaled from `from` to `to` nodes: each keeps its place in proportion
 * (node 5 of 10 becomes node 2 of 4), so a smaller copy still has its odd nodes; where two land on one node, the
 * first one stays.
 */
export function scaledOverrides<T>(overrides: Record<string, T>, from: number, to: number): Record<string, T> {
  const scaled: Record<string, T> = {};
  for (const [index, override] of Object.entries(overrides).sort(([a], [b]) => Number(a) - Number(b))) {
    const at = String(Math.min(to - 1, Math.floor((Number(index) * to) / Math.max(1, from))));
    if (!(at in scaled)) scaled[at] = override;
  }
  return scaled;
}
