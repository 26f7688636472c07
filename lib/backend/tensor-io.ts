import * as tf from '@tensorflow/tfjs';

/**
 * Copies a float32 tensor's values into `dest` at `offset` without the intermediate array that
 * `dataSync()` allocates: on the wasm backend straight from the heap, on the cpu backend from its
 * own array, elsewhere through `dataSync()`. The parallel training step moves a model's weights and
 * gradients (megabytes per step) this way, so that the copies do not feed the garbage collector.
 */
export function readInto(t: tf.Tensor, dest: Float32Array, offset = 0): void {
  const backend = tf.engine().backend as unknown as {
    typedArrayFromHeap?(info: tf.TensorInfo): unknown;
    data?: { get(dataId: object): { values?: unknown } | undefined };
  };
  const name = tf.getBackend();
  if (t.dtype === 'float32' && name === 'wasm' && backend.typedArrayFromHeap) {
    dest.set(backend.typedArrayFromHeap(t) as Float32Array, offset);
    return;
  }
  const values = name === 'cpu' ? backend.data?.get(t.dataId)?.values : undefined;
  if (t.dtype === 'float32' && values instanceof Float32Array && values.length === t.size) {
    dest.set(values, offset);
    return;
  }
  dest.set(t.dataSync() as Float32Array, offset);
}

/**
 * A tensor of `values` (a view into a buffer that will be written again): on the wasm backend the
 * values are copied onto its heap at creation, so the view itself is enough; every other backend
 * may keep the array it is given, so it gets a copy.
 */
export function tensorFromView(values: Float32Array, shape: number[]): tf.Tensor {
  return tf.tensor(tf.getBackend() === 'wasm' ? values : values.slice(), shape, 'float32');
}
