import { loadScenario, type Scenario } from '#sim/scenario.js';

export type SimCluster = Scenario['accounts'][number]['regions'][number]['clusters'][number];

/**
 * A cluster made healthy for a test: catalog-prod of the default scenario (its nodes, add-ons and logs) under
 * another name, with the history given, and without catalog-prod's own endpoint.
 */
export function healthyAs(name: string, history: SimCluster['history']): SimCluster {
  const catalog = loadScenario('default')
    .accounts.flatMap((a) => a.regions)
    .flatMap((r) => r.clusters)
    .find((c) => c.name === 'catalog-prod');
  if (!catalog) throw new Error('the default scenario lost catalog-prod');
  const { endpoint: _endpoint, ...rest } = structuredClone(catalog);
  return { ...rest, name, history };
}
