import { check } from '../util/errors';

/**
 * Runs `fn` over `items` with at most `concurrency` calls in flight and returns the results in
 * input order. Bounded so that decoding thousands of images never holds thousands of decoded
 * buffers (or open files) at once. The first error stops new work and is rethrown.
 */
export async function mapPool<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  check(
    Number.isInteger(concurrency) && concurrency >= 1,
    'concurrency',
    `expected an integer >= 1, got ${concurrency}`,
  );
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T, i);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, () => worker());
  await Promise.all(workers);
  return results;
}
