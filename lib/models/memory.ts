import * as tf from '@tensorflow/tfjs';

/**
 * Inference in batches that fit the wasm backend's heap. tfjs-backend-wasm 4.22 has a 4 GiB heap
 * (emscripten's getHeapMax() is 4294901760) whatever the machine's memory; inference keeps no tape,
 * so its peak is a few layer outputs at a time, not all of them as in a training step.
 *
 * Measured on wasm (heap growth per image, over the largest layer output of one image in bytes):
 * ResNet50 at 224 px, batch 1 -> 16: 304 -> 632 MiB, 21.9 MiB per image for a 3.2 MiB largest
 * output (6.9x); full Xception at 299 px with the study's head, batch 1 -> 8: 298 -> 741 MiB,
 * 63 MiB per image for a 10.6 MiB largest output (6.0x). Costed here at 8x plus the weights, which keeps the study's batches (Xception at
 * 299 px: 32; ResNet50 at 224: 16) whole; a larger image or batch is split into smaller batches.
 */
export const WASM_HEAP_BYTES = 4294901760;
const PER_LARGEST_OUTPUT_BYTE = 8;
const SAFETY_BYTES = 256 * 2 ** 20;

function largestOutputFloats(model: tf.LayersModel): number {
  let largest = 0;
  const visit = (layer: tf.layers.Layer): void => {
    const nested = (layer as unknown as { layers?: tf.layers.Layer[] }).layers;
    if (Array.isArray(nested)) return nested.forEach(visit);
    const shape = layer.outputShape as (number | null)[] | (number | null)[][];
    const shapes = Array.isArray(shape[0])
      ? (shape as (number | null)[][])
      : [shape as (number | null)[]];
    for (const s of shapes)
      largest = Math.max(
        largest,
        s.slice(1).reduce<number>((p, v) => p * (v ?? 1), 1),
      );
  };
  model.layers.forEach(visit);
  return largest;
}

/** The batch size to predict with: `batchSize`, or less where that would not fit the wasm heap. */
export function inferenceBatchSize(
  model: tf.LayersModel,
  batchSize: number,
  backend: string = tf.getBackend(),
): number {
  if (backend !== 'wasm') return batchSize;
  const weights = model.weights.reduce((s, w) => s + w.read().size * 4, 0);
  const perImage = largestOutputFloats(model) * 4 * PER_LARGEST_OUTPUT_BYTE;
  const fits = Math.floor((WASM_HEAP_BYTES - SAFETY_BYTES - weights) / perImage);
  return Math.max(1, Math.min(batchSize, fits));
}
