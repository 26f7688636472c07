import { ArtstyleError, check } from '../util/errors';

/**
 * Runs `fn` over `items` with at most `concurrency` calls in flight and returns the results in
 * input order. Bounded so that decoding thousands of images never holds thousands of decoded
 * buffers (or open files) at once. The first error stops new work and is rethrown.
 *
 * When `signal` aborts, no new item starts; the calls in flight finish (so whatever they write
 * is complete), then an ArtstyleError 'interrupted' is thrown with `resumeHint` in its message.
 */
export async function mapPool<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
  abort: { signal?: AbortSignal | null | undefined; what?: string; resumeHint?: string } = {},
): Promise<R[]> {
  check(
    Number.isInteger(concurrency) && concurrency >= 1,
    'concurrency',
    `expected an integer >= 1, got ${concurrency}`,
  );
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  let finished = 0;
  const signal = abort.signal ?? null;
  const worker = async (): Promise<void> => {
    while (!failed && !signal?.aborted && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T, i);
        finished++;
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, () => worker());
  await Promise.all(workers);
  if (finished < items.length && signal?.aborted)
    throw new ArtstyleError(
      'interrupted',
      `${abort.what ?? 'work'} stopped after ${finished} of ${items.length}; ` +
        (abort.resumeHint ?? 'run the same command again to resume'),
      abort.what,
    );
  return results;
}
