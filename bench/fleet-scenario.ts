/**
 * The fleet benchmark's fleet: the default scenario's clusters (with their faults) copied until there are `clusters`
 * of them, each with its node groups scaled to about `nodes` nodes. The IAM proof audits one too, so the calls a
 * large fleet makes (more pages, more SendCommand batches) are proven, not only the default scenario's.
 */
import { parseScenario, type Scenario } from '#sim/scenario.js';

export function largeFleet(base: Scenario, clusters: number, nodes: number): Scenario {
  const templates = base.accounts.flatMap((a) => a.regions.flatMap((r) => r.clusters));
  const accounts = base.accounts.map((account, a) => ({
    ...account,
    regions: account.regions.map((region, r) => ({
      ...region,
      clusters: Array.from(
        { length: Math.ceil(clusters / (base.accounts.length * account.regions.length)) },
        (_, i) => {
          const template = templates[(i + a + r) % templates.length] ?? templates[0];
          if (!template) throw new Error('the default scenario has no clusters');
          const groupCount = template.nodes.length;
          return {
            ...template,
            name: `${template.name}-${a}${r}-${i}`,
            nodes: template.nodes.map((group) => ({
              ...group,
              count: Math.max(1, Math.round(nodes / groupCount)),
              idPrefix: undefined,
            })),
          };
        },
      ),
    })),
  }));
  return parseScenario({ ...base, accounts }, 'bench fleet');
}
