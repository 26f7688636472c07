/**
 * The batch contract between data and training, defined by lib/data/batches.ts. Re-exported as
 * types only, so the training loop does not load the data module's image stack at run time.
 */
export type { Batch, BatchSource } from '../data/batches';
