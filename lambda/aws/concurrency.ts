/**
 * Maps over items with at most `limit` calls in flight, keeping the results in input order. The one concurrency
 * limiter of the project: the state machine's Map MaxConcurrency mirrored locally (workflow/runner.ts), and the SSM
 * batches of one cluster (commands.ts). In aws/, since both use it and the dependencies run handlers → workflow →
 * aws, never back.
 */
export async function mapWithConcurrency<T, R>(
  items: ReadonlyArray<T>,
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`concurrency limit must be a whole number ≥ 1, got ${limit}`);
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
