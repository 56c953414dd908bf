import type { ClusterResult } from '../model.js';

/** A cluster as people name it in reports: `<account>/<region>/<name>`, or its name alone (ad-hoc scoring). */
export function clusterLabel(cluster: Pick<ClusterResult, 'account' | 'region' | 'name'>): string {
  return cluster.account ? `${cluster.account}/${cluster.region}/${cluster.name}` : cluster.name;
}
