/**
 * Seeded randomness for the simulator, so a scenario plays out the same way on every run: the same node ids,
 * variations, command timings and probabilistic faults.
 */

/** FNV-1a, 32 bits: a stable number for a string. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** mulberry32: a small, fast generator of numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A generator for one purpose, keyed by the parts that name it (seed, node, field …). */
export function randomFor(...parts: ReadonlyArray<string | number>): () => number {
  return mulberry32(hashString(parts.join('|')));
}

/**
 * Whether the `n`th call matching a fault gets it: one of the first `first`, or drawn from `random` with
 * `probability` (the generator is only drawn from when there is a probability, so adding a `first` fault does not
 * move every later draw).
 */
export function faultFires(
  n: number,
  first: number | undefined,
  probability: number | undefined,
  random: () => number,
): boolean {
  if (first !== undefined && n <= first) return true;
  return probability !== undefined && probability > 0 && random() < probability;
}
