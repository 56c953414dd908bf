/**
 * A scenario may be another one with changes: `"extends": "<built-in name>"` takes that scenario's JSON and applies
 * the rest of the file to it as a patch, so a second night (`default-day2`) says only what changed since the first.
 *
 * Patch rules (JSON Merge Patch, RFC 7396, with one addition):
 * - an object merges into the object at the same place, key by key; `null` deletes a key;
 * - any other value replaces what is there;
 * - addition: an object patching an ARRAY merges into the elements it names by index (`{"0": {...}}`), so one
 *   node group of a cluster can change without restating the others;
 * - `clusters` at the top level is an object of cluster name → patch, applied to the cluster of that name wherever
 *   it is in `accounts` (a name that is no cluster of the base is an error).
 */

export class ScenarioPatchError extends Error {
  override readonly name = 'ScenarioPatchError';
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isObject = (value: unknown): value is Record<string, Json> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** Applies `patch` to `base` (neither is changed); `where` names the place in errors. */
export function mergePatch(base: Json | undefined, patch: Json, where: string): Json {
  if (!isObject(patch)) return patch;
  if (Array.isArray(base)) {
    const out = [...base];
    for (const [key, value] of Object.entries(patch)) {
      const index = Number(key);
      if (!/^\d+$/.test(key) || index >= out.length) {
        throw new ScenarioPatchError(`${where}: "${key}" is not an index of its ${out.length} elements`);
      }
      if (value === null) throw new ScenarioPatchError(`${where}.${key}: an array element cannot be deleted`);
      out[index] = mergePatch(out[index], value, `${where}.${key}`);
    }
    return out;
  }
  const out: Record<string, Json> = isObject(base) ? { ...base } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value, where ? `${where}.${key}` : key);
  }
  return out;
}

/**
 * The scenario `file` describes, with its `extends` resolved through `load` (which reads a built-in scenario's
 * JSON). Files without `extends` come back as they are.
 */
export function resolveExtends(file: unknown, load: (name: string) => unknown, depth = 0): unknown {
  if (!isObject(file) || file.extends === undefined) return file;
  const { extends: name, clusters, ...rest } = file;
  if (typeof name !== 'string') throw new ScenarioPatchError('extends: expected the name of a built-in scenario');
  if (depth >= 4) throw new ScenarioPatchError('extends: more than 4 levels deep');
  const base = resolveExtends(load(name), load, depth + 1);
  if (!isObject(base)) throw new ScenarioPatchError(`extends: ${name} is not a scenario object`);
  let merged = mergePatch(base as Json, rest, '') as Record<string, Json>;
  if (clusters !== undefined) {
    if (!isObject(clusters)) throw new ScenarioPatchError('clusters: expected an object of cluster name → changes');
    for (const [clusterName, patch] of Object.entries(clusters)) merged = patchCluster(merged, clusterName, patch);
  }
  return merged;
}

function patchCluster(scenario: Record<string, Json>, name: string, patch: Json): Record<string, Json> {
  let found = false;
  const accounts = (Array.isArray(scenario.accounts) ? scenario.accounts : []).map((account) => {
    if (!isObject(account) || !Array.isArray(account.regions)) return account;
    const regions = account.regions.map((region) => {
      if (!isObject(region) || !Array.isArray(region.clusters)) return region;
      const clusters = region.clusters.map((cluster) => {
        if (!isObject(cluster) || cluster.name !== name) return cluster;
        found = true;
        return mergePatch(cluster, patch, `clusters.${name}`);
      });
      return { ...region, clusters };
    });
    return { ...account, regions };
  });
  if (!found) throw new ScenarioPatchError(`clusters.${name}: no cluster of that name in the scenario it extends`);
  return { ...scenario, accounts };
}
