/**
 * The batch contract between data (lib/data/batches.ts) and training. Declared here as well so the
 * training loop and the metrics type-check on their own; TypeScript's structural typing makes the
 * data module's BatchSource satisfy this one as long as the two stay identical.
 */
export interface Batch {
  /** NHWC RGB, 0..255, float32, already augmented (training set only). */
  x: Float32Array;
  labels: Int32Array;
  ids: string[];
  n: number;
  height: number;
  width: number;
}

export interface BatchSource {
  readonly size: number;
  readonly numClasses: number;
  readonly classNames: string[];
  readonly imageSize: number;
  /** Deterministic for (seed, epoch): the same epoch always yields the same batches. */
  batches(epoch: number, batchSize: number): AsyncIterable<Batch>;
  labels(): Int32Array;
}
