import { check } from './errors';

/**
 * `ARTSTYLE_THREADS` (or the option `name`: an integer >= 1) as the requested thread count; unset
 * or empty = automatic.
 * The thread count never changes a result (lib/train/parallel.ts deals the micro-batches to the
 * threads and sums them in order; feature extraction, lib/features/extract.ts, stores the same
 * rows), so it is a machine setting, not part of a run's identity.
 */
export function parseThreads(value: string | undefined, name = 'ARTSTYLE_THREADS'): number | null {
  if (value === undefined || value.trim() === '') return null;
  const n = Number(value);
  check(
    Number.isInteger(n) && n >= 1,
    name,
    `expected an integer >= 1, got ${JSON.stringify(value)}`,
  );
  return n;
}
